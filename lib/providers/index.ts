import type { ProviderName } from './names';
import { acr } from './acr';
import { azureDevops } from './azure-devops';
import { bitbucketCloud } from './bitbucket-cloud';
import { bitbucketServer } from './bitbucket-server';
import { cdevents } from './cdevents';
import { dockerhub } from './dockerhub';
import { forgejo } from './forgejo';
import { generic } from './generic';
import { genericHmac } from './generic-hmac';
import { gcr } from './gcr';
import { gitea } from './gitea';
import { github } from './github';
import { gitlab } from './gitlab';
import { gogs } from './gogs';
import { harbor } from './harbor';
import { nexus } from './nexus';
import { quay } from './quay';
import type { Provider } from './provider';

/** One module per provider; the relay core finds them here by the receiver's `provider`. */
export const providers: Record<ProviderName, Provider> = {
  github,
  gitlab,
  'bitbucket-cloud': bitbucketCloud,
  'bitbucket-server': bitbucketServer,
  gitea,
  forgejo,
  gogs,
  'azure-devops': azureDevops,
  'generic-hmac': genericHmac,
  generic,
  harbor,
  dockerhub,
  quay,
  acr,
  cdevents,
  nexus,
  gcr,
};
