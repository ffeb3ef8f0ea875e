import { HttpsCluster } from '../../lib/kube/https-cluster';
import { repoKey } from '../../lib/matching/repo-url';
import { KubeApiTestServer, type RbacRule } from '../support/kube-api-server';
import { gitRepository, relayRules, relayUser } from '../support/relay-harness';

/** The relay's rules plus `watch` on the Flux kinds: what infra must grant for the index to be used. */
const watchingRules: RbacRule[] = relayRules.map((rule) =>
  rule.verbs.includes('list') ? { ...rule, verbs: [...rule.verbs, 'watch'] } : rule,
);

const apiVersion = 'source.toolkit.fluxcd.io/v1';
const freshMs = 65_000;
const signal = new AbortController().signal;
const rejections: unknown[] = [];
const onRejection = (reason: unknown) => rejections.push(reason);

let server: KubeApiTestServer;
let now = 0;
const clients: HttpsCluster[] = [];

function client(opts: { token?: string; namespaces?: string[] } = {}): HttpsCluster {
  const c = new HttpsCluster({
    name: 'test',
    kubeconfigYaml: server.kubeconfig(opts.token ?? 'watcher'),
    now: () => now,
    index: { watchTimeoutSeconds: 60, freshMs },
    ...(opts.namespaces ? { namespaces: opts.namespaces } : {}),
  });
  clients.push(c);
  return c;
}

const keyOf = (url: string) => repoKey(url) as string;
const keys = (...urls: string[]) => new Set(urls.map(keyOf));
const lists = () => server.requests.filter((r) => r.verb === 'list').length;
const watches = () => server.requests.filter((r) => r.verb === 'watch');

async function until(condition: () => boolean | Promise<boolean>, what: string, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

/** A client whose first call listed and whose watch is now live. */
async function warm(c: HttpsCluster): Promise<void> {
  await c.listGitRepositories(signal);
  await until(() => c.gitRepositoryIndexIsFresh(), 'the watch to open');
}

const names = (views: Array<{ namespace: string; name: string }>) =>
  views.map((v) => `${v.namespace}/${v.name}`).sort();

beforeAll(async () => {
  process.on('unhandledRejection', onRejection);
  server = await KubeApiTestServer.start();
  server.addServiceAccount('watcher', relayUser, watchingRules);
  server.addServiceAccount('no-watch', relayUser, relayRules);
});

beforeEach(() => {
  now = 0;
  for (const name of server.list(apiVersion, 'GitRepository').map((o) => o.metadata))
    server.remove(apiVersion, 'GitRepository', name.namespace as string, name.name);
  server.put(gitRepository('flux-system', 'app', 'https://github.com/acme/app', { branch: 'main' }));
  server.put(gitRepository('flux-system', 'infra', 'ssh://git@github.com/acme/infra.git', { branch: 'main' }));
  server.put(gitRepository('team-a', 'app-a', 'https://github.com/acme/app', { tag: 'v1' }));
  server.fault(undefined);
  server.clearRequests();
});

afterEach(() => {
  for (const c of clients.splice(0)) c.destroy();
});

afterAll(async () => {
  await server.close();
  process.off('unhandledRejection', onRejection);
  expect(rejections).toEqual([]);
});

test('a warm index answers without listing; a GitRepository created, modified or deleted later is seen through the watch alone', async () => {
  const c = client();
  expect(names(await c.gitRepositoriesFor(keys('https://github.com/acme/app'), signal))).toEqual([
    'flux-system/app',
    'team-a/app-a',
  ]);
  expect(lists()).toBe(1);
  await until(() => c.gitRepositoryIndexIsFresh(), 'the watch to open');
  const watch = watches()[0]!;
  expect(watch.query).toMatchObject({ watch: '1', allowWatchBookmarks: 'true', timeoutSeconds: '60' });
  expect(watch.query.resourceVersion).toMatch(/^[0-9]+$/);

  // Created after the index is warm: matched by the next delivery without a list.
  const created = server.put(
    gitRepository('flux-system', 'new-app', 'ssh://git@github.com/acme/new-app.git', { branch: 'main' }),
  );
  await until(
    async () => (await c.gitRepositoriesFor(keys('https://github.com/acme/new-app'), signal)).length === 1,
    'the new GitRepository',
  );
  const [view] = await c.gitRepositoriesFor(keys('https://github.com/acme/new-app'), signal);
  expect(view).toEqual({
    namespace: 'flux-system',
    name: 'new-app',
    url: 'ssh://git@github.com/acme/new-app.git',
    ref: { branch: 'main' },
    uid: created.metadata.uid,
    key: 'github.com/acme/new-app',
  });

  // spec.url and spec.ref modified: the old key no longer finds it, the new one does, with the new ref.
  server.put(gitRepository('flux-system', 'new-app', 'https://github.com/acme/renamed', { tag: 'v2' }));
  await until(
    async () => (await c.gitRepositoriesFor(keys('https://github.com/acme/renamed'), signal)).length === 1,
    'the modified GitRepository',
  );
  expect(await c.gitRepositoriesFor(keys('https://github.com/acme/new-app'), signal)).toEqual([]);
  expect((await c.gitRepositoriesFor(keys('https://github.com/acme/renamed'), signal))[0]?.ref).toEqual({ tag: 'v2' });

  // Deleted: dropped.
  server.remove(apiVersion, 'GitRepository', 'team-a', 'app-a');
  await until(
    async () => (await c.gitRepositoriesFor(keys('https://github.com/acme/app'), signal)).length === 1,
    'the deletion',
  );
  expect(names(await c.listGitRepositories(signal))).toEqual([
    'flux-system/app',
    'flux-system/infra',
    'flux-system/new-app',
  ]);

  expect(lists()).toBe(1);
  expect(watches()).toHaveLength(1);
});

test('an ERROR 410 Gone on the watch makes the index relist (in the background) and watch again from the new list', async () => {
  const c = client();
  await warm(c);
  server.expireWatches();
  await until(() => lists() === 2 && c.gitRepositoryIndexIsFresh(), 'the relist and the new watch');
  server.put(gitRepository('flux-system', 'after-410', 'https://github.com/acme/after-410', { branch: 'main' }));
  await until(
    async () => (await c.gitRepositoriesFor(keys('https://github.com/acme/after-410'), signal)).length === 1,
    'the GitRepository created after the relist',
  );
  expect(lists()).toBe(2);
});

test('a re-watch from a compacted resourceVersion (HTTP 410) relists, and nothing created meanwhile is missed', async () => {
  const c = client();
  await warm(c);
  // Hold the re-watch until the history it needs is compacted away.
  const watchesBefore = watches().length;
  server.fault({ match: (r) => r.verb === 'watch', delayMs: 150, times: 1 });
  server.dropWatches();
  await until(() => watches().length > watchesBefore, 'the held re-watch');
  server.put(gitRepository('flux-system', 'during-gap', 'https://github.com/acme/during-gap', { branch: 'main' }));
  server.compact({ answer: 'http' });
  // Then hold the relist the 410 causes, so the stale state is observable however busy the machine is.
  server.fault({ match: (r) => r.verb === 'list', delayMs: 1000, times: 1 });
  await until(() => watches().some((w) => w.status === 410), 'the 410 answer');
  expect(c.gitRepositoryIndexIsFresh()).toBe(false);
  // Whether the background relist or this call lists first, the answer includes what was created in the gap.
  expect(names(await c.gitRepositoriesFor(keys('https://github.com/acme/during-gap'), signal))).toEqual([
    'flux-system/during-gap',
  ]);
  await until(() => c.gitRepositoryIndexIsFresh(), 'the new watch');
  expect(lists()).toBeGreaterThanOrEqual(2);
});

test('a stream the server ends cleanly (timeoutSeconds) is re-watched from the last resourceVersion without a list', async () => {
  const c = client();
  await warm(c);
  const created = server.put(gitRepository('flux-system', 'seen', 'https://github.com/acme/seen', { branch: 'main' }));
  await until(
    async () => (await c.gitRepositoriesFor(keys('https://github.com/acme/seen'), signal)).length === 1,
    'the watched GitRepository',
  );
  server.dropWatches();
  await until(() => watches().length === 2 && c.gitRepositoryIndexIsFresh(), 'the re-watch');
  expect(watches()[1]?.query.resourceVersion).toBe(created.metadata.resourceVersion);
  expect(lists()).toBe(1);
});

test('timeoutSeconds ends the stream on the server; the client re-watches and stays fresh', async () => {
  const c = new HttpsCluster({
    name: 'short',
    kubeconfigYaml: server.kubeconfig('watcher'),
    now: () => now,
    index: { watchTimeoutSeconds: 1 },
  });
  clients.push(c);
  await warm(c);
  await until(() => watches().length >= 2 && c.gitRepositoryIndexIsFresh(), 'the second watch', 4000);
  expect(watches()[0]?.query.timeoutSeconds).toBe('1');
  expect(lists()).toBe(1);
});

test('a watch forbidden by RBAC: every call lists, the answer is still current, and the watch is not retried per call', async () => {
  const c = client({ token: 'no-watch' });
  expect(names(await c.listGitRepositories(signal))).toHaveLength(3);
  await until(() => watches().some((w) => w.status === 403), 'the forbidden watch');
  server.put(gitRepository('flux-system', 'late', 'https://github.com/acme/late', { branch: 'main' }));
  expect(names(await c.gitRepositoriesFor(keys('https://github.com/acme/late'), signal))).toEqual(['flux-system/late']);
  await c.listGitRepositories(signal);
  expect(lists()).toBe(3);
  expect(watches()).toHaveLength(1);
  expect(c.gitRepositoryIndexIsFresh()).toBe(false);
});

test('past freshMs without a message (a long Lambda freeze) the next call lists; a bookmark counts as a message', async () => {
  const c = client();
  await warm(c);
  now = freshMs - 1000;
  expect(c.gitRepositoryIndexIsFresh()).toBe(true);
  server.sendBookmarks();
  now = freshMs + 500;
  await until(() => c.gitRepositoryIndexIsFresh(), 'the bookmark to renew liveness');
  now += freshMs + 1;
  expect(c.gitRepositoryIndexIsFresh()).toBe(false);
  await c.listGitRepositories(signal);
  expect(lists()).toBe(2);
  await until(() => c.gitRepositoryIndexIsFresh(), 'the new watch');
});

test('a watch connection reset by the server: the next call lists', async () => {
  const c = client();
  await warm(c);
  server.dropWatches({ reset: true });
  await until(() => !c.gitRepositoryIndexIsFresh(), 'the reset to be noticed');
  server.put(gitRepository('flux-system', 'after-reset', 'https://github.com/acme/after-reset', { branch: 'main' }));
  expect(names(await c.gitRepositoriesFor(keys('https://github.com/acme/after-reset'), signal))).toEqual([
    'flux-system/after-reset',
  ]);
  expect(lists()).toBe(2);
});

test('namespaced: one list and one watch per namespace, nothing from other namespaces', async () => {
  server.put(gitRepository('team-b', 'app-b', 'https://github.com/acme/app', { branch: 'main' }));
  const c = client({ namespaces: ['flux-system', 'team-b'] });
  expect(names(await c.gitRepositoriesFor(keys('https://github.com/acme/app'), signal))).toEqual([
    'flux-system/app',
    'team-b/app-b',
  ]);
  await until(() => c.gitRepositoryIndexIsFresh(), 'both watches');
  expect(
    watches()
      .map((w) => w.path)
      .sort(),
  ).toEqual([
    '/apis/source.toolkit.fluxcd.io/v1/namespaces/flux-system/gitrepositories',
    '/apis/source.toolkit.fluxcd.io/v1/namespaces/team-b/gitrepositories',
  ]);
  server.put(gitRepository('team-b', 'app-b2', 'https://github.com/acme/app', { branch: 'dev' }));
  server.put(gitRepository('team-a', 'app-a2', 'https://github.com/acme/app', { branch: 'dev' }));
  await until(
    async () => (await c.gitRepositoriesFor(keys('https://github.com/acme/app'), signal)).length === 3,
    'the namespaced event',
  );
  expect(names(await c.listGitRepositories(signal))).toEqual([
    'flux-system/app',
    'flux-system/infra',
    'team-b/app-b',
    'team-b/app-b2',
  ]);
  expect(lists()).toBe(2);
});

test('destroy() closes the watch on the server side too', async () => {
  const c = client();
  await warm(c);
  expect(server.openWatchCount()).toBe(1);
  c.destroy();
  await until(() => server.openWatchCount() === 0, 'the watch to close');
});

test('calls made while a list is in flight share it: one list, every caller answered from it', async () => {
  server.put(gitRepository('flux-system', 'shared', 'https://github.com/acme/shared', { branch: 'main' }));
  const c = client();
  server.clearRequests();
  const [all, some, again] = await Promise.all([
    c.listGitRepositories(signal),
    c.gitRepositoriesFor(keys('https://github.com/acme/shared'), signal),
    c.gitRepositoriesFor(keys('https://github.com/acme/nothing'), signal),
  ]);
  expect(names(all)).toContain('flux-system/shared');
  expect(names(some)).toEqual(['flux-system/shared']);
  expect(again).toEqual([]);
  expect(lists()).toBe(1);
});

test("a list that fails for the caller who started it is not a joined caller's answer: that one lists itself", async () => {
  server.put(gitRepository('flux-system', 'retried', 'https://github.com/acme/retried', { branch: 'main' }));
  const c = client();
  server.clearRequests();
  const first = new AbortController();
  const started = c.listGitRepositories(first.signal);
  const joined = c.gitRepositoriesFor(keys('https://github.com/acme/retried'), signal);
  first.abort(new Error('the first caller ran out of time'));
  await expect(started).rejects.toThrow();
  expect(names(await joined)).toEqual(['flux-system/retried']);
});
