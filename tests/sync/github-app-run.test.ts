/**
 * A sync run end to end with a GitHub App registration: the private key read from Secrets Manager, repositories
 * discovered on a cluster and listed, installations found per account, hooks created with installation tokens.
 */
import { generateKeyPairSync } from 'node:crypto';
import { KubeApiTestServer } from '../support/kube-api-server';
import { GitHubApiServer } from '../support/github-api-server';
import { SecretsManagerTestServer } from '../support/secrets-manager-server';
import { registerPemBody, registerTestSecret } from '../support/log-scan';
import { gitRepository, relayRules, relayUser, useSecretsManager } from '../support/relay-harness';
import { parseConfig } from '../../lib/config/load';
import type { RelayConfig } from '../../lib/config/schema';
import { forgetGitHubApps } from '../../lib/sync/providers/github-app';
import type { SyncReport } from '../../lib/sync/run';
import { runSyncOnce } from '../support/sync-run';

const APP_ID = 31337;
const { privateKey: keyObject, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
const privateKey = keyObject.export({ type: 'pkcs1', format: 'pem' }) as string;
registerTestSecret(privateKey, 'github-app-run private key');
registerPemBody(privateKey, 'github-app-run private key');

let cluster: KubeApiTestServer;
let sm: SecretsManagerTestServer;
let github: GitHubApiServer;
let config: RelayConfig;
let clock = Date.parse('2026-11-24T12:00:00Z');
const now = () => clock;
const sleep = async (ms: number) => {
  clock += ms;
};
const relayUrl = 'https://relay.example';

beforeAll(async () => {
  forgetGitHubApps();
  [cluster, sm, github] = await Promise.all([
    KubeApiTestServer.start(),
    SecretsManagerTestServer.start(),
    GitHubApiServer.start({ now }),
  ]);
  cluster.addServiceAccount('sa', relayUser, relayRules);
  cluster.put(gitRepository('flux-system', 'app', 'https://github.com/acme/app', { branch: 'main' }));
  cluster.put(gitRepository('flux-system', 'other', 'https://github.com/initech/other', { branch: 'main' }));
  for (const repo of ['acme/app', 'globex/tools', 'initech/other']) github.addRepository(repo);
  github.apps.addApp({ appId: APP_ID, publicKey });
  github.apps.addInstallation(APP_ID, { account: 'acme' });
  github.apps.addInstallation(APP_ID, { account: 'globex', repositories: ['globex/tools'] });
  // initech has not installed the app.

  sm.put('relay/kc', cluster.kubeconfig('sa'));
  sm.put('relay/github-hook', 'github-hook-secret-for-the-app');
  // As people store it: a key/value secret, the PEM one JSON string.
  sm.put('relay/github-app', JSON.stringify({ pem: privateKey }));
  useSecretsManager(sm);

  config = parseConfig(
    `
clusters:
  c1: { kubeconfig: relay/kc }
receivers:
  github: { provider: github, secret: relay/github-hook }
sync:
  publicUrl: ${relayUrl}
  allowHttpLoopback: true
  registrations:
    gh:
      provider: github
      apiUrl: '${github.url}'
      host: github.com
      app: { appId: ${APP_ID}, privateKey: 'relay/github-app#pem' }
      receiver: github
      repositories: [globex/tools]
`,
    'sync-app-test.yaml',
  );
});

afterAll(async () => {
  await Promise.all([cluster.close(), sm.close(), github.close()]);
});

async function run(lines: string[] = []): Promise<SyncReport> {
  return runSyncOnce(
    config,
    { now, sleep },
    { log: (level, message, fields) => lines.push(JSON.stringify({ level, message, ...fields })) },
  );
}

test('an App registration creates the hooks with installation tokens, and fails only the account without the app', async () => {
  const lines: string[] = [];
  const report = await run(lines);
  const [gh] = report.registrations;
  expect(gh).toMatchObject({ targets: 3, actions: { create: 2 } });
  expect(gh!.failures).toEqual([
    {
      target: 'initech/other',
      error: expect.stringMatching(/the GitHub App 31337 is not installed on initech\/other/),
    },
  ]);
  for (const repo of ['acme/app', 'globex/tools']) {
    const hooks = github.hooks({ kind: 'repository', path: repo });
    expect(hooks).toHaveLength(1);
    expect(hooks[0]!.config.url).toMatch(/^https:\/\/relay\.example\/hooks\/github\?relay-secret-version=/);
    expect(github.hookSecret({ kind: 'repository', path: repo }, hooks[0]!.id)).toBe('github-hook-secret-for-the-app');
  }
  // The hook writes went out as the app's installations, one token each.
  const writes = github.requests.filter((r) => r.method === 'POST' && r.path.endsWith('/hooks'));
  expect(writes.map((r) => [r.path, r.login, r.status])).toEqual([
    ['/repos/acme/app/hooks', 'relay-app-31337[bot]', 201],
    ['/repos/globex/tools/hooks', 'relay-app-31337[bot]', 201],
  ]);
  expect(github.apps.issued).toHaveLength(2);
  expect(github.apps.jwts.filter((j) => j.refused !== undefined)).toEqual([]);
  expect(github.violations).toEqual([]);

  // Nothing secret in the report or the log lines: the key, the JWTs, the installation tokens.
  const text = `${JSON.stringify(report)}\n${lines.join('\n')}`;
  expect(lines.length).toBeGreaterThan(0);
  for (const line of privateKey.split('\n').filter((l) => l && !l.startsWith('-----')))
    expect(text).not.toContain(line);
  for (const { token } of github.apps.issued) expect(text).not.toContain(token);
  expect(text).not.toMatch(/eyJ[A-Za-z0-9_-]+\.eyJ/);
});

test('a second run in the same container reuses the tokens and writes nothing', async () => {
  github.clearRequests();
  clock += 15 * 60_000;
  const report = await run();
  expect(report.registrations[0]).toMatchObject({ writes: 0, actions: { unchanged: 2, create: 0 } });
  expect(github.requests.filter((r) => r.path.startsWith('/app/') || r.path.endsWith('/installation'))).toEqual([
    // initech is asked again only once its "not installed" has aged (10 minutes): the app may have been installed.
    expect.objectContaining({ path: '/repos/initech/other/installation', status: 404 }),
  ]);
  expect(github.apps.issued).toHaveLength(2);
});
