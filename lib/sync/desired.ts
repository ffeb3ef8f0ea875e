import type { ClusterConfig, RegistrationConfig } from '../config/schema';
import type { ClusterClient } from '../kube/cluster-client';
import { repoKey } from '../matching/repo-url';
import type { HookApi, HookTarget } from './hook-api';

/** The API roots of the hosted services; self-hosted registrations must name theirs. */
const hostedApis: Partial<Record<RegistrationConfig['provider'], string>> = {
  github: 'https://api.github.com',
  gitlab: 'https://gitlab.com/api/v4',
  'bitbucket-cloud': 'https://api.bitbucket.org/2.0',
};

export function apiUrlOf(registration: RegistrationConfig): string {
  const url = registration.apiUrl ?? hostedApis[registration.provider];
  if (!url) throw new Error(`registration for ${registration.provider} has no apiUrl`);
  return url;
}

/**
 * The Git host whose repositories the registration covers, as `repoKey` spells hosts (lower-case, no port). The API
 * host of the hosted services is not their Git host (api.github.com serves github.com).
 */
export function gitHostOf(registration: RegistrationConfig): string {
  if (registration.host) return registration.host.toLowerCase().replace(/:\d+$/, '');
  const host = new URL(apiUrlOf(registration)).hostname.toLowerCase();
  return host === 'api.github.com' ? 'github.com' : host === 'api.bitbucket.org' ? 'bitbucket.org' : host;
}

/** A hook target and why it is wanted (`config`, or the GitRepositories that clone it). */
export interface WantedTarget {
  target: HookTarget;
  sources: string[];
}

export interface DiscoveryResult {
  targets: WantedTarget[];
  /** Clusters that could not be listed: their repositories may be missing from this run (never deleted for it). */
  failures: Array<{ cluster: string; error: string }>;
}

/**
 * Every target the registration wants a hook on: its organisations if it has any (one hook covers their
 * repositories), otherwise its listed repositories plus, with `discover`, every repository a GitRepository on the
 * receiver's clusters clones from the registration's host. Repositories compare case-insensitively, as providers do.
 */
export async function wantedTargets(
  registration: RegistrationConfig,
  api: Pick<HookApi, 'repositoryPath'>,
  clusters: ReadonlyArray<{ name: string; client: () => Promise<ClusterClient>; config: ClusterConfig }>,
  signal: AbortSignal,
): Promise<DiscoveryResult> {
  if (registration.organizations) {
    return {
      targets: registration.organizations.map((path) => ({
        target: { kind: 'organization', path },
        sources: ['config'],
      })),
      failures: [],
    };
  }
  const byKey = new Map<string, WantedTarget>();
  const add = (path: string, source: string) => {
    const key = path.toLowerCase();
    const entry = byKey.get(key) ?? { target: { kind: 'repository' as const, path }, sources: [] };
    entry.sources.push(source);
    byKey.set(key, entry);
  };
  for (const path of registration.repositories ?? []) add(path, 'config');

  const failures: DiscoveryResult['failures'] = [];
  if (registration.discover) {
    const host = gitHostOf(registration);
    await Promise.all(
      clusters.map(async ({ name, client }) => {
        try {
          for (const repo of await (await client()).listGitRepositories(signal)) {
            const key = repoKey(repo.url);
            if (!key || key.slice(0, key.indexOf('/')) !== host) continue;
            const path = api.repositoryPath(key.slice(key.indexOf('/') + 1));
            if (path) add(path, `${name}/${repo.namespace}/GitRepository/${repo.name}`);
          }
        } catch (error) {
          failures.push({ cluster: name, error: (error as Error).message });
        }
      }),
    );
  }
  const targets = [...byKey.values()].sort((a, b) => a.target.path.localeCompare(b.target.path));
  return { targets, failures };
}
