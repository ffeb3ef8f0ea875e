import { MalformedPayload } from '../errors';
import type { Provider } from './provider';

// Work in progress (issue 3): replaced by the real generic module before the issue closes.
export const generic: Provider = {
  name: 'generic',
  defaultEvents: [],
  inspect() {
    throw new MalformedPayload('provider generic is not implemented yet');
  },
  isPing: () => false,
  isPush: () => false,
  parsePush() {
    throw new MalformedPayload('provider generic is not implemented yet');
  },
};
