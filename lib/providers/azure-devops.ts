import { MalformedPayload } from '../errors';
import type { Provider } from './provider';

// Work in progress (issue 3): replaced by the real azure-devops module before the issue closes.
export const azureDevops: Provider = {
  name: 'azure-devops',
  defaultEvents: [],
  inspect() {
    throw new MalformedPayload('provider azure-devops is not implemented yet');
  },
  isPing: () => false,
  isPush: () => false,
  parsePush() {
    throw new MalformedPayload('provider azure-devops is not implemented yet');
  },
};
