/**
 * Cluster faults end to end: the real relay handler (functions/relay.ts, with RELAY_RETRY_QUEUE_URL and
 * AWS_ENDPOINT_URL_SQS) answers a GitHub push for two clusters while one of them is down, slow, failing or rejecting
 * its token; then the real retry function (functions/retry.ts), fed by a stand-in for Lambda's SQS event source,
 * works the queue off through the real SQS client. Clusters are loopback Kubernetes API servers over HTTPS, secrets
 * come from the loopback Secrets Manager, the queue is the loopback SQS server (virtual time: backoffs of minutes
 * cost nothing).
 */
import { SQSClient } from '@aws-sdk/client-sqs';
import { createServer, connect, type Server, type Socket } from 'node:net';
import type { AddressInfo } from 'node:net';
import { systemClock } from '../../lib/time/clock';
import { KubeApiTestServer } from '../support/kube-api-server';
import { SecretsManagerTestServer } from '../support/secrets-manager-server';
import { recordFigure } from '../support/figures';
import { SqsTestServer } from '../support/sqs-server';
import {
  apiGatewayEvent,
  captureOutput,
  deliveryLines,
  githubBranchPush,
  gitRepository,
  type Handler,
  logLines,
  patchRequests,
  relayRules,
  relayUser,
  requestedAt,
  signGitHub,
  useSecretsManager,
} from '../support/relay-harness';
import { SqsEventSource, type DrainReport } from '../retry/event-source';
import {
  createRetryQueues,
  loadRelayHandlerWithClock,
  loadRetryHandler,
  maxReceiveCount,
  useSqs,
  type RetryQueues,
} from '../retry/support';

const push = githubBranchPush;
const body = JSON.stringify(push);
const hello = 'https://github.com/Codertocat/Hello-World';
const webhookSecret = 'gh-webhook-s3cret-value';
const prodToken = 'prod-sa-token-0123456789abcdef';
const stagingToken = 'staging-sa-token-fedcba9876543210';
const prodTarget = 'prod/flux-system/GitRepository/hello';
const stagingTarget = 'staging/flux-system/GitRepository/hello';
const clusterTimeoutMs = 1000;
const deliveryBudgetMs = 3000;

const config = `
clusters:
  prod:
    kubeconfig: aws-sm:flux-relay/prod-kubeconfig
  staging:
    kubeconfig: aws-sm:flux-relay/staging-kubeconfig
receivers:
  github:
    provider: github
    secret: aws-sm:flux-relay/github#secret
limits:
  clusterTimeoutMs: ${clusterTimeoutMs}
  deliveryBudgetMs: ${deliveryBudgetMs}
`;

/** A TCP forwarder in front of prod's API server, so "cluster down" (connection refused) can be switched on and off. */
class TcpProxy {
  private server: Server | undefined;
  private readonly sockets = new Set<Socket>();
  private constructor(
    readonly port: number,
    private readonly targetPort: number,
  ) {}

  static async start(targetPort: number): Promise<TcpProxy> {
    const probe = createServer();
    await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
    const port = (probe.address() as AddressInfo).port;
    await new Promise<void>((resolve) => probe.close(() => resolve()));
    const proxy = new TcpProxy(port, targetPort);
    await proxy.up();
    return proxy;
  }

  async up(): Promise<void> {
    const server = createServer((client) => {
      const upstream = connect(this.targetPort, '127.0.0.1');
      for (const s of [client, upstream]) {
        this.sockets.add(s);
        s.on('close', () => this.sockets.delete(s));
        s.on('error', () => undefined);
      }
      client.pipe(upstream).pipe(client);
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(this.port, '127.0.0.1', () => resolve());
    });
    this.server = server;
  }

  /** Stops listening and cuts every connection: new connections are refused (ECONNREFUSED). */
  async down(): Promise<void> {
    const server = this.server;
    this.server = undefined;
    for (const s of this.sockets) s.destroy();
    if (server) await new Promise<void>((resolve) => server.close(() => resolve()));
  }
}

let prod: KubeApiTestServer;
let staging: KubeApiTestServer;
let proxy: TcpProxy;
let sm: SecretsManagerTestServer;
let sqs: SqsTestServer;
let queues: RetryQueues;
let relay: Handler;
let eventSource: SqsEventSource;
let sqsClient: SQSClient;
/** The relay's injected clock: every reading it takes goes through here. */
const relayClock = () => systemClock();

/** prod's kubeconfig, pointing at the proxy instead of the server itself (same CA, same 127.0.0.1 certificate). */
const prodKubeconfig = (token: string) => prod.kubeconfig(token).replace(prod.url, `https://127.0.0.1:${proxy.port}`);

beforeAll(async () => {
  [prod, staging, sm, sqs] = await Promise.all([
    KubeApiTestServer.start(),
    KubeApiTestServer.start(),
    SecretsManagerTestServer.start(),
    SqsTestServer.start(),
  ]);
  proxy = await TcpProxy.start(Number(new URL(prod.url).port));
  prod.addServiceAccount(prodToken, relayUser, relayRules);
  staging.addServiceAccount(stagingToken, relayUser, relayRules);
  sm.put('flux-relay/github', JSON.stringify({ secret: webhookSecret }));
  sm.put('flux-relay/prod-kubeconfig', prodKubeconfig(prodToken));
  sm.put('flux-relay/staging-kubeconfig', staging.kubeconfig(stagingToken));
  useSecretsManager(sm);
  queues = createRetryQueues(sqs);
  useSqs(sqs, queues);
  relay = loadRelayHandlerWithClock(config, relayClock);
  const retry = loadRetryHandler(config);
  sqsClient = new SQSClient({ maxAttempts: 1 });
  eventSource = new SqsEventSource({
    server: sqs,
    client: sqsClient,
    queueName: queues.queue.name,
    queueUrl: queues.queue.url,
    queueArn: queues.queue.arn,
    handler: retry,
  });
});

afterAll(async () => {
  sqsClient.destroy();
  await proxy.down();
  await Promise.all([prod.close(), staging.close(), sm.close(), sqs.close()]);
});

beforeEach(async () => {
  for (const server of [prod, staging]) {
    server.remove('source.toolkit.fluxcd.io/v1', 'GitRepository', 'flux-system', 'hello');
    server.put(gitRepository('flux-system', 'hello', hello, { branch: 'master' }));
    server.clearRequests();
    server.fault(undefined);
  }
  queues = createRetryQueues(sqs); // same URLs, emptied
  sqs.calls.length = 0;
});

let deliveryCounter = 0;
async function deliver(): Promise<{ status: number; answer: Record<string, unknown>; durationMs: number }> {
  deliveryCounter += 1;
  const { result, lines } = await captureOutput(() =>
    relay(
      apiGatewayEvent({
        receiver: 'github',
        body,
        headers: {
          'Content-Type': 'application/json',
          'X-GitHub-Event': 'push',
          'X-GitHub-Delivery': `00000000-0000-4000-8000-${String(deliveryCounter).padStart(12, '0')}`,
          'X-Hub-Signature-256': signGitHub(webhookSecret, body),
        },
      }),
    ),
  );
  const [line] = deliveryLines(lines);
  return {
    status: result.statusCode!,
    answer: JSON.parse(result.body!) as Record<string, unknown>,
    durationMs: line!.duration_ms as number,
  };
}

async function drain(): Promise<{ report: DrainReport; retries: Array<Record<string, unknown>> }> {
  const { result, lines } = await captureOutput(() => eventSource.drain());
  return { report: result, retries: logLines(lines, 'retry') };
}

/** Applies `fault`, delivers, checks the 202 answer, removes the fault, works the queue off, checks prod is patched. */
async function faultThenRecover(
  name: string,
  fault: () => void | Promise<void>,
  recover: () => void | Promise<void>,
  queued: string[],
) {
  await fault();
  const delivery = await deliver();
  expect(delivery.status).toBe(202);
  // A cluster-wide failure (list) matched nothing there; a failed patch had matched its target.
  const matched = queued[0]!.includes('*') ? [stagingTarget] : [prodTarget, stagingTarget];
  expect(delivery.answer).toMatchObject({ outcome: 'queued', matched, patched: [stagingTarget], queued, failed: [] });
  // Answered inside the delivery budget by the relay's own (injected) clock, although prod never answered.
  expect(delivery.durationMs).toBeLessThan(deliveryBudgetMs);
  const requested = delivery.answer.requestedAt as string;
  expect(requestedAt(staging, 'flux-system', 'hello')).toBe(requested);
  expect(requestedAt(prod, 'flux-system', 'hello')).toBeUndefined();
  expect(sqs.messages(queues.queue.name)).toHaveLength(1);

  await recover();
  const { report, retries } = await drain();
  expect(requestedAt(prod, 'flux-system', 'hello')).toBe(requested);
  expect(sqs.messages(queues.queue.name)).toEqual([]);
  expect(sqs.messages(queues.dlq.name)).toEqual([]);
  expect(retries.at(-1)).toMatchObject({
    outcome: 'applied',
    cluster: 'prod',
    patched: [prodTarget],
    requestedAt: requested,
    delivery_id: expect.any(String),
  });
  recordFigure(`cluster fault: ${name}`, {
    status: delivery.status,
    answer_ms: delivery.durationMs,
    budget_ms: deliveryBudgetMs,
    attempts_until_applied: retries.length,
    virtual_wait_s: Math.round(report.waitedSeconds),
    dead_lettered: 0,
  });
  return { delivery, retries, report };
}

test('no failure, no queue: a healthy delivery answers 200 and never loads or calls SQS', async () => {
  const { status, answer } = await deliver();
  expect(status).toBe(200);
  expect(answer).toMatchObject({ outcome: 'patched', patched: [prodTarget, stagingTarget] });
  expect(answer.queued).toBeUndefined();
  expect(sqs.requests).toHaveLength(0);
});

test('cluster down (connection refused): 202, prod queued whole, applied once it is back', async () => {
  const { retries } = await faultThenRecover(
    'down',
    () => proxy.down(),
    () => proxy.up(),
    ['prod/*/GitRepository/*'],
  );
  expect(retries).toHaveLength(1);
});

test('cluster slower than limits.clusterTimeoutMs: 202 at the timeout, applied later', async () => {
  const { delivery } = await faultThenRecover(
    'slow',
    () => prod.fault({ delayMs: 20_000 }),
    () => prod.fault(undefined),
    ['prod/*/GitRepository/*'],
  );
  // It waited for the cluster timeout, not for the cluster.
  expect(delivery.durationMs).toBeGreaterThanOrEqual(clusterTimeoutMs);
});

test('503 on the patch: only that target is queued, applied when the API server recovers', async () => {
  const { retries } = await faultThenRecover(
    '503',
    () => prod.fault({ match: (r) => r.method === 'PATCH', status: 503 }),
    () => prod.fault(undefined),
    [prodTarget],
  );
  const sent = sqs.calls.find((c) => c.operation === 'SendMessageBatch')!.input.Entries as Array<{
    MessageBody: string;
    DelaySeconds: number;
  }>;
  expect(sent).toHaveLength(1);
  expect(sent[0]!.DelaySeconds).toBe(5);
  const job: unknown = JSON.parse(sent[0]!.MessageBody);
  expect(job).toMatchObject({ receiver: 'github', cluster: 'prod', only: [prodTarget] });
  expect(retries).toHaveLength(1);
});

test('connection reset on the patch: queued, applied after two more resets', async () => {
  const { retries } = await faultThenRecover(
    'reset',
    () => prod.fault({ match: (r) => r.method === 'PATCH', destroy: true, times: 3 }),
    () => undefined, // the fault clears itself after the relay's try and two retries
    [prodTarget],
  );
  expect(retries.map((r) => [r.attempt, r.outcome])).toEqual([
    [1, 'retried'],
    [2, 'retried'],
    [3, 'applied'],
  ]);
  // Backoff with jitter: within [step/2, step] of 30 s doubling.
  expect(retries[0]!.next_attempt_in_s).toBeGreaterThanOrEqual(15);
  expect(retries[0]!.next_attempt_in_s).toBeLessThanOrEqual(30);
  expect(retries[1]!.next_attempt_in_s).toBeGreaterThanOrEqual(30);
  expect(retries[1]!.next_attempt_in_s).toBeLessThanOrEqual(60);
});

test('a fault that outlasts maxReceiveCount: 8 attempts with growing backoff, then the job is in the DLQ as the relay sent it', async () => {
  prod.fault({ match: (r) => r.method === 'PATCH', status: 503 });
  const delivery = await deliver();
  expect(delivery).toMatchObject({ status: 202, answer: { queued: [prodTarget] } });
  const sent = sqs.messages(queues.queue.name)[0]!;
  const { report, retries } = await drain();
  expect(report.deliveries.map((d) => d.receiveCount)).toEqual([1, 2, 3, 4, 5, 6, 7, 8]);
  expect(retries.map((r) => r.outcome)).toEqual([...Array(7).fill('retried'), 'dead_letter']);
  expect(retries.at(-1)).toMatchObject({
    exhausted: true,
    attempt: maxReceiveCount,
    reason: expect.stringContaining('HTTP 503'),
  });
  const waits = retries.slice(0, -1).map((r) => r.next_attempt_in_s as number);
  waits.forEach((w, i) => {
    const step = Math.min(900, 30 * 2 ** i);
    expect(w).toBeGreaterThanOrEqual(step / 2);
    expect(w).toBeLessThanOrEqual(step);
  });
  const dead = sqs.messages(queues.dlq.name);
  expect(dead).toEqual([
    expect.objectContaining({ messageId: sent.messageId, body: sent.body, deadLetterSourceArn: queues.queue.arn }),
  ]);
  expect(JSON.parse(dead[0]!.body)).toMatchObject({
    cluster: 'prod',
    only: [prodTarget],
    requestedAt: delivery.answer.requestedAt,
  });
  expect(requestedAt(prod, 'flux-system', 'hello')).toBeUndefined();
  expect(patchRequests(prod).filter((r) => r.path.includes('gitrepositories'))).toHaveLength(1 + maxReceiveCount);
  recordFigure('cluster fault: 503 past maxReceiveCount', {
    status: delivery.status,
    answer_ms: delivery.durationMs,
    budget_ms: deliveryBudgetMs,
    attempts: retries.length,
    virtual_wait_s: Math.round(report.waitedSeconds),
    dead_lettered: dead.length,
  });
});

test('403 (RBAC) is not queued: 502 naming the target, nothing sent to SQS', async () => {
  prod.fault({ match: (r) => r.method === 'PATCH', status: 403 });
  const { status, answer } = await deliver();
  expect(status).toBe(502);
  expect(answer).toMatchObject({
    outcome: 'failed',
    patched: [stagingTarget],
    failed: [{ target: prodTarget, error: expect.stringContaining('403') }],
  });
  expect(answer.queued).toBeUndefined();
  expect(sqs.calls.filter((c) => c.operation === 'SendMessageBatch')).toHaveLength(0);
  expect(sqs.messages(queues.queue.name)).toEqual([]);
  recordFigure('cluster fault: 403 (RBAC)', { status, queued: 0 });
});

test('401 after token rotation: queued, and the next delivery succeeds with the rotated kubeconfig', async () => {
  // Warm: the relay holds a client built from the current kubeconfig.
  expect((await deliver()).status).toBe(200);
  // Rotate: a new token in Secrets Manager, the old one revoked on the API server.
  const rotatedToken = 'prod-sa-token-rotated-99999999';
  const oldUser = relayUser;
  const newUser = `${relayUser}-rotated`;
  prod.addServiceAccount(rotatedToken, newUser, relayRules);
  sm.put('flux-relay/prod-kubeconfig', prodKubeconfig(rotatedToken));
  prod.fault({ match: (r) => r.user === oldUser, status: 401 });
  prod.clearRequests();

  const rejected = await deliver();
  expect(rejected.status).toBe(202);
  expect(rejected.answer).toMatchObject({
    outcome: 'queued',
    patched: [stagingTarget],
    queued: ['prod/*/GitRepository/*'],
  });
  // ClusterRegistry.reportFailure dropped the client and SecretStore.invalidate the cached kubeconfig: the next
  // delivery reads the rotated one without waiting for the cache TTL.
  const next = await deliver();
  expect(next.status).toBe(200);
  expect(next.answer).toMatchObject({ outcome: 'patched', patched: [prodTarget, stagingTarget] });
  expect(prod.requests.filter((r) => r.user === newUser && r.method === 'PATCH')).toHaveLength(1);

  // The queued job is applied too (with its own, earlier requestedAt: the retry writes what the delivery asked for).
  const { retries } = await drain();
  expect(retries.at(-1)).toMatchObject({
    outcome: 'applied',
    cluster: 'prod',
    requestedAt: rejected.answer.requestedAt,
  });
  expect(sqs.messages(queues.dlq.name)).toEqual([]);
  recordFigure('cluster fault: 401 after rotation', {
    status: rejected.status,
    answer_ms: rejected.durationMs,
    budget_ms: deliveryBudgetMs,
    next_delivery_status: next.status,
    attempts_until_applied: retries.length,
  });
});
