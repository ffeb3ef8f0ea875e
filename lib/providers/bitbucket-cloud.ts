import { MalformedPayload } from '../errors';
import type { Provider } from './provider';

// Work in progress (issue 3): replaced by the real bitbucket-cloud module before the issue closes.
export const bitbucketCloud: Provider = {
  name: 'bitbucket-cloud',
  defaultEvents: [],
  inspect() {
    throw new MalformedPayload('provider bitbucket-cloud is not implemented yet');
  },
  isPing: () => false,
  isPush: () => false,
  parsePush() {
    throw new MalformedPayload('provider bitbucket-cloud is not implemented yet');
  },
};
