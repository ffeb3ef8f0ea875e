import { MalformedPayload } from '../errors';
import type { Provider } from './provider';

// Work in progress (issue 3): replaced by the real bitbucket-server module before the issue closes.
export const bitbucketServer: Provider = {
  name: 'bitbucket-server',
  defaultEvents: [],
  inspect() {
    throw new MalformedPayload('provider bitbucket-server is not implemented yet');
  },
  isPing: () => false,
  isPush: () => false,
  parsePush() {
    throw new MalformedPayload('provider bitbucket-server is not implemented yet');
  },
};
