import { KubeApiTestServer } from '../support/kube-api-server';
import { GitHubApiServer } from '../support/github-api-server';
import { GitlabApiTestServer } from '../support/gitlab-api-server';
import { GogsApiTestServer } from '../support/gogs-api-server';
import { BitbucketCloudTestServer } from '../support/bitbucket-cloud-api-server';
import { SecretsManagerTestServer } from '../support/secrets-manager-server';
import { gitRepository, relayRules, relayUser, useSecretsManager } from '../support/relay-harness';
import { parseConfig } from '../../lib/config/load';
import type { RelayConfig } from '../../lib/config/schema';
import { createRelayDeps } from '../../lib/runtime/relay-deps';
import type { SyncReport } from '../../lib/sync/run';
import { runSyncOnce } from '../support/sync-run';
import { createSyncDeps } from '../../lib/sync/runtime';

let c1: KubeApiTestServer;
let c2: KubeApiTestServer;
let sm: SecretsManagerTestServer;
let github: GitHubApiServer;
let gitlab: GitlabApiTestServer;
let config: RelayConfig;

// One fake clock for the clients and the provider servers: GitHub's one-second spacing between writes and any
// Retry-After are waited for by moving it, not by sleeping.
let clock = Date.parse('2026-11-24T12:00:00Z');
const now = () => clock;
const sleep = async (ms: number) => {
  clock += ms;
};

const ghToken = 'ghp_sync_token_0123456789';
const glToken = 'glpat-sync-token-abcdef';
const relayUrl = 'https://relay.example';

beforeAll(async () => {
  [c1, c2, sm, github, gitlab] = await Promise.all([
    KubeApiTestServer.start(),
    KubeApiTestServer.start(),
    SecretsManagerTestServer.start(),
    GitHubApiServer.start({ now }),
    GitlabApiTestServer.start({ now }),
  ]);
  for (const c of [c1, c2]) c.addServiceAccount('sa', relayUser, relayRules);
  // The same repositories in different URL forms on two clusters: one hook each.
  c1.put(gitRepository('flux-system', 'app', 'https://github.com/acme/app', { branch: 'main' }));
  c1.put(gitRepository('flux-system', 'infra', 'ssh://git@github.com/acme/infra.git', { branch: 'main' }));
  c1.put(gitRepository('flux-system', 'tools', 'https://gitlab.example.com/platform/tools.git', { branch: 'main' }));
  c1.put(gitRepository('flux-system', 'elsewhere', 'https://bitbucket.org/acme/elsewhere', { branch: 'main' }));
  c2.put(gitRepository('apps', 'app', 'ssh://git@ssh.github.com:443/ACME/App.git', { branch: 'main' }));
  c2.put(gitRepository('apps', 'infra', 'https://github.com/acme/infra/', { tag: 'v1' }));
  c2.put(gitRepository('apps', 'tools', 'ssh://git@gitlab.example.com:2222/platform/tools.git', { branch: 'main' }));

  github.addToken(ghToken, { repos: ['acme/app', 'acme/infra', 'acme/listed'] });
  github.addHook(
    { kind: 'repository', path: 'acme/app' },
    { url: 'https://ci.example/hook/s3cr3t-path', events: ['push', 'pull_request'], contentType: 'json', secret: 'ci' },
  );
  gitlab.addProject('platform/tools');
  gitlab.addUser(glToken, 'relay-bot', { 'platform/tools': 'maintainer' });

  sm.put('relay/kc1', c1.kubeconfig('sa'));
  sm.put('relay/kc2', c2.kubeconfig('sa'));
  sm.put('relay/github-hook', 'github-hook-secret-1');
  sm.put('relay/gitlab-hook', 'gitlab-hook-secret-1');
  sm.put('relay/tokens', JSON.stringify({ github: ghToken, gitlab: glToken }));
  useSecretsManager(sm);

  config = parseConfig(
    `
clusters:
  c1: { kubeconfig: relay/kc1 }
  c2: { kubeconfig: relay/kc2 }
receivers:
  github: { provider: github, secret: relay/github-hook }
  gitlab: { provider: gitlab, secret: relay/gitlab-hook }
sync:
  publicUrl: ${relayUrl}
  allowHttpLoopback: true
  registrations:
    gh: { provider: github, apiUrl: '${github.url}', host: github.com, token: 'relay/tokens#github', receiver: github, repositories: [acme/listed] }
    gl: { provider: gitlab, apiUrl: '${gitlab.apiUrl}', host: gitlab.example.com, token: 'relay/tokens#gitlab', receiver: gitlab }
`,
    'sync-test.yaml',
  );
});

afterAll(async () => {
  await Promise.all([c1.close(), c2.close(), sm.close(), github.close(), gitlab.close()]);
});

/** One run as the scheduled Lambda does it, cold (fresh secret cache and clients). */
async function run(dryRun = false): Promise<SyncReport> {
  return runSyncOnce(config, { now, sleep }, { dryRun });
}

const byName = (report: SyncReport, name: string) => report.registrations.find((r) => r.registration === name)!;
const relayHooks = (path: string) =>
  github.hooks({ kind: 'repository', path }).filter((h) => h.config.url.startsWith(`${relayUrl}/hooks/`));
const versionOf = (url: string) => new URL(url).searchParams.get('relay-secret-version');

test('the first run creates exactly one hook per repository, from discovery and config, and leaves the foreign hook alone', async () => {
  const report = await run();
  for (const r of report.registrations) expect(r.failures).toEqual([]);
  expect(byName(report, 'gh')).toMatchObject({ targets: 3, actions: { create: 3, foreign: 1, update: 0, delete: 0 } });
  expect(byName(report, 'gl')).toMatchObject({ targets: 1, actions: { create: 1 } });
  for (const repo of ['acme/app', 'acme/infra', 'acme/listed']) {
    const hooks = relayHooks(repo);
    expect(hooks).toHaveLength(1);
    expect(hooks[0]).toMatchObject({
      active: true,
      events: ['push'],
      config: { content_type: 'json', insecure_ssl: '0' },
    });
    expect(hooks[0]!.config.url).toMatch(/^https:\/\/relay\.example\/hooks\/github\?relay-secret-version=.+$/);
    expect(github.hookSecret({ kind: 'repository', path: repo }, hooks[0]!.id)).toBe('github-hook-secret-1');
  }
  const [tools] = gitlab.hooksOf('project', 'platform/tools');
  expect(tools).toMatchObject({
    flags: { push_events: true, tag_push_events: true, merge_requests_events: false },
    enableSslVerification: true,
  });
  expect(tools!.url).toMatch(/^https:\/\/relay\.example\/hooks\/gitlab\?relay-secret-version=/);
  expect(tools!.token).toBe('gitlab-hook-secret-1');
  expect(github.violations).toEqual([]);
  expect(gitlab.violations).toEqual([]);
});

test('a second run over the synced estate writes nothing', async () => {
  const report = await run();
  for (const r of report.registrations) expect([r.registration, r.writes, r.failures]).toEqual([r.registration, 0, []]);
  expect(byName(report, 'gh').actions).toMatchObject({ unchanged: 3, foreign: 1, create: 0, update: 0, delete: 0 });
  // One list call per repository.
  expect(byName(report, 'gh').calls).toBe(3);
  expect(report.plan.filter((p) => p.change)).toEqual([]);
});

test('drift is repaired in one run, with the secret kept; the foreign hook is never touched', async () => {
  const foreignBefore = github
    .hooks({ kind: 'repository', path: 'acme/app' })
    .find((h) => !h.config.url.startsWith(relayUrl));
  const [infra] = relayHooks('acme/infra');
  // Someone edits the hook in the UI: form content type, an extra event, and the hook switched off.
  clock += 2000;
  const edit = await fetch(`${github.url}/repos/acme/infra/hooks/${infra!.id}`, {
    method: 'PATCH',
    headers: {
      authorization: `Bearer ${ghToken}`,
      'content-type': 'application/json',
      'user-agent': 'test',
      'x-github-api-version': '2022-11-28',
    },
    body: JSON.stringify({
      active: false,
      add_events: ['issues'],
      config: { url: infra!.config.url, content_type: 'form', secret: 'github-hook-secret-1' },
    }),
  });
  expect([edit.status, await edit.text()]).toEqual([200, expect.any(String)]);
  clock += 2000;
  const [tools] = gitlab.hooksOf('project', 'platform/tools');
  gitlab.setHookHealth(tools!.id, { alertStatus: 'disabled' });

  const report = await run();
  expect(byName(report, 'gh')).toMatchObject({
    actions: { update: 1, unchanged: 2, foreign: 1 },
    writes: 1,
    failures: [],
  });
  expect(byName(report, 'gl')).toMatchObject({ actions: { reenable: 1 }, failures: [] });
  expect(relayHooks('acme/infra')[0]).toMatchObject({
    active: true,
    events: ['push'],
    config: { content_type: 'json' },
  });
  expect(github.hookSecret({ kind: 'repository', path: 'acme/infra' }, infra!.id)).toBe('github-hook-secret-1');
  expect(gitlab.alertStatus(tools!.id)).toBe('executable');
  expect(github.hooks({ kind: 'repository', path: 'acme/app' }).find((h) => h.id === foreignBefore!.id)).toEqual(
    foreignBefore,
  );
  expect((await run()).registrations.map((r) => r.writes)).toEqual([0, 0]);
});

test('a dry run prints the plan and changes nothing', async () => {
  github.addHook(
    { kind: 'repository', path: 'acme/listed' },
    { url: `${relayUrl}/hooks/github?relay-secret-version=old`, events: ['push'], contentType: 'json', secret: 'x' },
  );
  const report = await run(true);
  expect(byName(report, 'gh').writes).toBe(0);
  const lines = report.plan.filter((p) => p.change).map((p) => p.line);
  expect(lines).toEqual([expect.stringMatching(/^delete {3}github acme\/listed: hook \d+ \(duplicate relay hook\)$/)]);
  expect(relayHooks('acme/listed')).toHaveLength(2);
  await run();
  expect(relayHooks('acme/listed')).toHaveLength(1);
});

test('a rotated webhook secret re-keys every owned hook in one run', async () => {
  const before = versionOf(relayHooks('acme/app')[0]!.config.url);
  sm.put('relay/github-hook', 'github-hook-secret-2');
  sm.put('relay/gitlab-hook', 'gitlab-hook-secret-2');
  const report = await run();
  expect(byName(report, 'gh').actions).toMatchObject({ update: 3, foreign: 1 });
  for (const repo of ['acme/app', 'acme/infra', 'acme/listed']) {
    const [hook] = relayHooks(repo);
    expect(github.hookSecret({ kind: 'repository', path: repo }, hook!.id)).toBe('github-hook-secret-2');
    expect(versionOf(hook!.config.url)).not.toBe(before);
  }
  expect(gitlab.hooksOf('project', 'platform/tools')[0]!.token).toBe('gitlab-hook-secret-2');
  expect((await run()).registrations.map((r) => r.writes)).toEqual([0, 0]);
});

test('no token or secret reaches the report or the log', async () => {
  const lines: string[] = [];
  const report = await runSyncOnce(
    config,
    { now, sleep },
    { log: (level, message, fields) => lines.push(JSON.stringify({ level, message, ...fields })) },
  );
  const text = `${JSON.stringify(report)}\n${lines.join('\n')}`;
  for (const secret of [ghToken, glToken, 'github-hook-secret-2', 'gitlab-hook-secret-2', 's3cr3t-path'])
    expect(text).not.toContain(secret);
});

test('a hook under the relay prefix whose URL does not parse is foreign: left alone, and the target still syncs', async () => {
  const odd = gitlab.addHook('project', 'platform/tools', {
    url: `${relayUrl}/hooks/%E0%A4%A`,
    token: 'someone-elses-token',
  });
  const before = gitlab.hooksOf('project', 'platform/tools').find((h) => h.id === odd);
  const report = await run();
  expect(byName(report, 'gl')).toMatchObject({
    failures: [],
    writes: 0,
    actions: { foreign: 1, unchanged: 1, delete: 0 },
  });
  expect(report.plan.map((p) => p.line)).toContain(
    `foreign  gitlab platform/tools: hook ${odd} → relay.example (not the relay's; left alone)`,
  );
  expect(gitlab.hooksOf('project', 'platform/tools').find((h) => h.id === odd)).toEqual(before);
});

test('an API that redirects elsewhere fails its target with the reason, and the token never reaches the other origin', async () => {
  const elsewhere = await GitlabApiTestServer.start({ now });
  try {
    elsewhere.addProject('platform/tools');
    elsewhere.addUser(glToken, 'relay-bot', { 'platform/tools': 'maintainer' });
    gitlab.fault({ status: 302, times: 1, location: `${elsewhere.apiUrl}/projects/platform%2Ftools/hooks` });
    const report = await run();
    expect(byName(report, 'gl').failures).toEqual([
      {
        target: 'platform/tools',
        error: expect.stringMatching(new RegExp(`HTTP 302 redirect to ${elsewhere.url.replace(/\./g, '\\.')} refused`)),
      },
    ]);
    expect(elsewhere.requests).toEqual([]);
  } finally {
    gitlab.fault(undefined);
    await elsewhere.close();
  }
});

test('RELAY_PUBLIC_URL over plain http to a remote host is refused before any provider call', () => {
  const relay = createRelayDeps({ config, log: () => undefined });
  expect(() =>
    createSyncDeps({
      config,
      relay,
      publicUrl: 'http://relay.example',
      deadline: clock + 1000,
      dryRun: false,
      now,
      log: () => undefined,
    }),
  ).toThrow("the relay's public URL http://relay.example must be an https: URL");
});

test('a webhook secret the relay would refuse (under 16 bytes) registers no hook and says why', async () => {
  const before = github.requests.length;
  sm.put('relay/github-hook', 'short-secret');
  try {
    const report = await run();
    const gh = byName(report, 'gh');
    expect(gh.failures).toEqual([
      { target: '*', error: expect.stringContaining('webhook secret relay/github-hook is shorter than 16 bytes') },
    ]);
    expect(gh.writes).toBe(0);
    expect(github.requests.slice(before)).toEqual([]);
  } finally {
    sm.put('relay/github-hook', 'github-hook-secret-3');
  }
});

test('a 429 without Retry-After defers the registration to the next run, and the report says so', async () => {
  gitlab.fault({ status: 429, retryAfter: null, times: 1 });
  try {
    const report = await run();
    const gl = byName(report, 'gl');
    expect(gl.deferred).toBe(1);
    expect(gl.failures).toEqual([
      {
        target: 'platform/tools',
        error: expect.stringMatching(
          /HTTP 429 without Retry-After.*not retried in this run; 1 target\(s\) left for the next run$/,
        ),
      },
    ]);
    expect(byName(report, 'gh').failures).toEqual([]);
  } finally {
    gitlab.fault(undefined);
  }
});

test("a webhook secret over Bitbucket Cloud's 128 characters fails the registration before any provider call, naming the limit", async () => {
  const bitbucket = await BitbucketCloudTestServer.start();
  try {
    bitbucket.addRepository('acme/app');
    bitbucket.addToken('bb-sync-token-0123456789', { repositories: ['acme/app'] });
    sm.put('relay/bitbucket-hook', 'b'.repeat(129));
    sm.put('relay/bitbucket-token', 'bb-sync-token-0123456789');
    const bbConfig = parseConfig(
      `
clusters:
  c1: { kubeconfig: relay/kc1 }
receivers:
  bitbucket: { provider: bitbucket-cloud, secret: relay/bitbucket-hook }
sync:
  publicUrl: ${relayUrl}
  allowHttpLoopback: true
  registrations:
    bb: { provider: bitbucket-cloud, apiUrl: '${bitbucket.apiUrl}', token: relay/bitbucket-token, receiver: bitbucket, repositories: [acme/app], discover: false }
`,
      'sync-bitbucket.yaml',
    );
    const report = await runSyncOnce(bbConfig, { now, sleep });
    expect(byName(report, 'bb').failures).toEqual([
      {
        target: '*',
        error: expect.stringContaining(
          'webhook secret relay/bitbucket-hook is 129 characters; bitbucket-cloud takes at most 128, so no hook is registered with it',
        ),
      },
    ]);
    expect(bitbucket.requests).toEqual([]);
  } finally {
    await bitbucket.close();
  }
});

test('a gogs registration creates its hook with the secret and the version marker, then leaves it; a rotation re-creates it', async () => {
  const gogs = await GogsApiTestServer.start();
  try {
    gogs.addUser('alice', 'gogs-sync-token-0123456789');
    gogs.addRepo('acme/app', ['alice']);
    sm.put('relay/gogs-hook', 'gogs-hook-secret-1');
    sm.put('relay/gogs-token', 'gogs-sync-token-0123456789');
    const gogsConfig = parseConfig(
      `
clusters:
  c1: { kubeconfig: relay/kc1 }
receivers:
  gogs: { provider: gogs, secret: relay/gogs-hook }
sync:
  publicUrl: ${relayUrl}
  allowHttpLoopback: true
  registrations:
    gg: { provider: gogs, apiUrl: '${gogs.apiUrl}', token: relay/gogs-token, receiver: gogs, repositories: [acme/app], discover: false }
`,
      'sync-gogs.yaml',
    );
    const first = byName(await runSyncOnce(gogsConfig, { now, sleep }), 'gg');
    expect(first).toMatchObject({ failures: [], actions: { create: 1 } });
    const [created] = gogs.hooks('acme/app');
    expect(created).toMatchObject({ secret: 'gogs-hook-secret-1', active: true, events: ['push'] });
    expect(created!.url).toMatch(/^https:\/\/relay\.example\/hooks\/gogs\?relay-secret-version=/);

    expect(byName(await runSyncOnce(gogsConfig, { now, sleep }), 'gg')).toMatchObject({ actions: { unchanged: 1 } });

    sm.put('relay/gogs-hook', 'gogs-hook-secret-2');
    expect(byName(await runSyncOnce(gogsConfig, { now, sleep }), 'gg')).toMatchObject({
      failures: [],
      actions: { update: 1 },
    });
    expect(gogs.hooks('acme/app')).toEqual([expect.objectContaining({ secret: 'gogs-hook-secret-2' })]);
    expect(gogs.hooks('acme/app')[0]!.id).not.toBe(created!.id);
  } finally {
    await gogs.close();
  }
});
