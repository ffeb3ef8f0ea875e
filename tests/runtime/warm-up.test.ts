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

afterEach(() => {
  delete process.env.AWS_LAMBDA_INITIALIZATION_TYPE;
  sm.fault(undefined);
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
  // The first delivery found both secrets cached, and patched over the connection the warm-up opened (a watch, if
  // the client keeps one, holds a connection of its own).
  expect(sm.calls).toHaveLength(2);
  const patch = cluster.requests.find((r) => r.method === 'PATCH');
  expect(patch?.connectionId).toBe(list?.connectionId);
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
