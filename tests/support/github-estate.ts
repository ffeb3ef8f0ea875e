/**
 * A GitHub estate for sync runs at scale (tests/sync/rate-budget.test.ts, scripts/bench-sync.ts): the loopback GitHub
 * API on a fake clock that the clients share (pacing is waited for by moving it), one token over `repositories`, the
 * webhook secret and the token in the loopback Secrets Manager, a cluster with nothing on it (discovery off: the
 * repositories are listed), and the relay configuration with one `gh` registration. With `synced`, every repository
 * already has the relay's hook (made before any record: the sync adopts it by URL).
 */
import { parseConfig } from '../../lib/config/load';
import type { RelayConfig } from '../../lib/config/schema';
import { GitHubApiServer } from './github-api-server';
import { KubeApiTestServer } from './kube-api-server';
import { relayRules, relayUser, useSecretsManager } from './relay-harness';
import { SecretsManagerTestServer } from './secrets-manager-server';
import type { FakeSyncClock } from './sync-run';

export const estatePublicUrl = 'https://relay.example';

export interface GitHubEstate {
  github: GitHubApiServer;
  config: RelayConfig;
  token: string;
  clock: FakeSyncClock & { set(ms: number): void };
  close(): Promise<void>;
}

export async function startGitHubEstate(options: {
  repositories: readonly string[];
  startAt: number;
  synced?: boolean;
}): Promise<GitHubEstate> {
  let now = options.startAt;
  const clock = {
    now: () => now,
    sleep: async (ms: number) => {
      now += ms;
    },
    set: (ms: number) => {
      now = ms;
    },
  };
  const [cluster, sm, github] = await Promise.all([
    KubeApiTestServer.start(),
    SecretsManagerTestServer.start(),
    GitHubApiServer.start({ now: clock.now }),
  ]);
  const token = 'ghp_estate_token_0123456789abcdef';
  const secret = 'github-hook-secret-of-the-estate';
  cluster.addServiceAccount('sa', relayUser, relayRules);
  github.addToken(token, { repos: [...options.repositories] });
  sm.put('relay/kc', cluster.kubeconfig('sa'));
  const { versionId } = sm.put('relay/hook', secret);
  sm.put('relay/token', token);
  useSecretsManager(sm);
  if (options.synced) {
    const url = `${estatePublicUrl}/hooks/github?relay-secret-version=${versionId}`;
    for (const path of options.repositories)
      github.addHook({ kind: 'repository', path }, { url, events: ['push'], contentType: 'json', secret });
  }
  const config = parseConfig(
    `
clusters:
  c: { kubeconfig: relay/kc }
receivers:
  github: { provider: github, secret: relay/hook }
sync:
  publicUrl: ${estatePublicUrl}
  allowHttpLoopback: true
  registrations:
    gh: { provider: github, apiUrl: '${github.url}', host: github.com, token: relay/token, receiver: github, discover: false, repositories: [${options.repositories.join(', ')}] }
`,
    'github-estate.yaml',
  );
  return {
    github,
    config,
    token,
    clock,
    close: async () => {
      await Promise.all([cluster.close(), sm.close(), github.close()]);
    },
  };
}
