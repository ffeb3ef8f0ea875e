import examples from '@octokit/webhooks-examples/api.github.com/index.json';
import { KubeApiTestServer } from '../support/kube-api-server';
import { SecretsManagerTestServer } from '../support/secrets-manager-server';
import { apiGatewayEvent, gitRepository, loadRelayHandler, relayRules, relayUser, signGitHub, useSecretsManager } from '../support/relay-harness';

type Example = { name: string; examples: Array<Record<string, unknown>> };
const push = (examples as unknown as Example[]).find((e) => e.name === 'push')!.examples.find((p) => p.ref === 'refs/heads/master')!;
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

/** Waits (without a deadline of its own: Jest's test timeout is the bound) until `done()` holds. */
async function until(done: () => boolean): Promise<void> {
  while (!done()) await new Promise((resolve) => setTimeout(resolve, 5));
}

const deliver = (handler: ReturnType<typeof loadRelayHandler>) =>
  handler(
    apiGatewayEvent({ receiver: 'github', body, headers: { 'content-type': 'application/json', 'x-github-event': 'push', 'x-hub-signature-256': signGitHub('webhook-secret', body) } }),
  );

test('in Lambda init, the secrets and the cluster connection are ready before the first delivery, which then reads nothing again', async () => {
  sm.calls.length = 0;
  cluster.clearRequests();
  const connectionsBefore = cluster.connectionCount();
  process.env.AWS_LAMBDA_INITIALIZATION_TYPE = 'on-demand';
  const handler = loadRelayHandler(config);
  // No delivery yet: init alone reads both secrets and lists GitRepositories once.
  await until(() => cluster.requests.some((r) => r.method === 'GET'));
  expect(sm.calls.map((c) => c.secretId).sort()).toEqual(['relay/github', 'relay/kubeconfig']);
  expect(cluster.connectionCount()).toBe(connectionsBefore + 1);

  const result = await deliver(handler);
  expect(result.statusCode).toBe(200);
  expect(JSON.parse(result.body as string).patched).toEqual(['prod/flux-system/GitRepository/hello']);
  // The first delivery found both secrets cached and the TLS connection open.
  expect(sm.calls).toHaveLength(2);
  expect(cluster.connectionCount()).toBe(connectionsBefore + 1);
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
  const handler = loadRelayHandler(config);
  await until(() => sm.calls.length >= 2);
  // Let the SDK's own retry (maxAttempts 2) finish against the fault before lifting it.
  await new Promise((resolve) => setTimeout(resolve, 100));
  sm.fault(undefined);
  const result = await deliver(handler);
  expect(result.statusCode).toBe(200);
});
