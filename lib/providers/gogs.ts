import { MalformedPayload } from '../errors';
import type { Provider } from './provider';

// Work in progress (issue 3): replaced by the real gogs module before the issue closes.
export const gogs: Provider = {
  name: 'gogs',
  defaultEvents: [],
  inspect() {
    throw new MalformedPayload('provider gogs is not implemented yet');
  },
  isPing: () => false,
  isPush: () => false,
  parsePush() {
    throw new MalformedPayload('provider gogs is not implemented yet');
  },
};
