/**
 * lib/delivery/dedupe against dynalite on loopback, below the relay: what is stored, in-progress expiry, thrown applies, the
 * table-less fallback, and that nothing loads DynamoDB before a dedupe receiver's first delivery.
 */
import { createHash } from 'node:crypto';
import { parseConfig } from '../../../lib/config/load';
import { createDeliveryDedupe } from '../../../lib/delivery/dedupe';
import type { DedupeWarn, DeliveryDedupe, DeliveryKey } from '../../../lib/delivery/dedupe/dedupe';
import { DuplicateInProgress } from '../../../lib/delivery/errors';
import { DynamoDbTestServer } from '../../support/dynamodb-server';

const table = 'relay-dedupe-unit';
let ddb: DynamoDbTestServer;

const configWith = (dedupe: string, budgetMs = 3000) =>
  parseConfig(
    `
clusters:
  prod: { kubeconfig: aws-sm:k }
receivers:
  github: { provider: github, secret: aws-sm:s${dedupe} }
  gitlab: { provider: gitlab, secret: aws-sm:s }
limits: { clusterTimeoutMs: 1000, deliveryBudgetMs: ${budgetMs} }
`,
    'test.yaml',
  );

beforeAll(async () => {
  ddb = await DynamoDbTestServer.start();
  await ddb.createDedupeTable(table);
});

afterAll(async () => {
  await ddb.close();
});

afterEach(() => {
  jest.useRealTimers();
});

let serial = 0;
const delivery = (windowSeconds = 300): DeliveryKey => {
  const id = `d-${++serial}-${Date.now()}`;
  return {
    receiver: 'github',
    id,
    bodySha256: createHash('sha256').update(`body of ${id}`).digest('hex'),
    windowSeconds,
  };
};
const warnings: Array<[string, Record<string, unknown>]> = [];
const warn: DedupeWarn = (message, fields) => warnings.push([message, fields]);

function dedupe(budgetMs = 3000): DeliveryDedupe {
  return createDeliveryDedupe({
    config: configWith(', dedupe: {}', budgetMs),
    tableName: table,
    warn,
    client: ddb.client(),
  })!;
}

/** An apply that stays in progress until released, and says when it started. */
function pendingApply() {
  let release!: () => void;
  let started!: () => void;
  const done = new Promise<void>((resolve) => (release = resolve));
  const running = new Promise<void>((resolve) => (started = resolve));
  return { apply: async () => (started(), await done, 'first'), running, release };
}

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

test('an applied delivery is stored as Powertools does, twice: id = prefix#hash of "receiver#id#<id>" and of "receiver#body#<sha256>", expiration = now + window, COMPLETED', async () => {
  fakeDateOnly();
  const key = delivery(120);
  const now = Date.now();
  await expect(
    dedupe().once(
      key,
      async () => 'applied',
      () => true,
    ),
  ).resolves.toEqual({ duplicate: false, result: 'applied' });

  for (const payload of [`${key.receiver}#id#${key.id}`, `${key.receiver}#body#${key.bodySha256}`]) {
    const hash = createHash('sha256').update(JSON.stringify(payload)).digest('base64');
    const item = (await ddb.items(table)).find((i) => i.id?.S === `delivery#${hash}`);
    // `id` is the table's partition key and `expiration` its TTL attribute (infra/serverless/dedupe.cjs): the names
    // Powertools writes (DynamoDBPersistenceLayer's defaults), checked here on what it really wrote.
    expect(item).toEqual({
      id: { S: `delivery#${hash}` },
      status: { S: 'COMPLETED' },
      expiration: { N: String(Math.round(now / 1000 + 120)) },
      in_progress_expiration: { N: String(now + 5000) },
      data: { M: { firstSeen: { S: new Date(now).toISOString() } } },
    });
  }
  // Nothing of the payload or the answer is stored.
  await expect(
    dedupe().once(
      key,
      async () => 'again',
      () => true,
    ),
  ).resolves.toEqual({ duplicate: true, firstSeen: new Date(now).toISOString() });
});

test('an invocation that died mid-delivery blocks the delivery id only until its in-progress expiry (delivery budget + 2 s)', async () => {
  fakeDateOnly();
  const key = delivery();
  const store = dedupe(3000);
  const crashed = pendingApply();
  const first = store.once(key, crashed.apply, () => true);
  await crashed.running;

  const apply = jest.fn(async () => 'redelivered');
  await expect(store.once(key, apply, () => true)).rejects.toBeInstanceOf(DuplicateInProgress);
  jest.setSystemTime(Date.now() + 4_900);
  await expect(store.once(key, apply, () => true)).rejects.toBeInstanceOf(DuplicateInProgress);
  expect(apply).not.toHaveBeenCalled();

  jest.setSystemTime(Date.now() + 200);
  await expect(store.once(key, apply, () => true)).resolves.toEqual({ duplicate: false, result: 'redelivered' });
  expect(apply).toHaveBeenCalledTimes(1);
  crashed.release();
  await first;
});

test('either key alone makes a duplicate: the same body under another id, the same id with another body, the same body without an id', async () => {
  const key = delivery();
  const store = dedupe();
  await store.once(
    key,
    async () => 'applied',
    () => true,
  );
  const apply = jest.fn(async () => 'again');
  const other = delivery();
  for (const replay of [
    { ...key, id: other.id },
    { ...key, bodySha256: other.bodySha256 },
    { receiver: key.receiver, bodySha256: key.bodySha256, windowSeconds: key.windowSeconds },
  ]) {
    await expect(store.once(replay, apply, () => true)).resolves.toEqual({
      duplicate: true,
      firstSeen: expect.any(String),
    });
  }
  expect(apply).not.toHaveBeenCalled();
});

test('a replay of the body under a new id while the first is being applied is refused as in progress', async () => {
  const key = delivery();
  const store = dedupe();
  const first = pendingApply();
  const applying = store.once(key, first.apply, () => true);
  await first.running;
  const apply = jest.fn(async () => 'replayed');
  await expect(store.once({ ...key, id: `${key.id}-replay` }, apply, () => true)).rejects.toBeInstanceOf(
    DuplicateInProgress,
  );
  expect(apply).not.toHaveBeenCalled();
  first.release();
  await applying;
});

test('an apply that throws is rethrown unchanged and not remembered', async () => {
  const key = delivery();
  const store = dedupe();
  const boom = new Error('boom');
  await expect(
    store.once(
      key,
      async () => Promise.reject(boom),
      () => true,
    ),
  ).rejects.toBe(boom);
  await expect(
    store.once(
      key,
      async () => 'second',
      () => true,
    ),
  ).resolves.toEqual({ duplicate: false, result: 'second' });
});

test('a result remember() refuses is returned, and the delivery stays applicable', async () => {
  const key = delivery();
  const store = dedupe();
  await expect(
    store.once(
      key,
      async () => ({ status: 502 }),
      (r) => r.status < 500,
    ),
  ).resolves.toEqual({ duplicate: false, result: { status: 502 } });
  await expect(
    store.once(
      key,
      async () => ({ status: 200 }),
      (r) => r.status < 500,
    ),
  ).resolves.toEqual({ duplicate: false, result: { status: 200 } });
  await expect(
    store.once(
      key,
      async () => ({ status: 200 }),
      (r) => r.status < 500,
    ),
  ).resolves.toEqual({ duplicate: true, firstSeen: expect.any(String) });
});

test('applied, but the COMPLETED update fails: the result is still returned, with a warning', async () => {
  const key = delivery();
  warnings.length = 0;
  ddb.fault({ match: (c) => c.operation === 'UpdateItem', destroy: true });
  try {
    await expect(
      dedupe().once(
        key,
        async () => 'applied',
        () => true,
      ),
    ).resolves.toEqual({ duplicate: false, result: 'applied' });
  } finally {
    ddb.fault(undefined);
  }
  // One per record (the body's, then the id's).
  expect(warnings).toEqual(
    Array(2).fill([
      'the outcome of the delivery could not be recorded',
      expect.objectContaining({ receiver: 'github', delivery_id: key.id }),
    ]),
  );
});

test('without a table, receivers with dedupe apply every delivery, and that is said once', async () => {
  const local: Array<[string, Record<string, unknown>]> = [];
  const store = createDeliveryDedupe({
    config: configWith(', dedupe: {}'),
    tableName: '  ',
    warn: (m, f) => local.push([m, f]),
  })!;
  const key = delivery();
  for (let i = 0; i < 2; i++)
    await expect(
      store.once(
        key,
        async () => i,
        () => true,
      ),
    ).resolves.toEqual({ duplicate: false, result: i });
  expect(local).toEqual([
    ['RELAY_DEDUPE_TABLE is not set; receivers with dedupe apply every delivery', { receivers: ['github'] }],
  ]);
});

test('no receiver with dedupe: no DeliveryDedupe at all', () => {
  expect(createDeliveryDedupe({ config: configWith(''), tableName: table, warn })).toBeUndefined();
});

test('DynamoDB and Powertools Idempotency are loaded on the first delivery that needs them, not before', async () => {
  // A fresh module registry: earlier tests here have loaded both already.
  jest.resetModules();
  const loaded: string[] = [];
  for (const name of ['@aws-sdk/client-dynamodb', '@aws-lambda-powertools/idempotency']) {
    jest.doMock(name, () => {
      loaded.push(name);
      return jest.requireActual(name);
    });
  }
  try {
    const { createRelayDeps } =
      require('../../../lib/runtime/relay-deps') as typeof import('../../../lib/runtime/relay-deps');
    // The relay's wiring, for a configuration without and with a dedupe receiver.
    expect(
      createRelayDeps({ config: configWith(''), log: () => undefined, dedupeTable: table }).dedupe,
    ).toBeUndefined();
    const store = createRelayDeps({
      config: configWith(', dedupe: {}'),
      log: () => undefined,
      dedupeTable: table,
    }).dedupe!;
    expect(loaded).toEqual([]);
    // The relay's own client (no `client` option) goes to the loopback server through the SDK's environment.
    Object.assign(process.env, {
      AWS_ENDPOINT_URL_DYNAMODB: ddb.endpoint,
      AWS_REGION: ddb.region,
      AWS_ACCESS_KEY_ID: 'AKIDEXAMPLE',
      AWS_SECRET_ACCESS_KEY: 'wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY',
    });
    await expect(
      store.once(
        delivery(),
        async () => 'applied',
        () => true,
      ),
    ).resolves.toEqual({ duplicate: false, result: 'applied' });
    expect(loaded.sort()).toEqual(['@aws-lambda-powertools/idempotency', '@aws-sdk/client-dynamodb']);
    expect(ddb.operations()).toContain('PutItem');
  } finally {
    jest.dontMock('@aws-sdk/client-dynamodb');
    jest.dontMock('@aws-lambda-powertools/idempotency');
    delete process.env.AWS_ENDPOINT_URL_DYNAMODB;
  }
});
