import { MalformedPayload } from '../errors';
import type { Provider } from './provider';

// Work in progress (issue 3): replaced by the real forgejo module before the issue closes.
export const forgejo: Provider = {
  name: 'forgejo',
  defaultEvents: [],
  inspect() {
    throw new MalformedPayload('provider forgejo is not implemented yet');
  },
  isPing: () => false,
  isPush: () => false,
  parsePush() {
    throw new MalformedPayload('provider forgejo is not implemented yet');
  },
};
