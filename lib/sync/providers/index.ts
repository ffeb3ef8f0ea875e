import type { RegistrationConfig } from '../../config/schema';
import { apiUrlOf } from '../desired';
import type { HookApi, HookApiOptions, SyncProviderName } from '../hook-api';
import { bitbucketCloudHooks } from './bitbucket-cloud';
import { bitbucketServerHooks } from './bitbucket-server';
import { giteaHooks } from './gitea';
import { githubHooks } from './github';
import { gitlabHooks } from './gitlab';

/** One hook API client per provider, found by the registration's `provider` (as the relay finds its providers). */
export const hookApis: Record<SyncProviderName, (options: HookApiOptions) => HookApi> = {
  github: githubHooks,
  gitlab: gitlabHooks,
  gitea: (options) => giteaHooks({ ...options, provider: 'gitea' }),
  forgejo: (options) => giteaHooks({ ...options, provider: 'forgejo' }),
  'bitbucket-cloud': bitbucketCloudHooks,
  'bitbucket-server': bitbucketServerHooks,
};

export function createHookApi(
  registration: RegistrationConfig,
  token: string,
  deadline: number,
  extra: Partial<HookApiOptions> = {},
): HookApi {
  return hookApis[registration.provider]({ apiUrl: apiUrlOf(registration), token, deadline, ...extra });
}
