/**
 * Issue 17: moving the relay from the HTTP API's generated host to a custom domain. The deploy changes the sync's
 * RELAY_PUBLIC_URL to https://<domainName> and names the execute-api URL as a former one (serverless.yml,
 * RELAY_FORMER_PUBLIC_URLS); the next run must move every hook it registered to the new name, in place, with the secret
 * re-sent (GitHub drops a hook's secret on a PATCH without one), and touch nothing else.
 */
import { GitHubApiServer } from '../support/github-api-server';
import { SecretsManagerTestServer } from '../support/secrets-manager-server';
import { useSecretsManager } from '../support/relay-harness';
import { parseConfig } from '../../lib/config/load';
import type { RelayConfig } from '../../lib/config/schema';
import { createRelayDeps } from '../../lib/runtime/relay-deps';
import type { SyncReport } from '../../lib/sync/run';
import { runSyncOnce } from '../support/sync-run';
import { createSyncDeps } from '../../lib/sync/runtime';
import type { HookSpec, HookState, HookTarget } from '../../lib/sync/hook-api';
import { planTarget, type Ownership } from '../../lib/sync/plan';

let sm: SecretsManagerTestServer;
let github: GitHubApiServer;
let config: RelayConfig;

let clock = Date.parse('2026-12-03T09:00:00Z');
const now = () => clock;
const sleep = async (ms: number) => {
  clock += ms;
};

const token = 'ghp_switch_token_0123456789';
const hookSecret = 'switch-hook-secret-0123456789';
const apiEndpoint = 'https://a1b2c3d4e5.execute-api.eu-west-1.amazonaws.com';
const domainUrl = 'https://hooks.example.com';
const repos = ['acme/app', 'acme/infra'];
const target = (path: string) => ({ kind: 'repository' as const, path });

beforeAll(async () => {
  [sm, github] = await Promise.all([SecretsManagerTestServer.start(), GitHubApiServer.start({ now })]);
  github.addToken(token, { repos: [...repos, 'acme/other'] });
  sm.put('relay/github-hook', hookSecret);
  sm.put('relay/github-token', token);
  useSecretsManager(sm);
  config = parseConfig(
    `
clusters:
  c1: { kubeconfig: relay/kc1 }
receivers:
  github: { provider: github, secret: relay/github-hook }
sync:
  allowHttpLoopback: true
  registrations:
    gh: { provider: github, apiUrl: '${github.url}', host: github.com, token: relay/github-token, receiver: github, discover: false, repositories: [${repos.join(', ')}] }
`,
    'switch-test.yaml',
  );
});

afterAll(async () => {
  await Promise.all([sm.close(), github.close()]);
});

/** One scheduled run, cold, with the public URL (and former ones) the deploy puts in the sync's environment. */
async function run(publicUrl: string, formerPublicUrls: string[] = []): Promise<SyncReport> {
  return runSyncOnce(config, { now, sleep }, { publicUrl, formerPublicUrls });
}

test('hooks registered under the execute-api URL move to the custom domain in one run, secret re-sent, nothing else touched', async () => {
  // A hook of another tool on the same repository, and a hook on the old host for another path: not the relay's.
  const foreign = github.addHook(target('acme/app'), {
    url: 'https://ci.example/hook',
    events: ['push'],
    contentType: 'json',
    secret: 'ci-secret',
  });
  const lookalike = github.addHook(target('acme/app'), {
    url: `${apiEndpoint}/other/github`,
    events: ['push'],
    contentType: 'json',
    secret: 'other',
  });
  const first = await run(apiEndpoint);
  expect(first.registrations[0]).toMatchObject({ failures: [], actions: { create: 2, foreign: 2 } });
  const before = Object.fromEntries(
    repos.map((repo) => [
      repo,
      github.hooks(target(repo)).filter((h) => h.config.url.startsWith(`${apiEndpoint}/hooks/`)),
    ]),
  );
  for (const repo of repos) expect(before[repo]).toHaveLength(1);
  const untouched = github
    .hooks(target('acme/app'))
    .filter((h) => String(h.id) === foreign || String(h.id) === lookalike);

  clock += 60_000;
  const switched = await run(domainUrl, [apiEndpoint]);
  expect(switched.registrations[0]).toMatchObject({
    failures: [],
    writes: 2,
    actions: { update: 2, create: 0, delete: 0, foreign: 2 },
  });
  expect(switched.plan.filter((p) => p.change).map((p) => p.line)).toEqual(
    repos.map((repo) => expect.stringMatching(new RegExp(`^update +github ${repo}: hook \\d+ \\(url\\)$`))),
  );
  for (const repo of repos) {
    const relayHooks = github.hooks(target(repo)).filter((h) => h.config.url.includes('/hooks/github'));
    // The same hook, now on the custom domain, still signing with the receiver's secret.
    expect(relayHooks.map((h) => h.id)).toEqual(before[repo]!.map((h) => h.id));
    expect(relayHooks[0]!.config.url).toMatch(
      /^https:\/\/hooks\.example\.com\/hooks\/github\?relay-secret-version=.+$/,
    );
    expect(github.hookSecret(target(repo), relayHooks[0]!.id)).toBe(hookSecret);
    expect(relayHooks[0]).toMatchObject({
      active: true,
      events: ['push'],
      config: { content_type: 'json', insecure_ssl: '0' },
    });
  }
  expect(
    github.hooks(target('acme/app')).filter((h) => String(h.id) === foreign || String(h.id) === lookalike),
  ).toEqual(untouched);
  expect(github.violations).toEqual([]);

  // Settled: the next run writes nothing, with or without the former URL.
  clock += 60_000;
  expect((await run(domainUrl, [apiEndpoint])).registrations[0]).toMatchObject({
    writes: 0,
    actions: { unchanged: 2, foreign: 2 },
  });
  expect((await run(domainUrl)).registrations[0]).toMatchObject({ writes: 0, actions: { unchanged: 2, foreign: 2 } });
});

test("without the former URL the old hooks are not the relay's: the run creates new ones and leaves the old ones delivering", async () => {
  // What a switch does when the deploy does not name the execute-api URL: every push would then be delivered twice.
  const fresh = 'https://relay.example.org';
  clock += 60_000;
  const report = await run(fresh);
  expect(report.registrations[0]).toMatchObject({ failures: [], actions: { create: 2, update: 0, delete: 0 } });
});

test('a former public URL must be https, like the public URL', () => {
  const relay = createRelayDeps({ config, log: () => undefined });
  expect(() =>
    createSyncDeps({
      config,
      relay,
      publicUrl: domainUrl,
      formerPublicUrls: ['http://a1b2c3.execute-api.eu-west-1.amazonaws.com'],
      deadline: clock,
      dryRun: true,
      now,
      log: () => undefined,
    }),
  ).toThrow(/former public URL http:\/\/a1b2c3\.execute-api\.eu-west-1\.amazonaws\.com .*https/);
});

describe('planTarget with a former public URL', () => {
  const repo: HookTarget = { kind: 'repository', path: 'org/repo' };
  const ownership: Ownership = {
    hooksPrefix: 'https://hooks.example.com/hooks/',
    formerHooksPrefixes: [`${apiEndpoint}/hooks/`],
    receivers: new Set(['github', 'github-b']),
  };
  const wanted: HookSpec = {
    url: 'https://hooks.example.com/hooks/github?relay-secret-version=v2',
    events: ['push'],
    secret: 's',
    name: 'flux-webhook-relay',
  };
  const hook = (over: Partial<HookState> = {}): HookState => ({
    id: '1',
    url: wanted.url,
    events: ['push'],
    active: true,
    contentType: 'json',
    ...over,
  });
  const kinds = (actual: HookState[]) =>
    planTarget(repo, wanted, actual, ownership, { events: ['push'], contentType: 'json' }).map((a) =>
      a.kind === 'update'
        ? `update:${a.id}:${a.reasons.join('|')}`
        : a.kind === 'delete'
          ? `delete:${a.id}:${a.reason}`
          : `${a.kind}${'id' in a ? `:${a.id}` : ''}`,
    );

  test.each<[string, HookState[], string[]]>([
    [
      'our hook on the former URL: moved (an update, which re-sends the secret)',
      [hook({ url: `${apiEndpoint}/hooks/github?relay-secret-version=v2` })],
      ['update:1:url'],
    ],
    [
      'on the former URL with an old secret version: moved and re-keyed',
      [hook({ url: `${apiEndpoint}/hooks/github?relay-secret-version=v1` })],
      ['update:1:secret rotated'],
    ],
    [
      'on both: the current one is kept, the former one is a duplicate',
      [hook({ id: '1', url: `${apiEndpoint}/hooks/github?relay-secret-version=v2` }), hook({ id: '2' })],
      ['delete:1:duplicate relay hook', 'unchanged:2'],
    ],
    [
      'a stale receiver on the former URL is deleted',
      [hook({ id: '9', url: `${apiEndpoint}/hooks/gone` }), hook()],
      ['delete:9:receiver gone no longer exists', 'unchanged:1'],
    ],
    [
      "another registration's receiver on the former URL is left alone",
      [hook({ id: '5', url: `${apiEndpoint}/hooks/github-b` }), hook()],
      ['unchanged:1'],
    ],
    [
      'another path on the former host is foreign',
      [hook({ id: '6', url: `${apiEndpoint}/other/github` }), hook()],
      ['foreign:6', 'unchanged:1'],
    ],
  ])('%s', (_name, actual, expected) => {
    expect(kinds(actual)).toEqual(expected);
  });
});
