import type { RegistrationConfig } from '../../config/schema';
import { apiUrlOf } from '../desired';
import type { HookApi, HookApiOptions, SyncCredential, SyncProviderName } from '../hook-api';
import { azureDevOpsHooks } from './azure-devops';
import { bitbucketCloudHooks } from './bitbucket-cloud';
import { bitbucketServerHooks } from './bitbucket-server';
import { giteaHooks } from './gitea';
import { githubHooks } from './github';
import { gitHubAppAuth } from './github-app';
import { gitlabHooks } from './gitlab';
import { gogsHooks } from './gogs';

/** One hook API client per provider, found by the registration's `provider` (as the relay finds its providers). */
export const hookApis: Record<SyncProviderName, (options: HookApiOptions) => HookApi> = {
  github: githubHooks,
  gitlab: gitlabHooks,
  gitea: (options) => giteaHooks({ ...options, provider: 'gitea' }),
  forgejo: (options) => giteaHooks({ ...options, provider: 'forgejo' }),
  'bitbucket-cloud': bitbucketCloudHooks,
  'bitbucket-server': bitbucketServerHooks,
  gogs: gogsHooks,
  'azure-devops': azureDevOpsHooks,
};

export function createHookApi(
  registration: RegistrationConfig,
  credential: SyncCredential,
  deadline: number,
  extra: Partial<HookApiOptions> = {},
): HookApi {
  const apiUrl = apiUrlOf(registration);
  if ('token' in credential)
    return hookApis[registration.provider]({ apiUrl, token: credential.token, deadline, ...extra });
  // The configuration admits `app:` for github only (lib/config/schema.ts); this holds the line for other callers.
  if (registration.provider !== 'github') throw new Error(`GitHub App authentication applies only to provider github`);
  const { keySource, ...app } = credential.app;
  return githubHooks({
    apiUrl,
    token: '',
    deadline,
    ...extra,
    authorizer: gitHubAppAuth(apiUrl, app, keySource, extra.now),
  });
}
