/**
 * API Priority and Fairness end to end: the loopback API server answers the patch with 429 and `Retry-After`, as
 * kube-apiserver's APF filter does; the real relay handler either waits as asked and patches within its budget, or
 * queues the patch (202) without another request, and a storm of 429s costs a bounded number of requests. The
 * relay's abortable sleep (lib/time/abort.ts `sleep`) is replaced by one that records the wait and returns at once:
 * requests are counted, never timed.
 */
import { KubeApiTestServer, type Fault } from '../support/kube-api-server';
import { SecretsManagerTestServer } from '../support/secrets-manager-server';
import { SqsTestServer } from '../support/sqs-server';
import {
  apiGatewayEvent,
  githubBranchPush,
  gitRepository,
  type Handler,
  patchRequests,
  relayRules,
  relayUser,
  requestedAt,
  signGitHub,
  useSecretsManager,
} from '../support/relay-harness';
import { createRetryQueues, loadRelayHandlerMocking, type RetryQueues, useSqs } from '../retry/support';

const webhookSecret = 'gh-webhook-s3cret-value';
const token = 'prod-sa-token-0123456789abcdef';
const body = JSON.stringify(githubBranchPush);
const config = `
clusters:
  prod:
    kubeconfig: aws-sm:flux-relay/prod-kubeconfig
receivers:
  github:
    provider: github
    secret: aws-sm:flux-relay/github#secret
recordEvents: false
limits:
  clusterTimeoutMs: 3000
  deliveryBudgetMs: 4000
`;

let prod: KubeApiTestServer;
let sm: SecretsManagerTestServer;
let sqs: SqsTestServer;
let queues: RetryQueues;
let handler: Handler;
/** Every wait the relay asked for, in ms. */
const sleeps: number[] = [];

beforeAll(async () => {
  [prod, sm, sqs] = await Promise.all([
    KubeApiTestServer.start(),
    SecretsManagerTestServer.start(),
    SqsTestServer.start(),
  ]);
  prod.addServiceAccount(token, relayUser, relayRules);
  sm.put('flux-relay/github', JSON.stringify({ secret: webhookSecret }));
  sm.put('flux-relay/prod-kubeconfig', prod.kubeconfig(token));
  useSecretsManager(sm);
  queues = createRetryQueues(sqs);
  useSqs(sqs, queues);
  handler = loadRelayHandlerMocking(config, () => {
    jest.doMock('../../lib/time/abort', () => ({
      ...jest.requireActual<typeof import('../../lib/time/abort')>('../../lib/time/abort'),
      sleep: async (ms: number, signal: AbortSignal) => {
        if (signal.aborted) throw signal.reason;
        sleeps.push(ms);
      },
    }));
  });
});

afterAll(async () => {
  for (const key of [
    'AWS_ENDPOINT_URL_SQS',
    'RELAY_RETRY_QUEUE_URL',
    'RELAY_RETRY_DLQ_URL',
    'RELAY_RETRY_MAX_RECEIVE_COUNT',
  ])
    delete process.env[key];
  await Promise.all([prod.close(), sm.close(), sqs.close()]);
});

beforeEach(() => {
  prod.remove('source.toolkit.fluxcd.io/v1', 'GitRepository', 'flux-system', 'hello');
  prod.put(gitRepository('flux-system', 'hello', 'https://github.com/Codertocat/Hello-World', { branch: 'master' }));
  prod.fault(undefined);
  prod.clearRequests();
  queues = createRetryQueues(sqs);
  sleeps.length = 0;
});

async function deliver(fault: Fault) {
  prod.fault({ match: (r) => r.method === 'PATCH', status: 429, ...fault });
  const result = await handler(
    apiGatewayEvent({
      receiver: 'github',
      body,
      headers: {
        'content-type': 'application/json',
        'x-github-event': 'push',
        'x-hub-signature-256': signGitHub(webhookSecret, body),
      },
    }),
  );
  return { status: result.statusCode, answer: JSON.parse(result.body as string) as Record<string, unknown> };
}

test("APF's 429 with Retry-After: 1 inside the budget: one wait of 1 s, one more request, patched (200)", async () => {
  const { status, answer } = await deliver({ apf: true, retryAfterSeconds: 1, times: 1 });
  expect(status).toBe(200);
  expect(answer).toMatchObject({ outcome: 'patched', patched: ['prod/flux-system/GitRepository/hello'], failed: [] });
  expect(patchRequests(prod).map((r) => r.status)).toEqual([429, 200]);
  expect(sleeps).toEqual([1000]);
  expect(requestedAt(prod, 'flux-system', 'hello')).toBe(answer.requestedAt);
  expect(sqs.messages(queues.queue.name)).toEqual([]);
});

test('the Status form of a 429 (details.retryAfterSeconds, Retry-After) is honoured the same way', async () => {
  const { status } = await deliver({ retryAfterSeconds: 1, times: 1 });
  expect(status).toBe(200);
  expect(patchRequests(prod).map((r) => r.status)).toEqual([429, 200]);
  expect(sleeps).toEqual([1000]);
});

test('Retry-After longer than what is left of the cluster timeout: queued (202) at once, no second request, no wait', async () => {
  const { status, answer } = await deliver({ apf: true, retryAfterSeconds: 10 });
  expect(status).toBe(202);
  expect(answer).toMatchObject({ outcome: 'queued', queued: ['prod/flux-system/GitRepository/hello'], failed: [] });
  expect(patchRequests(prod)).toHaveLength(1);
  expect(sleeps).toEqual([]);
  expect(sqs.messages(queues.queue.name)).toHaveLength(1);
});

test('a storm of 429s: a bounded number of requests (the first and two retries), each after the wait asked for, then queued', async () => {
  const { status } = await deliver({ apf: true, retryAfterSeconds: 1 });
  expect(status).toBe(202);
  expect(patchRequests(prod).map((r) => r.status)).toEqual([429, 429, 429]);
  expect(sleeps).toEqual([1000, 1000]);
  expect(sqs.messages(queues.queue.name)).toHaveLength(1);
});
