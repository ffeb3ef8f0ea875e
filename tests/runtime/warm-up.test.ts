import type { KubeApiTestServer } from '../support/kube-api-server';
import type { SecretsManagerTestServer } from '../support/secrets-manager-server';
import {
  githubRelayConfig as config,
  loadRelayHandler,
  loadRelayModule,
  signedBranchPush,
  startGitHubRelayFixture,
} from '../support/relay-harness';

let cluster: KubeApiTestServer;
let sm: SecretsManagerTestServer;
let close: () => Promise<void>;

beforeAll(async () => {
  ({ cluster, sm, close } = await startGitHubRelayFixture());
});

afterEach(async () => {
  delete process.env.AWS_LAMBDA_INITIALIZATION_TYPE;
  sm.fault(undefined);
  // A loaded relay opens its watch after its first list, on a connection of its own: let it arrive (this fixture's
  // RBAC refuses it, once) before the next test counts requests.
  let seen = -1;
  while (seen !== cluster.requests.length) {
    seen = cluster.requests.length;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
});

afterAll(() => close());

const deliver = (handler: ReturnType<typeof loadRelayHandler>) => handler(signedBranchPush());

test('in Lambda init, the secrets and the cluster connection are ready before the first delivery, which then reads nothing again', async () => {
  sm.calls.length = 0;
  cluster.clearRequests();
  process.env.AWS_LAMBDA_INITIALIZATION_TYPE = 'on-demand';
  const { handler, warmedUp } = loadRelayModule(config);
  // No delivery yet: init alone reads both secrets and lists GitRepositories.
  await warmedUp;
  expect(sm.calls.map((c) => c.secretId).sort()).toEqual(['relay/github', 'relay/kubeconfig']);
  const list = cluster.requests.find((r) => r.verb === 'list');
  expect(list?.status).toBe(200);

  const result = await deliver(handler);
  expect(result.statusCode).toBe(200);
  expect(JSON.parse(result.body as string).patched).toEqual(['prod/flux-system/GitRepository/hello']);
  // The first delivery found both secrets cached, and its patch or Event went over a connection the warm-up opened
  // (the list's, or the spare one its GET /version opened; a watch, if the client keeps one, holds one of them).
  expect(sm.calls).toHaveLength(2);
  const warm = [list?.connectionId, cluster.requests.find((r) => r.path === '/version')?.connectionId];
  const sent = cluster.requests.filter((r) => r.method === 'PATCH' || r.method === 'POST');
  expect(sent.some((r) => warm.includes(r.connectionId))).toBe(true);
});

test('outside Lambda init nothing is read until a delivery comes', async () => {
  sm.calls.length = 0;
  cluster.clearRequests();
  const handler = loadRelayHandler(config);
  await new Promise((resolve) => setTimeout(resolve, 50));
  expect(sm.calls).toHaveLength(0);
  expect(cluster.requests).toHaveLength(0);
  expect((await deliver(handler)).statusCode).toBe(200);
});

test('a warm-up that fails (Secrets Manager down at init) is forgotten: the first delivery reads again and succeeds', async () => {
  sm.calls.length = 0;
  sm.fault({ status: 500, type: 'InternalServiceError', message: 'boom' });
  process.env.AWS_LAMBDA_INITIALIZATION_TYPE = 'on-demand';
  const { handler, warmedUp } = loadRelayModule(config);
  await warmedUp;
  expect(sm.calls.length).toBeGreaterThanOrEqual(2);
  sm.fault(undefined);
  const result = await deliver(handler);
  expect(result.statusCode).toBe(200);
});

describe('the first delivery of a cold container, sent before the warm-up finished', () => {
  test('shares the warm-up list (one list per cluster), and its patch and Event both go over connections the warm-up opened', async () => {
    cluster.clearRequests();
    const connectionsBefore = cluster.connectionCount();
    process.env.AWS_LAMBDA_INITIALIZATION_TYPE = 'on-demand';
    const { handler, warmedUp } = loadRelayModule(config);
    // At once, as Lambda hands over the event that started the container: the warm-up's list is still in flight.
    const result = await deliver(handler);
    await warmedUp;
    expect(result.statusCode).toBe(200);
    expect(cluster.requests.filter((r) => r.verb === 'list')).toHaveLength(1);
    // The warm-up's three connections (the list's and the two spare ones its GET /version requests opened) carried the
    // watch, the patch and the Event: no connection was opened after the list.
    const list = cluster.requests.find((r) => r.verb === 'list')!;
    const versions = cluster.requests.filter((r) => r.path === '/version');
    expect(versions.map((v) => v.status)).toEqual([200, 200]);
    const warm = new Set([list.connectionId, ...versions.map((v) => v.connectionId)]);
    expect(warm.size).toBe(3);
    const patch = cluster.requests.find((r) => r.method === 'PATCH')!;
    const event = cluster.requests.find((r) => r.method === 'POST' && r.path.endsWith('/events'))!;
    expect(warm.has(patch.connectionId) && warm.has(event.connectionId)).toBe(true);
    expect(patch.connectionId).not.toBe(event.connectionId);
    expect(cluster.connectionCount() - connectionsBefore).toBe(3);
  });

  test('a cluster that refuses GET /version costs nothing: the list and the delivery go on', async () => {
    cluster.clearRequests();
    cluster.fault({ match: (r) => r.path === '/version', status: 403 });
    try {
      process.env.AWS_LAMBDA_INITIALIZATION_TYPE = 'on-demand';
      const { handler, warmedUp } = loadRelayModule(config);
      const result = await deliver(handler);
      await warmedUp;
      expect(result.statusCode).toBe(200);
      expect(JSON.parse(result.body as string).patched).toEqual(['prod/flux-system/GitRepository/hello']);
      expect(cluster.requests.find((r) => r.path === '/version')?.status).toBe(403);
    } finally {
      cluster.fault(undefined);
    }
  });
});
