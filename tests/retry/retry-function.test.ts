/**
 * functions/retry.ts through a stand-in for Lambda's SQS event source and the real SQS client: what happens to a
 * record that is not a job, a job whose receiver is gone, a job that partly succeeds (narrowed, never re-patched) and a
 * job that partly fails for good (dead-lettered at once, the rest retried).
 */
import { SendMessageBatchCommand, SQSClient } from '@aws-sdk/client-sqs';
import type { ClusterJob } from '../../lib/delivery/reconcile';
import { KubeApiTestServer } from '../support/kube-api-server';
import { SecretsManagerTestServer } from '../support/secrets-manager-server';
import { SqsTestServer } from '../support/sqs-server';
import {
  captureOutput,
  gitRepository,
  logLines,
  relayRules,
  relayUser,
  requestedAt,
  useSecretsManager,
} from '../support/relay-harness';
import { SqsEventSource } from './event-source';
import { createRetryQueues, loadRetryHandler, useSqs, type RetryQueues } from './support';

const token = 'prod-sa-token-0123456789abcdef';
const config = `
clusters:
  prod:
    kubeconfig: aws-sm:flux-relay/prod-kubeconfig
receivers:
  github:
    provider: github
    secret: aws-sm:flux-relay/github#secret
limits:
  clusterTimeoutMs: 1000
  deliveryBudgetMs: 3000
`;
const a = 'prod/flux-system/GitRepository/a';
const b = 'prod/flux-system/GitRepository/b';
const c = 'prod/locked/GitRepository/c';
const job = (extra: Partial<ClusterJob> = {}): ClusterJob => ({
  receiver: 'github',
  cluster: 'prod',
  requestedAt: '2026-11-24T21:23:35.801713755Z',
  note: 'Reconcile requested by flux-webhook-relay: github push (delivery d-1)',
  push: { keys: ['github.com/codertocat/hello-world'], refs: ['refs/heads/master'] },
  deliveryId: 'd-1',
  ...extra,
});

let prod: KubeApiTestServer;
let sm: SecretsManagerTestServer;
let sqs: SqsTestServer;
let queues: RetryQueues;
let client: SQSClient;
let source: SqsEventSource;

beforeAll(async () => {
  [prod, sm, sqs] = await Promise.all([
    KubeApiTestServer.start(),
    SecretsManagerTestServer.start(),
    SqsTestServer.start(),
  ]);
  // As the relay's RBAC, except that namespace `locked` allows no patch (the namespaced-Role setup without a Role there).
  prod.addServiceAccount(token, relayUser, [
    ...relayRules.map((r) => (r.verbs.includes('patch') ? { ...r, verbs: ['get', 'list'] } : r)),
    { ...relayRules[0]!, verbs: ['patch'], namespaces: ['flux-system'] },
  ]);
  sm.put('flux-relay/prod-kubeconfig', prod.kubeconfig(token));
  useSecretsManager(sm);
  queues = createRetryQueues(sqs);
  useSqs(sqs, queues);
  client = new SQSClient({ maxAttempts: 1 });
  source = new SqsEventSource({
    server: sqs,
    client,
    queueName: queues.queue.name,
    queueUrl: queues.queue.url,
    queueArn: queues.queue.arn,
    handler: loadRetryHandler(config),
  });
});

afterAll(async () => {
  client.destroy();
  await Promise.all([prod.close(), sm.close(), sqs.close()]);
});

beforeEach(() => {
  for (const name of ['a', 'b']) {
    prod.remove('source.toolkit.fluxcd.io/v1', 'GitRepository', 'flux-system', name);
    prod.put(gitRepository('flux-system', name, 'https://github.com/Codertocat/Hello-World', { branch: 'master' }));
  }
  prod.clearRequests();
  prod.fault(undefined);
  queues = createRetryQueues(sqs);
});

async function send(bodies: string[]): Promise<void> {
  await client.send(
    new SendMessageBatchCommand({
      QueueUrl: queues.queue.url,
      Entries: bodies.map((b, i) => ({ Id: `m${i}`, MessageBody: b })),
    }),
  );
}

async function drain() {
  const { result, lines } = await captureOutput(() => source.drain());
  const metrics = lines.map((l) => JSON.parse(l) as Record<string, unknown>).filter((l) => l._aws !== undefined);
  return { report: result, retries: logLines(lines, 'retry'), metrics };
}

const patchesOf = (name: string) =>
  prod.requests.filter((r) => r.method === 'PATCH' && r.path.endsWith(`/gitrepositories/${name}`));

test('a batch with messages that are not jobs: those go to the DLQ with the reason, the good one is applied, the batch does not fail', async () => {
  await send([
    'not json',
    JSON.stringify({ receiver: 'github', cluster: 'prod' }),
    JSON.stringify(job({ receiver: 'gone' })),
    JSON.stringify(job({ only: [a] })),
  ]);
  const { report, retries, metrics } = await drain();
  expect(report.invocations).toBe(1);
  expect(requestedAt(prod, 'flux-system', 'a')).toBe(job().requestedAt);
  expect(requestedAt(prod, 'flux-system', 'b')).toBeUndefined();
  expect(sqs.messages(queues.queue.name)).toEqual([]);
  const dead = sqs.messages(queues.dlq.name);
  // Records run in parallel: the DLQ's order is theirs to finish.
  expect(
    dead.map((m) => [m.body, m.messageAttributes.reason?.StringValue]).sort(([x], [y]) => x!.localeCompare(y!)),
  ).toEqual([
    [
      JSON.stringify({ receiver: 'github', cluster: 'prod' }),
      'not a cluster job: requestedAt: Invalid input: expected string, received undefined; note: Invalid input: expected string, received undefined',
    ],
    [JSON.stringify(job({ receiver: 'gone' })), 'receiver gone is no longer configured'],
    ['not json', 'not a cluster job: the body is not JSON'],
  ]);
  expect(retries.map((r) => r.outcome).sort()).toEqual(['applied', 'dead_letter', 'dead_letter', 'dead_letter']);
  expect(retries.find((r) => r.outcome === 'applied')).toMatchObject({
    delivery_id: 'd-1',
    receiver: 'github',
    cluster: 'prod',
    attempt: 1,
    max_attempts: 8,
    patched: [a],
    failed: [],
  });
  // One EMF document for the batch.
  expect(metrics).toHaveLength(1);
  expect(metrics[0]).toMatchObject({
    service: 'flux-webhook-relay-retry',
    RetryAttempts: 4,
    RetryApplied: 1,
    RetryExhausted: 0,
    RetryDeadLettered: 3,
  });
});

test('a registry push job (artifacts) is read back whole and routes on the cluster: the OCIRepository of the pushed tag is patched', async () => {
  prod.put({
    apiVersion: 'source.toolkit.fluxcd.io/v1',
    kind: 'OCIRepository',
    metadata: { name: 'app', namespace: 'flux-system' },
    spec: { interval: '5m', url: 'oci://ghcr.io/org/app', ref: { tag: 'v1' } },
  });
  const { push: _git, ...rest } = job();
  await send([
    JSON.stringify({ ...rest, artifacts: [{ key: 'ghcr.io/org/app', tag: 'v1', digest: `sha256:${'b'.repeat(64)}` }] }),
  ]);
  const { retries } = await drain();
  expect(retries.map((r) => [r.outcome, r.patched])).toEqual([['applied', ['prod/flux-system/OCIRepository/app']]]);
  expect(requestedAt(prod, 'flux-system', 'app', 'OCIRepository')).toBe(job().requestedAt);
  expect(requestedAt(prod, 'flux-system', 'a')).toBeUndefined();
  prod.remove('source.toolkit.fluxcd.io/v1', 'OCIRepository', 'flux-system', 'app');
});

test('partly applied: a copy narrowed to what failed comes back with the attempt count; what was patched is not patched again', async () => {
  prod.fault({ match: (r) => r.method === 'PATCH' && r.path.endsWith('/gitrepositories/b'), status: 503, times: 1 });
  await send([JSON.stringify(job({ only: [a, b] }))]);
  const { report, retries } = await drain();
  expect(retries.map((r) => [r.attempt, r.outcome, r.patched])).toEqual([
    [1, 'retried', [a]],
    [2, 'applied', [b]],
  ]);
  // The second delivery is a new message (the narrowed copy), received for the first time, carrying one prior attempt.
  expect(report.deliveries).toHaveLength(2);
  expect(report.deliveries[1]!.messageId).not.toBe(report.deliveries[0]!.messageId);
  expect(report.deliveries[1]!.receiveCount).toBe(1);
  expect(JSON.parse(report.deliveries[1]!.body)).toEqual(job({ only: [b] }));
  expect(retries[0]!.next_attempt_in_s).toBeGreaterThanOrEqual(15);
  expect(report.waitedSeconds).toBeGreaterThanOrEqual(retries[0]!.next_attempt_in_s as number);
  expect(patchesOf('a')).toHaveLength(1);
  expect(patchesOf('b')).toHaveLength(2);
  expect(sqs.messages(queues.dlq.name)).toEqual([]);
});

test('part fails for good (403), part for a passing reason (503): the 403 is dead-lettered at once, the rest retried', async () => {
  // c lives in a namespace where the service account may list but not patch (RBAC), b gets one 503.
  prod.put(gitRepository('locked', 'c', 'https://github.com/Codertocat/Hello-World', { branch: 'master' }));
  prod.fault({ match: (r) => r.method === 'PATCH' && r.path.endsWith('/gitrepositories/b'), status: 503, times: 1 });
  await send([JSON.stringify(job({ only: [b, c] }))]);
  const { retries } = await drain();
  expect(retries.map((r) => [r.attempt, r.outcome])).toEqual([
    [1, 'retried'],
    [2, 'applied'],
  ]);
  expect(retries[0]!.failed).toEqual([
    { target: b, error: expect.stringContaining('503') },
    { target: c, error: expect.stringContaining('403') },
  ]);
  const dead = sqs.messages(queues.dlq.name);
  expect(dead).toHaveLength(1);
  expect(JSON.parse(dead[0]!.body)).toEqual(job({ only: [c] }));
  expect(dead[0]!.messageAttributes).toEqual({
    reason: {
      DataType: 'String',
      StringValue: expect.stringMatching(/^failed for good: prod\/locked\/GitRepository\/c: .*403/),
    },
    attempts: { DataType: 'String', StringValue: '1' },
  });
  expect(requestedAt(prod, 'flux-system', 'b')).toBe(job().requestedAt);
  expect(requestedAt(prod, 'locked', 'c')).toBeUndefined();
  expect(sqs.messages(queues.queue.name)).toEqual([]);
});

test('a retry leaves a later requestedAt alone (a newer delivery got there first) and writes over an earlier one', async () => {
  const later = '2026-11-24T21:23:35.9Z';
  const earlier = '2026-11-24T21:00:00Z';
  for (const [name, value] of [
    ['a', later],
    ['b', earlier],
  ] as const) {
    const obj = gitRepository('flux-system', name, 'https://github.com/Codertocat/Hello-World', { branch: 'master' });
    obj.metadata.annotations = { 'reconcile.fluxcd.io/requestedAt': value };
    prod.put(obj);
  }
  prod.clearRequests();
  await send([JSON.stringify(job({ only: [a, b] }))]);
  const { retries } = await drain();
  expect(retries.map((r) => [r.outcome, r.patched])).toEqual([['applied', [a, b]]]);
  expect(requestedAt(prod, 'flux-system', 'a')).toBe(later);
  expect(requestedAt(prod, 'flux-system', 'b')).toBe(job().requestedAt);
  expect(patchesOf('a')).toHaveLength(0);
  expect(patchesOf('b')).toHaveLength(1);
});

test('a retry log line whose cluster error echoes a registered secret (the service-account token) is redacted', async () => {
  // An API server (or a proxy before it) that quotes the credential it was given in its error.
  prod.fault({
    match: (r) => r.method === 'PATCH' && r.path.endsWith('/gitrepositories/b'),
    status: 503,
    times: 1,
    message: `upstream refused credential ${token}`,
  });
  await send([JSON.stringify(job({ only: [b] }))]);
  const { retries } = await drain();
  expect(retries.map((r) => r.outcome)).toEqual(['retried', 'applied']);
  expect(retries[0]!.failed).toEqual([
    { target: b, error: expect.stringContaining('upstream refused credential [REDACTED]') },
  ]);
  expect(JSON.stringify(retries)).not.toContain(token);
  expect(JSON.stringify(retries[0]!.failed)).toContain('[REDACTED]');
});

test('a job whose requestedAt is further in the future than the clock skew allows is dead-lettered with the reason, and nothing is patched', async () => {
  // Written by a forged message, it would make every later retry take the object as already done (keepLaterRequests).
  const future = new Date(Date.now() + 3600_000).toISOString();
  const nearFuture = new Date(Date.now() + 60_000).toISOString();
  prod.clearRequests();
  await send([
    JSON.stringify(job({ requestedAt: future, only: [a] })),
    JSON.stringify(job({ requestedAt: nearFuture, only: [b] })),
  ]);
  const { retries } = await drain();
  expect(retries.map((r) => r.outcome).sort()).toEqual(['applied', 'dead_letter']);
  const dead = sqs.messages(queues.dlq.name);
  expect(dead.map((m) => [JSON.parse(m.body).requestedAt, m.messageAttributes.reason?.StringValue])).toEqual([
    [
      future,
      expect.stringMatching(
        /^not a cluster job: requestedAt is \d+ s in the future; at most 300 s of clock skew is allowed$/,
      ),
    ],
  ]);
  // Within the skew: a relay whose clock runs a little ahead of this one's.
  expect(requestedAt(prod, 'flux-system', 'b')).toBe(nearFuture);
  expect(requestedAt(prod, 'flux-system', 'a')).toBeUndefined();
  expect(patchesOf('a')).toHaveLength(0);
});

test.each([
  [
    'a target of a kind that is not Flux',
    { only: ['prod/flux-system/Secret/a'] },
    /^not a cluster job: only\[0\]: .*Flux kind/,
  ],
  [
    'a target on another cluster',
    { only: ['staging/flux-system/GitRepository/a'] },
    /^not a cluster job: only\[0\]: .*cluster prod/,
  ],
  [
    'a target whose name is not a Kubernetes name',
    { only: ['prod/flux-system/GitRepository/A_B'] },
    /^not a cluster job: only\[0\]: /,
  ],
  [
    'a cluster that is not configured',
    { cluster: 'elsewhere' },
    /^cluster elsewhere is no longer a cluster of receiver github$/,
  ],
  ['a receiver name that is not a name', { receiver: '../github' }, /^not a cluster job: receiver: /],
  [
    'a push without refs',
    { push: { keys: ['github.com/codertocat/hello-world'], refs: [] } },
    /^not a cluster job: push\.refs: /,
  ],
  [
    'a ref that is not a ref',
    { push: { keys: ['github.com/codertocat/hello-world'], refs: ['master'] } },
    /^not a cluster job: push\.refs\[0\]: /,
  ],
  [
    'an artifact whose tag is not an OCI tag',
    { push: undefined, artifacts: [{ key: 'ghcr.io/org/app', tag: '-x y' }] } as Partial<ClusterJob>,
    /^not a cluster job: artifacts\[0\]\.tag: /,
  ],
  [
    'an artifact whose digest is not a digest',
    { artifacts: [{ key: 'ghcr.io/org/app', digest: 'sha256:../' }] },
    /^not a cluster job: artifacts\[0\]\.digest: /,
  ],
  ['an empty artifact list', { artifacts: [] }, /^not a cluster job: artifacts: /],
  ['an unknown field', { extra: true } as Partial<ClusterJob>, /^not a cluster job: .*extra/],
])('a job with %s is dead-lettered with the reason and touches no cluster', async (_what, change, reason) => {
  prod.clearRequests();
  await send([JSON.stringify(job(change))]);
  const { retries } = await drain();
  expect(retries.map((r) => r.outcome)).toEqual(['dead_letter']);
  const dead = sqs.messages(queues.dlq.name);
  expect(dead).toHaveLength(1);
  expect(dead[0]!.messageAttributes.reason?.StringValue).toMatch(reason);
  expect(prod.requests).toEqual([]);
});
