import { MalformedPayload } from '../errors';
import type { Provider } from './provider';

// Work in progress (issue 3): replaced by the real gitea module before the issue closes.
export const gitea: Provider = {
  name: 'gitea',
  defaultEvents: [],
  inspect() {
    throw new MalformedPayload('provider gitea is not implemented yet');
  },
  isPing: () => false,
  isPush: () => false,
  parsePush() {
    throw new MalformedPayload('provider gitea is not implemented yet');
  },
};
