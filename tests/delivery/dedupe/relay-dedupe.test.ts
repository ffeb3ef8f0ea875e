/**
 * Replay protection end to end: the real Lambda handler (functions/relay.ts) with the real DynamoDB client and
 * Powertools Idempotency against dynalite on loopback, the real Secrets Manager client against its loopback double,
 * and the loopback Kubernetes API server whose request log shows what was (not) applied.
 */
import { randomUUID } from 'node:crypto';
import { DynamoDbTestServer } from '../../support/dynamodb-server';
import { KubeApiTestServer } from '../../support/kube-api-server';
import { SecretsManagerTestServer } from '../../support/secrets-manager-server';
import {
  apiGatewayEvent,
  captureOutput,
  deliveryLines,
  githubBranchPush,
  gitRepository,
  type Handler,
  loadRelayHandler,
  patchRequests,
  relayRules,
  relayUser,
  requestedAt,
  signGitHub,
  useSecretsManager,
} from '../../support/relay-harness';

const branchPush = githubBranchPush;

const webhookSecret = 'gh-webhook-s3cret-value';
const token = 'prod-sa-token-0123456789abcdef';
const table = 'flux-webhook-relay-test-dedupe';
const windowSeconds = 600;

let prod: KubeApiTestServer;
let sm: SecretsManagerTestServer;
let ddb: DynamoDbTestServer;
let handler: Handler;

const config = `
clusters:
  prod:
    kubeconfig: aws-sm:flux-relay/prod-kubeconfig
receivers:
  github:
    provider: github
    secret: aws-sm:flux-relay/github#secret
    dedupe: { windowSeconds: ${windowSeconds} }
  github-mirror:
    provider: github
    secret: aws-sm:flux-relay/github#secret
    dedupe: { windowSeconds: 60 }
  github-plain:
    provider: github
    secret: aws-sm:flux-relay/github#secret
limits:
  clusterTimeoutMs: 1500
  deliveryBudgetMs: 3000
`;

beforeAll(async () => {
  [prod, sm, ddb] = await Promise.all([
    KubeApiTestServer.start(),
    SecretsManagerTestServer.start(),
    DynamoDbTestServer.start(),
  ]);
  prod.addServiceAccount(token, relayUser, relayRules);
  sm.put('flux-relay/github', JSON.stringify({ secret: webhookSecret }));
  sm.put('flux-relay/prod-kubeconfig', prod.kubeconfig(token));
  await ddb.createDedupeTable(table);
  useSecretsManager(sm);
  Object.assign(process.env, { AWS_ENDPOINT_URL_DYNAMODB: ddb.endpoint, RELAY_DEDUPE_TABLE: table });
  handler = loadRelayHandler(config);
});

afterAll(async () => {
  delete process.env.AWS_ENDPOINT_URL_DYNAMODB;
  delete process.env.RELAY_DEDUPE_TABLE;
  await Promise.all([prod.close(), sm.close(), ddb.close()]);
});

beforeEach(() => {
  for (const obj of prod.list('source.toolkit.fluxcd.io/v1', 'GitRepository'))
    prod.remove(obj.apiVersion, obj.kind, obj.metadata.namespace!, obj.metadata.name);
  prod.put(gitRepository('flux-system', 'hello', 'https://github.com/Codertocat/Hello-World', { branch: 'master' }));
  prod.clearRequests();
  prod.fault(undefined);
  ddb.fault(undefined);
  ddb.clearCalls();
});

afterEach(() => {
  jest.useRealTimers();
});

/**
 * The body of a distinct push per delivery id, as GitHub's would be (its `repository.pushed_at` differs), and the same
 * body again for the same id, as GitHub's redelivery has. Without an id every call is a distinct push.
 */
const bodies = new Map<string, string>();
let pushes = 0;
function pushBody(deliveryId?: string): string {
  const known = deliveryId === undefined ? undefined : bodies.get(deliveryId);
  if (known) return known;
  const body = JSON.stringify({
    ...branchPush,
    repository: { ...(branchPush.repository as object), pushed_at: 1_800_000_000 + ++pushes },
  });
  if (deliveryId !== undefined) bodies.set(deliveryId, body);
  return body;
}

function deliver(deliveryId: string | undefined, receiver = 'github', body = pushBody(deliveryId)) {
  return handler(
    apiGatewayEvent({
      receiver,
      body,
      headers: {
        'Content-Type': 'application/json',
        'X-GitHub-Event': 'push',
        ...(deliveryId ? { 'X-GitHub-Delivery': deliveryId } : {}),
        'X-Hub-Signature-256': signGitHub(webhookSecret, body),
      },
    }),
  );
}

function answer(result: Awaited<ReturnType<Handler>>): Record<string, unknown> {
  return JSON.parse(result.body as string) as Record<string, unknown>;
}

/** Requests the relay made to the cluster since the last `clearRequests()`: none at all for a duplicate. */
function clusterRequests(): number {
  return prod.requests.length;
}

/** Only Date is faked: Powertools reads Date.now() for every expiry; sockets, timers and hrtime stay real. */
function fakeDateOnly(): void {
  jest.useFakeTimers({
    doNotFake: [
      'hrtime',
      'nextTick',
      'performance',
      'queueMicrotask',
      'requestAnimationFrame',
      'cancelAnimationFrame',
      'requestIdleCallback',
      'cancelIdleCallback',
      'setImmediate',
      'clearImmediate',
      'setInterval',
      'clearInterval',
      'setTimeout',
      'clearTimeout',
    ],
    now: Date.now(),
  });
}

test('a delivery is applied once; the same delivery id again within the window is acknowledged with 200 duplicate and touches no cluster', async () => {
  const id = randomUUID();
  const first = await deliver(id);
  expect(first.statusCode).toBe(200);
  expect(answer(first)).toMatchObject({ outcome: 'patched', patched: ['prod/flux-system/GitRepository/hello'] });
  const stamp = requestedAt(prod, 'flux-system', 'hello');
  expect(stamp).toBe(answer(first).requestedAt);
  expect(patchRequests(prod)).toHaveLength(1);

  prod.clearRequests();
  const again = await deliver(id);
  expect(again.statusCode).toBe(200);
  expect(answer(again)).toMatchObject({
    delivery: id,
    outcome: 'duplicate',
    event: 'push',
    reason: expect.stringMatching(
      new RegExp(`^delivery ${id} was already applied at \\d{4}-\\d\\d-\\d\\dT.*Z; not applied again$`),
    ),
  });
  expect(clusterRequests()).toBe(0);
  expect(requestedAt(prod, 'flux-system', 'hello')).toBe(stamp);

  const other = await deliver(randomUUID());
  expect(answer(other)).toMatchObject({ outcome: 'patched' });
  expect(patchRequests(prod)).toHaveLength(1);
});

test('the duplicate is logged as one summary line with outcome duplicate', async () => {
  const id = randomUUID();
  await deliver(id);
  const { lines } = await captureOutput(() => deliver(id));
  expect(deliveryLines(lines)).toEqual([
    expect.objectContaining({
      level: 'INFO',
      receiver: 'github',
      delivery_id: id,
      outcome: 'duplicate',
      status: 200,
      patched: [],
    }),
  ]);
});

test('after the window the same delivery id is applied again (Powertools reads Date.now(), which is moved, not waited for)', async () => {
  fakeDateOnly();
  const id = randomUUID();
  expect(answer(await deliver(id)).outcome).toBe('patched');

  jest.setSystemTime(Date.now() + (windowSeconds - 5) * 1000);
  prod.clearRequests();
  expect(answer(await deliver(id)).outcome).toBe('duplicate');
  expect(clusterRequests()).toBe(0);

  jest.setSystemTime(Date.now() + 10_000);
  const later = await deliver(id);
  expect(answer(later)).toMatchObject({ outcome: 'patched', patched: ['prod/flux-system/GitRepository/hello'] });
  expect(patchRequests(prod)).toHaveLength(1);
  // ...and that application opened a new window.
  prod.clearRequests();
  expect(answer(await deliver(id)).outcome).toBe('duplicate');
  expect(clusterRequests()).toBe(0);
});

test('a delivery that failed (cluster 503 -> 502) is not remembered: its redelivery is applied', async () => {
  const id = randomUUID();
  prod.fault({ match: (r) => r.method === 'PATCH', status: 503 });
  const failed = await deliver(id);
  expect(failed.statusCode).toBe(502);
  expect(answer(failed)).toMatchObject({ outcome: 'failed', patched: [] });
  expect(ddb.operations()).toEqual(expect.arrayContaining(['PutItem', 'DeleteItem']));
  expect(await ddb.items(table)).not.toContainEqual(expect.objectContaining({ status: { S: 'INPROGRESS' } }));

  prod.fault(undefined);
  prod.clearRequests();
  const redelivered = await deliver(id);
  expect(redelivered.statusCode).toBe(200);
  expect(answer(redelivered)).toMatchObject({ outcome: 'patched', patched: ['prod/flux-system/GitRepository/hello'] });
  expect(patchRequests(prod)).toHaveLength(1);
});

test('a receiver without dedupe applies every delivery and never calls DynamoDB', async () => {
  const id = randomUUID();
  for (let i = 0; i < 2; i++) expect(answer(await deliver(id, 'github-plain')).outcome).toBe('patched');
  expect(patchRequests(prod)).toHaveLength(2);
  expect(ddb.calls).toEqual([]);
});

test('the same signed body with a new delivery id (the id header is not signed) is a duplicate, and touches no cluster', async () => {
  const body = pushBody();
  expect(answer(await deliver(randomUUID(), 'github', body)).outcome).toBe('patched');
  prod.clearRequests();
  const replayed = await deliver(randomUUID(), 'github', body);
  expect(replayed.statusCode).toBe(200);
  expect(answer(replayed)).toMatchObject({
    outcome: 'duplicate',
    reason: expect.stringMatching(/^delivery .* was already applied at .*; not applied again$/),
  });
  expect(clusterRequests()).toBe(0);
});

test('the same signed body without a delivery id is remembered by its hash: applied once, then a duplicate', async () => {
  const body = pushBody();
  expect(answer(await deliver(undefined, 'github', body)).outcome).toBe('patched');
  prod.clearRequests();
  const replayed = await deliver(undefined, 'github', body);
  expect(answer(replayed)).toMatchObject({ outcome: 'duplicate' });
  expect(answer(replayed)).not.toHaveProperty('delivery');
  expect(clusterRequests()).toBe(0);
  // A body first seen with an id and replayed without one is the same delivery too.
  const id = randomUUID();
  expect(answer(await deliver(id)).outcome).toBe('patched');
  prod.clearRequests();
  expect(answer(await deliver(undefined, 'github', pushBody(id))).outcome).toBe('duplicate');
  expect(clusterRequests()).toBe(0);
});

test('a different signed body under an id already applied is a duplicate too (either key suffices)', async () => {
  const id = randomUUID();
  expect(answer(await deliver(id)).outcome).toBe('patched');
  prod.clearRequests();
  expect(answer(await deliver(id, 'github', pushBody())).outcome).toBe('duplicate');
  expect(clusterRequests()).toBe(0);
});

test('distinct pushes without delivery ids are each applied', async () => {
  for (let i = 0; i < 2; i++) expect(answer(await deliver(undefined)).outcome).toBe('patched');
  expect(patchRequests(prod)).toHaveLength(2);
});

test('receivers are keyed separately: the same delivery id on another receiver is applied, and remembered there', async () => {
  const id = randomUUID();
  expect(answer(await deliver(id, 'github')).outcome).toBe('patched');
  expect(answer(await deliver(id, 'github-mirror')).outcome).toBe('patched');
  expect(patchRequests(prod)).toHaveLength(2);
  prod.clearRequests();
  expect(answer(await deliver(id, 'github')).outcome).toBe('duplicate');
  expect(answer(await deliver(id, 'github-mirror')).outcome).toBe('duplicate');
  expect(clusterRequests()).toBe(0);
});

test("each receiver's window applies to its own deliveries", async () => {
  fakeDateOnly();
  const id = randomUUID();
  await deliver(id, 'github');
  await deliver(id, 'github-mirror');
  jest.setSystemTime(Date.now() + 61_000);
  prod.clearRequests();
  expect(answer(await deliver(id, 'github')).outcome).toBe('duplicate');
  expect(answer(await deliver(id, 'github-mirror')).outcome).toBe('patched');
  expect(patchRequests(prod)).toHaveLength(1);
});

test('DynamoDB unreachable: deliveries are applied anyway (fail open), each with a warning', async () => {
  const id = randomUUID();
  ddb.fault({ destroy: true });
  const { result: outcomes, lines } = await captureOutput(async () => [await deliver(id), await deliver(id)]);
  for (const result of outcomes) {
    expect(result.statusCode).toBe(200);
    expect(answer(result)).toMatchObject({ outcome: 'patched', patched: ['prod/flux-system/GitRepository/hello'] });
  }
  expect(patchRequests(prod)).toHaveLength(2);
  expect(ddb.operations().every((op) => op === 'PutItem')).toBe(true);
  const warnings = lines
    .flatMap((l) => (l.startsWith('{') ? [JSON.parse(l) as Record<string, unknown>] : []))
    .filter((l) => l.level === 'WARN');
  expect(warnings).toEqual([
    expect.objectContaining({
      message: 'replay protection is unavailable; the delivery is applied without it',
      receiver: 'github',
      delivery_id: id,
      error: expect.any(String),
    }),
    expect.objectContaining({
      message: 'replay protection is unavailable; the delivery is applied without it',
      delivery_id: id,
    }),
  ]);

  // Once DynamoDB is back, protection is too.
  ddb.fault(undefined);
  const back = randomUUID();
  expect(answer(await deliver(back)).outcome).toBe('patched');
  expect(answer(await deliver(back)).outcome).toBe('duplicate');
});

test('the same delivery while the first is still being applied gets 409 duplicate_in_progress, and is not applied twice', async () => {
  const id = randomUUID();
  // The first delivery's update to COMPLETED is held (every attempt of it): by then it has patched, and its record
  // stays INPROGRESS until the release, however long the second delivery takes.
  const held = ddb.hold((c) => c.operation === 'UpdateItem');
  const first = deliver(id);
  await held.reached;
  expect(patchRequests(prod)).toHaveLength(1);

  const concurrent = await deliver(id);
  expect(concurrent.statusCode).toBe(409);
  expect(answer(concurrent)).toMatchObject({ delivery: id, outcome: 'rejected', reason: 'duplicate_in_progress' });
  expect(patchRequests(prod)).toHaveLength(1);

  held.release();
  expect(answer(await first)).toMatchObject({ outcome: 'patched' });
  // Whether the first one's update got through (duplicate) or timed out meanwhile (409 until the in-progress
  // expiry), a third delivery is not applied either.
  expect([200, 409]).toContain((await deliver(id)).statusCode);
  expect(patchRequests(prod)).toHaveLength(1);
});
