import { KubeApiTestServer } from '../support/kube-api-server';
import { SecretsManagerTestServer } from '../support/secrets-manager-server';
import { apiGatewayEvent, githubBranchPush, gitRepository, loadRelayHandler, loadRelayModule, relayRules, relayUser, signGitHub, useSecretsManager } from '../support/relay-harness';

const push = githubBranchPush;
const body = JSON.stringify(push);
const config = `
clusters:
  prod: { kubeconfig: relay/kubeconfig }
receivers:
  github: { provider: github, secret: relay/github }
`;

let cluster: KubeApiTestServer;
let sm: SecretsManagerTestServer;

beforeAll(async () => {
  [cluster, sm] = await Promise.all([KubeApiTestServer.start(), SecretsManagerTestServer.start()]);
  cluster.addServiceAccount('sa', relayUser, relayRules);
  sm.put('relay/kubeconfig', cluster.kubeconfig('sa'));
  sm.put('relay/github', 'webhook-secret');
  cluster.put(gitRepository('flux-system', 'hello', 'https://github.com/Codertocat/Hello-World', { branch: 'master' }));
  useSecretsManager(sm);
});

afterEach(() => {
  delete process.env.AWS_LAMBDA_INITIALIZATION_TYPE;
  sm.fault(undefined);
});

afterAll(async () => {
  await Promise.all([cluster.close(), sm.close()]);
});

const deliver = (handler: ReturnType<typeof loadRelayHandler>) =>
  handler(
    apiGatewayEvent({ receiver: 'github', body, headers: { 'content-type': 'application/json', 'x-github-event': 'push', 'x-hub-signature-256': signGitHub('webhook-secret', body) } }),
  );

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
