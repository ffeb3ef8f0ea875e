/**
 * `answers: detailed | counts` end to end: the real relay handler with the loopback cluster, Secrets Manager and SQS.
 * A provider keeps every answer in its delivery history, readable by every admin of the repository: in `counts` mode
 * no answer (200, 202, 502 or a rejection) names a cluster, namespace, object or a cluster's error text, while the
 * log line keeps every detail.
 */
import { KubeApiTestServer } from '../support/kube-api-server';
import { SecretsManagerTestServer } from '../support/secrets-manager-server';
import { SqsTestServer } from '../support/sqs-server';
import {
  apiGatewayEvent,
  captureOutput,
  deliveryLines,
  githubBranchPush,
  gitRepository,
  type Handler,
  loadRelayHandler,
  relayRules,
  relayUser,
  signGitHub,
  useSecretsManager,
} from '../support/relay-harness';
import { createRetryQueues, useSqs } from '../retry/support';

const webhookSecret = 'gh-webhook-s3cret-value';
const token = 'prod-sa-token-0123456789abcdef';
const body = JSON.stringify(githubBranchPush);
/** Everything internal an answer could give away: the cluster, namespace, object, secret names and API server text. */
const internal =
  /prod|flux-system|hello|GitRepository|flux-relay|kubeconfig|forbidden|Forbidden|ServiceUnavailable|unable to handle/;

// The top-level default is `counts`; `github-detailed` keeps today's answers, `github-broken` has no kubeconfig.
const config = `
answers: counts
clusters:
  prod:
    kubeconfig: aws-sm:flux-relay/prod-kubeconfig
  lost:
    kubeconfig: aws-sm:flux-relay/missing-kubeconfig
receivers:
  github:
    provider: github
    secret: aws-sm:flux-relay/github#secret
    clusters: [prod]
  github-detailed:
    provider: github
    secret: aws-sm:flux-relay/github#secret
    clusters: [prod]
    answers: detailed
  github-broken:
    provider: github
    secret: aws-sm:flux-relay/github#secret
    clusters: [lost]
limits:
  clusterTimeoutMs: 1000
  deliveryBudgetMs: 3000
`;

let prod: KubeApiTestServer;
let sm: SecretsManagerTestServer;
let sqs: SqsTestServer;
let handler: Handler;

beforeAll(async () => {
  [prod, sm, sqs] = await Promise.all([
    KubeApiTestServer.start(),
    SecretsManagerTestServer.start(),
    SqsTestServer.start(),
  ]);
  prod.addServiceAccount(token, relayUser, relayRules);
  prod.put(gitRepository('flux-system', 'hello', 'https://github.com/Codertocat/Hello-World', { branch: 'master' }));
  sm.put('flux-relay/github', JSON.stringify({ secret: webhookSecret }));
  sm.put('flux-relay/prod-kubeconfig', prod.kubeconfig(token));
  useSecretsManager(sm);
  useSqs(sqs, createRetryQueues(sqs));
  handler = loadRelayHandler(config);
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
  prod.fault(undefined);
});

async function deliver(receiver: string, signature = signGitHub(webhookSecret, body)) {
  const { result, lines } = await captureOutput(() =>
    handler(
      apiGatewayEvent({
        receiver,
        body,
        headers: {
          'content-type': 'application/json',
          'x-github-event': 'push',
          'x-github-delivery': 'd-1',
          'x-hub-signature-256': signature,
        },
      }),
    ),
  );
  const [line] = deliveryLines(lines);
  return {
    status: result.statusCode,
    text: result.body as string,
    answer: JSON.parse(result.body as string) as Record<string, unknown>,
    line: line!,
  };
}

test('200 patched: counts only, the log line still names the target', async () => {
  const { status, text, answer, line } = await deliver('github');
  expect(status).toBe(200);
  expect(answer).toEqual({
    delivery: 'd-1',
    outcome: 'patched',
    event: 'push',
    requestedAt: expect.any(String),
    matched: 1,
    patched: 1,
    queued: 0,
    failed: 0,
  });
  expect(text).not.toMatch(internal);
  expect(line).toMatchObject({ outcome: 'patched', patched: ['prod/flux-system/GitRepository/hello'] });
});

test('the same delivery to a receiver with answers: detailed names what it patched, as before', async () => {
  const { status, answer } = await deliver('github-detailed');
  expect(status).toBe(200);
  expect(answer).toMatchObject({
    outcome: 'patched',
    repository: 'Codertocat/Hello-World',
    matched: ['prod/flux-system/GitRepository/hello'],
    patched: ['prod/flux-system/GitRepository/hello'],
    failed: [],
  });
});

test('202 queued: counts and a generic reason, no target', async () => {
  prod.fault({ match: (r) => r.method === 'PATCH', status: 503 });
  const { status, text, answer, line } = await deliver('github');
  expect(status).toBe(202);
  expect(answer).toEqual({
    delivery: 'd-1',
    outcome: 'queued',
    event: 'push',
    requestedAt: expect.any(String),
    matched: 1,
    patched: 0,
    queued: 1,
    failed: 0,
    reason: '1 target is queued for retry',
  });
  expect(text).not.toMatch(internal);
  expect(line).toMatchObject({ outcome: 'queued', queued: ['prod/flux-system/GitRepository/hello'] });
});

test('502 failed (403 from the API server): counts and a generic reason, no target and no API server text', async () => {
  prod.fault({ match: (r) => r.method === 'PATCH', status: 403 });
  const { status, text, answer, line } = await deliver('github');
  expect(status).toBe(502);
  expect(answer).toEqual({
    delivery: 'd-1',
    outcome: 'failed',
    event: 'push',
    requestedAt: expect.any(String),
    matched: 1,
    patched: 0,
    queued: 0,
    failed: 1,
    reason: '1 target could not be patched; the relay log has the details',
  });
  expect(text).not.toMatch(internal);
  expect(line).toMatchObject({
    outcome: 'failed',
    failed: [{ target: 'prod/flux-system/GitRepository/hello', error: expect.stringContaining('403') }],
  });
  // The detailed receiver says which target and why.
  prod.fault({ match: (r) => r.method === 'PATCH', status: 403 });
  expect((await deliver('github-detailed')).answer).toMatchObject({
    failed: [{ target: 'prod/flux-system/GitRepository/hello', error: expect.stringContaining('HTTP 403') }],
  });
});

test('202 for a cluster whose kubeconfig cannot be read: neither the cluster nor the secret is named', async () => {
  const { status, text, answer, line } = await deliver('github-broken');
  expect(status).toBe(202);
  expect(answer).toMatchObject({ outcome: 'queued', queued: 1, reason: '1 target is queued for retry' });
  expect(text).not.toMatch(internal);
  expect(text).not.toMatch(/lost/);
  expect(line).toMatchObject({ queued: ['lost/*'] });
});

test.each([
  ['a bad signature', 'github', 'sha256=' + '0'.repeat(64), 401, 'bad_signature'],
  ['an unknown receiver', 'prod-flux-system-hello', undefined, 404, 'unknown_receiver'],
])(
  'rejected (%s): a fixed message per reason, which echoes nothing',
  async (_what, receiver, signature, statusCode, reason) => {
    const { status, text, answer, line } = await deliver(receiver, signature);
    expect(status).toBe(statusCode);
    // The delivery id is only read once the receiver is known.
    expect(answer).toEqual({
      ...(reason === 'unknown_receiver' ? {} : { delivery: 'd-1' }),
      outcome: 'rejected',
      reason,
      message: expect.any(String),
    });
    expect(text).not.toMatch(internal);
    expect(line).toMatchObject({ outcome: 'rejected', reason: expect.stringContaining(reason) });
  },
);

test('rejected on a detailed receiver: the message says what was wrong, as before', async () => {
  const { answer } = await deliver('github-detailed', 'sha256=' + '0'.repeat(64));
  expect(answer).toMatchObject({
    outcome: 'rejected',
    reason: 'bad_signature',
    message: 'the delivery does not verify against the receiver secret',
  });
});
