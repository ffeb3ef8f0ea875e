import { KubeApiTestServer } from '../support/kube-api-server';
import { SecretsManagerTestServer } from '../support/secrets-manager-server';
import {
  gitRepository,
  type Handler,
  loadRelayHandler,
  relayRules,
  relayUser,
  signedBranchPush,
  useSecretsManager,
} from '../support/relay-harness';

let cluster: KubeApiTestServer;
let sm: SecretsManagerTestServer;
let handler: Handler;

beforeAll(async () => {
  [cluster, sm] = await Promise.all([KubeApiTestServer.start(), SecretsManagerTestServer.start()]);
  cluster.addServiceAccount('sa', relayUser, relayRules);
  sm.put('relay/kubeconfig', cluster.kubeconfig('sa'));
  sm.put('relay/github', 'first-webhook-secret');
  cluster.put(gitRepository('flux-system', 'hello', 'https://github.com/Codertocat/Hello-World', { branch: 'master' }));
  useSecretsManager(sm);
  handler = loadRelayHandler(`
clusters:
  prod: { kubeconfig: relay/kubeconfig }
receivers:
  github: { provider: github, secret: relay/github }
`);
});

afterAll(async () => {
  sm.fault(undefined);
  await Promise.all([cluster.close(), sm.close()]);
});

function deliver(secret: string) {
  return handler(signedBranchPush(secret));
}

const webhookCalls = () => sm.calls.filter((c) => c.secretId === 'relay/github');

test('warm deliveries read the webhook secret once (cached), and only its current version', async () => {
  expect((await deliver('first-webhook-secret')).statusCode).toBe(200);
  expect((await deliver('first-webhook-secret')).statusCode).toBe(200);
  expect(webhookCalls().map((c) => c.versionStage)).toEqual(['AWSCURRENT']);
});

test('after a rotation, hooks signed with the new secret (read again at once) and the previous one both verify', async () => {
  sm.put('relay/github', 'second-webhook-secret');
  const before = webhookCalls().length;
  // The cached AWSCURRENT is stale: the new signature fails against it, so the relay re-reads both stages once.
  expect((await deliver('second-webhook-secret')).statusCode).toBe(200);
  // The provider not yet updated still signs with the old secret, now AWSPREVIOUS.
  expect((await deliver('first-webhook-secret')).statusCode).toBe(200);
  expect((await deliver('never-a-secret')).statusCode).toBe(401);
  // Bad signatures cannot make the relay hammer Secrets Manager: at most one forced re-read per interval.
  const afterRotation = webhookCalls().length;
  for (let i = 0; i < 5; i += 1) expect((await deliver('never-a-secret')).statusCode).toBe(401);
  expect(webhookCalls().length).toBe(afterRotation);
  expect(afterRotation - before).toBeLessThanOrEqual(4);
});

test('once the previous version is gone and the cache has expired, the old secret is refused and the new one still verifies', async () => {
  // A cache TTL of 0 stands for "after secretCacheTtlSeconds": every delivery reads Secrets Manager again.
  const fresh = loadRelayHandler(`
clusters:
  prod: { kubeconfig: relay/kubeconfig }
receivers:
  github: { provider: github, secret: relay/rotating }
limits: { secretCacheTtlSeconds: 0 }
`);
  const send = (secret: string) => fresh(signedBranchPush(secret));
  sm.put('relay/rotating', 'old-webhook-secret');
  sm.put('relay/rotating', 'new-webhook-secret');
  // During the window: both verify.
  expect((await send('old-webhook-secret')).statusCode).toBe(200);
  expect((await send('new-webhook-secret')).statusCode).toBe(200);
  // Runbook's last step: every hook was re-keyed (the sync does it), then AWSPREVIOUS is removed.
  sm.removeStage('relay/rotating', 'AWSPREVIOUS');
  cluster.clearRequests();
  const refused = await send('old-webhook-secret');
  expect(refused.statusCode).toBe(401);
  expect(cluster.requests.filter((r) => r.method === 'PATCH')).toHaveLength(0);
  expect((await send('new-webhook-secret')).statusCode).toBe(200);
});

test('Secrets Manager failing is a 503 (retryable, our side), never a patch or a 401', async () => {
  const fresh = loadRelayHandler(`
clusters:
  prod: { kubeconfig: relay/kubeconfig }
receivers:
  github: { provider: github, secret: relay/github }
`);
  cluster.clearRequests();
  sm.fault({ status: 500, type: 'InternalServiceError', message: 'boom' });
  try {
    const result = await fresh(signedBranchPush('second-webhook-secret'));
    expect(result.statusCode).toBe(503);
    const answer = JSON.parse(result.body as string);
    expect(answer.reason).toBe('secret_unavailable');
    // The caller is not authenticated: the answer does not name the secret.
    expect(result.body).not.toContain('relay/github');
    expect(cluster.requests).toHaveLength(0);
  } finally {
    sm.fault(undefined);
  }
});

test('an unreachable cluster is reported plainly in a 502', async () => {
  sm.put('relay/dead-kubeconfig', cluster.kubeconfig('sa').replace(/server: .*/, 'server: https://127.0.0.1:1'));
  const fresh = loadRelayHandler(`
clusters:
  dead: { kubeconfig: relay/dead-kubeconfig }
receivers:
  github: { provider: github, secret: relay/github }
`);
  const result = await fresh(signedBranchPush('second-webhook-secret'));
  expect(result.statusCode).toBe(502);
  expect(JSON.parse(result.body as string).failed).toEqual([
    { target: 'dead/*/GitRepository/*', error: expect.stringMatching(/cluster dead unreachable \(ECONNREFUSED\)/) },
  ]);
});
