import type { KubeApiTestServer } from '../support/kube-api-server';
import {
  gitRepository,
  githubRelayConfig,
  type Handler,
  loadRelayHandler,
  relayRulesWithWatch,
  signedBranchPush,
  startGitHubRelayFixture,
} from '../support/relay-harness';

// The relay as deployed with infra/kubernetes's RBAC (watch granted): deliveries are answered from the client's
// watch-fed GitRepository index, and objects created or deleted after it was seeded still count.

const url = 'https://github.com/Codertocat/Hello-World';

let cluster: KubeApiTestServer;
let close: () => Promise<void>;
let handler: Handler;

beforeAll(async () => {
  ({ cluster, close } = await startGitHubRelayFixture(relayRulesWithWatch));
  handler = loadRelayHandler(githubRelayConfig);
});

afterAll(() => close());

async function deliver(): Promise<{ status: number; patched: string[] }> {
  const result = await handler(signedBranchPush());
  return {
    status: result.statusCode as number,
    patched: (JSON.parse(result.body as string) as { patched: string[] }).patched,
  };
}

const lists = () => cluster.requests.filter((r) => r.verb === 'list').length;

async function watchOpen(): Promise<void> {
  while (!cluster.requests.some((r) => r.verb === 'watch' && r.status === 200))
    await new Promise((resolve) => setTimeout(resolve, 5));
}

test('the first delivery lists and starts the watch; later ones list nothing, and see objects created and deleted since', async () => {
  expect(await deliver()).toEqual({ status: 200, patched: ['prod/flux-system/GitRepository/hello'] });
  expect(lists()).toBe(1);
  await watchOpen();

  expect(await deliver()).toEqual({ status: 200, patched: ['prod/flux-system/GitRepository/hello'] });
  cluster.put(gitRepository('apps', 'hello-too', `${url}.git`, { branch: 'master' }));
  expect(await deliver()).toEqual({
    status: 200,
    patched: ['prod/apps/GitRepository/hello-too', 'prod/flux-system/GitRepository/hello'],
  });
  cluster.remove('source.toolkit.fluxcd.io/v1', 'GitRepository', 'flux-system', 'hello');
  expect(await deliver()).toEqual({ status: 200, patched: ['prod/apps/GitRepository/hello-too'] });
  // All of it from the index: still the one list of the first delivery.
  expect(lists()).toBe(1);
});

test('recordEvents: false patches without recording Events (one API write per object and push)', async () => {
  const quiet = loadRelayHandler(`${githubRelayConfig}recordEvents: false\n`);
  cluster.put(gitRepository('flux-system', 'hello', url, { branch: 'master' }));
  const eventsBefore = cluster.list('v1', 'Event').length;
  cluster.clearRequests();
  const result = await quiet(signedBranchPush());
  expect(result.statusCode).toBe(200);
  expect(JSON.parse(result.body as string).patched).toEqual([
    'prod/apps/GitRepository/hello-too',
    'prod/flux-system/GitRepository/hello',
  ]);
  expect(cluster.requests.filter((r) => r.method === 'POST')).toEqual([]);
  expect(cluster.list('v1', 'Event')).toHaveLength(eventsBefore);
});

test('deliveries back to back from a cold start: the watch opens and the later ones stop listing', async () => {
  const fresh = loadRelayHandler(githubRelayConfig);
  cluster.clearRequests();
  for (let i = 0; i < 40; i++) expect((await fresh(signedBranchPush())).statusCode).toBe(200);
  // A list that restarted a watch not yet open would make every one of them list (40).
  expect(lists()).toBeLessThan(10);
  expect(cluster.requests.filter((r) => r.verb === 'watch' && r.status === 200).length).toBeGreaterThanOrEqual(1);
});
