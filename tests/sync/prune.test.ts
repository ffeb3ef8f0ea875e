/**
 * The sync owns its estate (issue 14): a target that leaves the desired set loses the relay's hook after
 * `pruneAfterRuns` runs without it, never while discovery is failing or the set shrank suspiciously, and `uninstall`
 * removes every relay hook it manages. Decisions as a table (lib/sync/prune.ts), then whole runs against the loopback
 * GitHub API and a cluster whose GitRepositories are the desired set.
 */
import { parseConfig } from '../../lib/config/load';
import type { RelayConfig } from '../../lib/config/schema';
import { InMemorySyncMemory, type SyncMemory, type TargetMemory } from '../../lib/sync/memory';
import { decidePrune, type PruneOptions } from '../../lib/sync/prune';
import type { RegistrationReport, SyncReport } from '../../lib/sync/run';
import { GitHubApiServer } from '../support/github-api-server';
import { KubeApiTestServer } from '../support/kube-api-server';
import { gitRepository, relayRules, relayUser, useSecretsManager } from '../support/relay-harness';
import { SecretsManagerTestServer } from '../support/secrets-manager-server';
import { runSyncOnce } from '../support/sync-run';

describe('decidePrune', () => {
  const managed = (absentRuns?: number): TargetMemory => ({
    checkedAt: '2026-12-04T00:00:00Z',
    managed: true,
    ...(absentRuns !== undefined ? { absentRuns } : {}),
  });
  const memory = (entries: Record<string, TargetMemory>) => new Map(Object.entries(entries));
  const on: PruneOptions = { mode: 'on', afterRuns: 2 };
  const estate = { 'acme/a': managed(), 'acme/b': managed(), 'acme/c': managed(), 'acme/d': managed() };

  test('every managed target desired: nothing absent, nothing held', () => {
    expect(decidePrune(memory(estate), new Set(Object.keys(estate)), on)).toEqual({ absent: [] });
  });

  test('absent once: counted, kept; absent for the second run: removed', () => {
    const desired = new Set(['acme/a', 'acme/b', 'acme/c']);
    expect(decidePrune(memory(estate), desired, on)).toEqual({
      absent: [{ key: 'acme/d', target: { kind: 'repository', path: 'acme/d' }, absentRuns: 1, remove: false }],
    });
    expect(decidePrune(memory({ ...estate, 'acme/d': managed(1) }), desired, on).absent).toEqual([
      { key: 'acme/d', target: { kind: 'repository', path: 'acme/d' }, absentRuns: 2, remove: true },
    ]);
  });

  test('pruneAfterRuns 1 removes on the first run; organisations come back as organisations', () => {
    const decision = decidePrune(memory({ 'org:acme': managed(), 'acme/a': managed() }), new Set(['acme/a']), {
      mode: 'on',
      afterRuns: 1,
    });
    expect(decision.absent).toEqual([
      { key: 'org:acme', target: { kind: 'organization', path: 'acme' }, absentRuns: 1, remove: true },
    ]);
  });

  test('targets never managed (no relay hook seen) are never pruned', () => {
    const decision = decidePrune(
      memory({ ...estate, 'acme/x': { checkedAt: '2026-12-04T00:00:00Z' } }),
      new Set(Object.keys(estate)),
      on,
    );
    expect(decision).toEqual({ absent: [] });
  });

  test('discovery failed: nothing counted, and the reason says so', () => {
    const decision = decidePrune(memory({ ...estate, 'acme/d': managed(1) }), new Set(['acme/a', 'acme/b', 'acme/c']), {
      ...on,
      discoveryFailed: 'cluster prod',
    });
    expect(decision.absent).toEqual([]);
    expect(decision.held).toMatch(/discovery failed \(cluster prod\)/);
  });

  test('more than half of the managed targets gone at once is held, unless forced', () => {
    const desired = new Set(['acme/a']);
    const held = decidePrune(memory(estate), desired, on);
    expect(held.absent).toEqual([]);
    expect(held.held).toMatch(/3 of 4 managed targets.*--prune=force/);
    expect(decidePrune(memory(estate), new Set(), on).held).toMatch(/4 of 4/);
    const forced = decidePrune(memory(estate), desired, { ...on, mode: 'force' });
    expect(forced.absent.map((a) => a.key)).toEqual(['acme/b', 'acme/c', 'acme/d']);
    // Half is not more than half: two of four leaving is a cleanup.
    expect(decidePrune(memory(estate), new Set(['acme/a', 'acme/b']), on).absent).toHaveLength(2);
  });

  test('pruning off: nothing counted, held with the reason', () => {
    const decision = decidePrune(memory(estate), new Set(['acme/a', 'acme/b', 'acme/c']), { ...on, mode: 'off' });
    expect(decision).toEqual({ absent: [], held: expect.stringMatching(/pruning is off/) });
  });
});

describe('runs against the loopback GitHub API', () => {
  const token = 'ghp_prune_token_0123456789abcdef';
  const relayUrl = 'https://relay.example';
  let clock = Date.parse('2026-12-04T05:00:00Z');
  const now = () => clock;
  const sleep = async (ms: number) => {
    clock += ms;
  };
  let cluster: KubeApiTestServer;
  let sm: SecretsManagerTestServer;
  let github: GitHubApiServer;
  let memory: InMemorySyncMemory;
  const repos = ['acme/a', 'acme/b', 'acme/c', 'acme/d'];
  const foreign = { url: 'https://ci.example/hook', events: ['push'], contentType: 'json', secret: 'ci-secret' };

  beforeAll(async () => {
    [cluster, sm, github] = await Promise.all([
      KubeApiTestServer.start(),
      SecretsManagerTestServer.start(),
      GitHubApiServer.start({ now }),
    ]);
    cluster.addServiceAccount('sa', relayUser, relayRules);
    github.addToken(token, { repos: [...repos, 'acme/listed'] });
    github.addHook({ kind: 'repository', path: 'acme/d' }, foreign);
    sm.put('relay/kc', cluster.kubeconfig('sa'));
    sm.put('relay/hook', 'github-hook-secret-prune-1');
    sm.put('relay/token', token);
    useSecretsManager(sm);
  });
  afterAll(() => Promise.all([cluster.close(), sm.close(), github.close()]));
  beforeEach(() => {
    memory = new InMemorySyncMemory();
    cluster.fault(undefined);
    for (const [i, repo] of repos.entries())
      cluster.put(gitRepository('flux-system', `r${i}`, `https://github.com/${repo}`, { branch: 'main' }));
  });
  afterEach(async () => {
    // Every test starts from an estate without relay hooks.
    for (const repo of [...repos, 'acme/listed'])
      for (const hook of github.hooks({ kind: 'repository', path: repo }))
        if (hook.config.url.startsWith(relayUrl))
          await fetch(`${github.url}/repos/${repo}/hooks/${hook.id}`, {
            method: 'DELETE',
            headers: { authorization: `Bearer ${token}`, accept: 'application/vnd.github+json', 'user-agent': 't' },
          });
  });

  const configOf = (sync = '', listed = '[acme/listed]') =>
    parseConfig(
      `
clusters:
  c: { kubeconfig: relay/kc }
receivers:
  github: { provider: github, secret: relay/hook }
sync:
  publicUrl: ${relayUrl}
  allowHttpLoopback: true
${sync}  registrations:
    gh: { provider: github, apiUrl: '${github.url}', host: github.com, token: relay/token, receiver: github, repositories: ${listed} }
`,
      'prune-test.yaml',
    );
  const run = async (
    config: RelayConfig = configOf(),
    options: Parameters<typeof runSyncOnce>[2] = {},
  ): Promise<RegistrationReport & { plan: SyncReport['plan'] }> => {
    clock += 15 * 60_000;
    const report = await runSyncOnce(config, { now, sleep }, { memory, ...options });
    return { ...report.registrations[0]!, plan: report.plan };
  };
  const relayHookOn = (repo: string) =>
    github.hooks({ kind: 'repository', path: repo }).filter((h) => h.config.url.startsWith(relayUrl)).length;
  const deleteGitRepository = (repo: string) =>
    cluster.remove('source.toolkit.fluxcd.io/v1', 'GitRepository', 'flux-system', `r${repos.indexOf(repo)}`);

  test('a repository whose last GitRepository was deleted keeps its hook for one run, loses it the next; the foreign hook stays', async () => {
    expect((await run()).actions).toMatchObject({ create: 5 });
    deleteGitRepository('acme/d');
    const first = await run();
    expect(first).toMatchObject({ failures: [], actions: { delete: 0, unchanged: 4 } });
    expect(relayHookOn('acme/d')).toBe(1);
    const second = await run();
    expect(second).toMatchObject({ failures: [], actions: { delete: 1, unchanged: 4 } });
    expect(second.plan.map((p) => p.line)).toContainEqual(
      expect.stringMatching(/acme\/d.*not in the desired set for 2 run/),
    );
    expect(relayHookOn('acme/d')).toBe(0);
    expect(github.hooks({ kind: 'repository', path: 'acme/d' }).map((h) => h.config.url)).toEqual([foreign.url]);
    for (const repo of ['acme/a', 'acme/b', 'acme/c', 'acme/listed']) expect(relayHookOn(repo)).toBe(1);
    // Forgotten: later runs do not look at it again.
    expect((await memory.targets('gh')).has('acme/d')).toBe(false);
    const third = await run();
    expect(third.calls).toBe(4);
  });

  test('a repository dropped from `repositories` loses its hook after the grace run, and nothing else changes', async () => {
    await run();
    const without = configOf('', '[]');
    expect((await run(without)).actions).toMatchObject({ delete: 0, unchanged: 4 });
    const second = await run(without);
    expect(second).toMatchObject({ failures: [], actions: { delete: 1, unchanged: 4, create: 0, update: 0 } });
    expect(relayHookOn('acme/listed')).toBe(0);
    for (const repo of repos) expect(relayHookOn(repo)).toBe(1);
  });

  test('a repository that comes back before its grace runs are over keeps its hook; after, it is created again', async () => {
    await run();
    deleteGitRepository('acme/c');
    await run();
    cluster.put(gitRepository('flux-system', 'r2', 'https://github.com/acme/c', { branch: 'main' }));
    expect((await run()).actions).toMatchObject({ delete: 0, create: 0, unchanged: 5 });
    // Its count started over: two more absent runs are needed.
    deleteGitRepository('acme/c');
    expect((await run()).actions.delete).toBe(0);
    expect((await run()).actions.delete).toBe(1);
    cluster.put(gitRepository('flux-system', 'r2', 'https://github.com/acme/c', { branch: 'main' }));
    expect((await run()).actions).toMatchObject({ create: 1 });
    expect(relayHookOn('acme/c')).toBe(1);
  });

  test('discovery failing (a cluster that cannot list) deletes nothing, however many runs', async () => {
    await run();
    cluster.fault({ status: 503, message: 'etcdserver: leader changed' });
    for (let i = 0; i < 4; i += 1) {
      const report = await run();
      expect(report.actions.delete).toBe(0);
      expect(report.pruneHeld).toMatch(/discovery failed \(cluster c\)/);
    }
    for (const repo of repos) expect(relayHookOn(repo)).toBe(1);
  });

  test('a desired set shrinking by more than half at once is held, and --prune=force lets it through', async () => {
    await run();
    for (const repo of ['acme/a', 'acme/b', 'acme/c', 'acme/d']) deleteGitRepository(repo);
    for (let i = 0; i < 3; i += 1) {
      const held = await run();
      expect(held.actions.delete).toBe(0);
      expect(held.pruneHeld).toMatch(/4 of 5 managed targets/);
    }
    await run(configOf(), { prune: 'force' });
    const forced = await run(configOf(), { prune: 'force' });
    expect(forced.actions.delete).toBe(4);
    expect(relayHookOn('acme/listed')).toBe(1);
  });

  test('sync.prune: false keeps the hooks of absent targets', async () => {
    const config = configOf('  prune: false\n');
    await run(config);
    deleteGitRepository('acme/b');
    for (let i = 0; i < 3; i += 1) expect((await run(config)).pruneHeld).toMatch(/pruning is off/);
    expect(relayHookOn('acme/b')).toBe(1);
  });

  test('uninstall: a dry run lists every relay hook and removes none; then every one is removed, foreign hooks stay', async () => {
    await run();
    deleteGitRepository('acme/a'); // managed, no longer desired: removed by uninstall too
    const dry = await run(configOf(), { uninstall: true, dryRun: true });
    expect(dry.actions.delete).toBe(5);
    expect(dry.writes).toBe(0);
    for (const repo of [...repos, 'acme/listed']) expect(relayHookOn(repo)).toBe(1);
    const done = await run(configOf(), { uninstall: true });
    expect(done).toMatchObject({ failures: [], actions: { delete: 5, create: 0 } });
    for (const repo of [...repos, 'acme/listed']) expect(relayHookOn(repo)).toBe(0);
    expect(github.hooks({ kind: 'repository', path: 'acme/d' }).map((h) => h.config.url)).toEqual([foreign.url]);
    expect((await memory.targets('gh')).size).toBe(0);
  });

  test('a state record that cannot be read fails the registration loudly and changes nothing', async () => {
    await run();
    deleteGitRepository('acme/b');
    const broken: SyncMemory = {
      targets: () => Promise.reject(new Error('ResourceNotFoundException: table relay-sync-state not found')),
      saveTargets: () => Promise.reject(new Error('unreachable')),
      forgetTargets: () => Promise.reject(new Error('unreachable')),
      pacing: () => Promise.resolve(undefined),
      savePacing: () => Promise.resolve(),
    };
    clock += 15 * 60_000;
    const report = await runSyncOnce(configOf(), { now, sleep }, { memory: broken });
    const entry = report.registrations[0]!;
    expect(entry.failures).toEqual([
      { target: '*', error: expect.stringContaining('table relay-sync-state not found') },
    ]);
    expect(entry.writes).toBe(0);
    expect(relayHookOn('acme/b')).toBe(1);
  });
});
