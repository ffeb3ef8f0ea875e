import { MalformedPayload } from '../errors';
import type { Provider } from './provider';

// Work in progress (issue 3): replaced by the real generic-hmac module before the issue closes.
export const genericHmac: Provider = {
  name: 'generic-hmac',
  defaultEvents: [],
  inspect() {
    throw new MalformedPayload('provider generic-hmac is not implemented yet');
  },
  isPing: () => false,
  isPush: () => false,
  parsePush() {
    throw new MalformedPayload('provider generic-hmac is not implemented yet');
  },
};
