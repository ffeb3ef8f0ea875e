import type { RegistrationConfig } from '../../config/schema';
import { apiUrlOf } from '../desired';
import type { HookApi, HookApiOptions } from '../hook-api';
import { bitbucketCloudHooks } from './bitbucket-cloud';
import { bitbucketServerHooks } from './bitbucket-server';
import { giteaHooks } from './gitea';
import { githubHooks } from './github';
import { gitlabHooks } from './gitlab';

/** One hook API client per provider; the sync core finds them here by the registration's `provider`. */
export function createHookApi(registration: RegistrationConfig, token: string, deadline: number, extra: Partial<HookApiOptions> = {}): HookApi {
  const options: HookApiOptions = { apiUrl: apiUrlOf(registration), token, deadline, ...extra };
  switch (registration.provider) {
    case 'github':
      return githubHooks(options);
    case 'gitlab':
      return gitlabHooks(options);
    case 'gitea':
    case 'forgejo':
      return giteaHooks({ ...options, provider: registration.provider });
    case 'bitbucket-cloud':
      return bitbucketCloudHooks(options);
    case 'bitbucket-server':
      return bitbucketServerHooks(options);
  }
}
