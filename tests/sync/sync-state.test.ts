/**
 * The managed-state record's durable stores: DynamoDB (the deploy's table, infra/serverless/sync-state.cjs, on the
 * loopback DynamoDB through the real SDK) and the JSON file `npm run sync` keeps; and, through the real scheduled
 * handler, that a cold container picks up what the last one learnt (ETags, absent counts) from the table.
 */
import type { Context, ScheduledEvent } from 'aws-lambda';
import { CreateTableCommand, DynamoDBClient, PutItemCommand } from '@aws-sdk/client-dynamodb';
import { mkdtempSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { tableProperties } from '../../infra/serverless/sync-state.cjs';
import type { SyncMemory, TargetMemory } from '../../lib/sync/memory';
import type { SyncReport } from '../../lib/sync/run';
import { DynamoDbSyncMemory } from '../../lib/sync/state/dynamodb';
import { FileSyncMemory } from '../../lib/sync/state/file';
import { DynamoDbTestServer } from '../support/dynamodb-server';
import { GitHubApiServer } from '../support/github-api-server';
import { KubeApiTestServer } from '../support/kube-api-server';
import { captureOutput, gitRepository, relayRules, relayUser, useSecretsManager } from '../support/relay-harness';
import { SecretsManagerTestServer } from '../support/secrets-manager-server';

let ddb: DynamoDbTestServer;
let tables = 0;
const client = () =>
  new DynamoDBClient({
    endpoint: ddb.endpoint,
    region: ddb.region,
    credentials: { accessKeyId: 'AKIDEXAMPLE', secretAccessKey: 'wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY' },
  });
/** A table as the deploy creates it. */
async function newTable(): Promise<string> {
  const name = `relay-sync-state-${++tables}`;
  await client().send(new CreateTableCommand({ TableName: name, ...structuredClone(tableProperties) }));
  return name;
}

beforeAll(async () => {
  ddb = await DynamoDbTestServer.start();
});
afterAll(() => ddb.close());

const entry = (i: number): TargetMemory => ({
  checkedAt: new Date(Date.UTC(2026, 11, 4, 0, i)).toISOString(),
  etag: `W/"${i}"`,
  hooks: [{ id: String(i), url: `https://relay.example/hooks/github?v=${i}`, events: ['push'], active: true }],
  scope: 'abc',
  managed: true,
  hookId: String(i),
  ...(i % 3 === 0 ? { absentRuns: 1 } : {}),
});

describe.each([
  ['DynamoDB', async (): Promise<SyncMemory> => new DynamoDbSyncMemory(await newTable(), client())],
  [
    'a JSON file',
    async (): Promise<SyncMemory> => new FileSyncMemory(join(mkdtempSync(join(tmpdir(), 'sync-state-')), 'state.json')),
  ],
] as const)('%s', (_name, open) => {
  test('what is saved reads back, per registration; forgotten targets are gone; more than one batch of 25', async () => {
    const store = await open();
    expect((await store.targets('gh')).size).toBe(0);
    const saved = new Map(Array.from({ length: 60 }, (_, i) => [`acme/r${i}`, entry(i)] as const));
    await store.saveTargets('gh', saved);
    await store.saveTargets('gl', new Map([['group/app', entry(99)]]));
    expect(Object.fromEntries(await store.targets('gh'))).toEqual(Object.fromEntries(saved));
    await store.forgetTargets('gh', ['acme/r1', 'acme/r2', 'acme/r59']);
    const after = await store.targets('gh');
    expect(after.size).toBe(57);
    expect(after.has('acme/r2')).toBe(false);
    expect([...(await store.targets('gl')).keys()]).toEqual(['group/app']);
    // A later save of some targets leaves the others as they were.
    await store.saveTargets('gh', new Map([['acme/r3', { checkedAt: '2026-12-05T00:00:00.000Z' }]]));
    expect((await store.targets('gh')).get('acme/r3')).toEqual({ checkedAt: '2026-12-05T00:00:00.000Z' });
    expect((await store.targets('gh')).get('acme/r4')).toEqual(entry(4));
  });

  test('rate budgets by key', async () => {
    const store = await open();
    expect(await store.pacing('https://api.github.com abc')).toBeUndefined();
    const snapshot = {
      points: [
        [1, 1],
        [2, 5],
      ] as Array<[number, number]>,
      writes: [2],
      primary: { limit: 5000, remaining: 4990, used: 10, reset: 3_600_000 },
    };
    await store.savePacing('https://api.github.com abc', snapshot);
    expect(await store.pacing('https://api.github.com abc')).toEqual(snapshot);
  });
});

describe('a record that cannot be read throws (the run then fails the registration and deletes nothing)', () => {
  test('DynamoDB: no such table', async () => {
    await expect(new DynamoDbSyncMemory('no-such-table', client()).targets('gh')).rejects.toThrow(
      /non-existent table|not found/i,
    );
  });

  test('DynamoDB: an item that is not a record', async () => {
    const table = await newTable();
    await client().send(
      new PutItemCommand({
        TableName: table,
        Item: { registration: { S: 'gh' }, target: { S: 'acme/x' }, memory: { S: 'x' } },
      }),
    );
    await expect(new DynamoDbSyncMemory(table, client()).targets('gh')).rejects.toThrow(/acme\/x.*malformed/);
  });

  test('a file that is not a sync state, or not JSON', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'sync-state-'));
    writeFileSync(join(dir, 'a.json'), '{"version": 2}');
    writeFileSync(join(dir, 'b.json'), '{"vers');
    await expect(new FileSyncMemory(join(dir, 'a.json')).targets('gh')).rejects.toThrow(/not a version 1 sync state/);
    await expect(new FileSyncMemory(join(dir, 'b.json')).targets('gh')).rejects.toThrow(/not JSON/);
  });

  test('the file is replaced whole (no temporary file left behind)', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'sync-state-'));
    const store = new FileSyncMemory(join(dir, 'state.json'));
    await store.saveTargets('gh', new Map([['acme/a', entry(1)]]));
    expect(readdirSync(dir)).toEqual(['state.json']);
    expect(Object.fromEntries(await new FileSyncMemory(join(dir, 'state.json')).targets('gh'))).toEqual({
      'acme/a': entry(1),
    });
  });
});

describe('the scheduled handler keeps its record in the table across cold starts', () => {
  let cluster: KubeApiTestServer;
  let github: GitHubApiServer;
  let sm: SecretsManagerTestServer;
  let table: string;
  type Handler = (event: ScheduledEvent, context: Context) => Promise<SyncReport>;
  const context = { getRemainingTimeInMillis: () => 300_000 } as unknown as Context; // only this member is used

  beforeAll(async () => {
    [cluster, github, sm] = await Promise.all([
      KubeApiTestServer.start(),
      GitHubApiServer.start(),
      SecretsManagerTestServer.start(),
    ]);
    cluster.addServiceAccount('sa', relayUser, relayRules);
    for (const name of ['app', 'infra', 'tools'])
      cluster.put(gitRepository('flux-system', name, `https://github.com/acme/${name}`, { branch: 'main' }));
    github.addToken('ghp_state_handler', { repos: ['acme/app', 'acme/infra', 'acme/tools'] });
    sm.put('relay/kubeconfig', cluster.kubeconfig('sa'));
    sm.put('relay/hook', 'hook-secret-of-the-state-test');
    sm.put('relay/github-token', 'ghp_state_handler');
    useSecretsManager(sm);
    table = await newTable();
    const dir = mkdtempSync(join(tmpdir(), 'sync-state-handler-'));
    Object.assign(process.env, {
      RELAY_CONFIG: join(dir, 'relay.config.yaml'),
      RELAY_PUBLIC_URL: 'https://relay.example',
      RELAY_SYNC_STATE_TABLE: table,
      AWS_ENDPOINT_URL_DYNAMODB: ddb.endpoint,
    });
    writeFileSync(
      process.env.RELAY_CONFIG!,
      `clusters:\n  c: { kubeconfig: relay/kubeconfig }\nreceivers:\n  github: { provider: github, secret: relay/hook }\n` +
        `sync:\n  allowHttpLoopback: true\n  registrations:\n    gh: { provider: github, apiUrl: '${github.url}', host: github.com, token: relay/github-token, receiver: github }\n`,
    );
  });
  afterAll(async () => {
    for (const name of ['RELAY_SYNC_STATE_TABLE', 'AWS_ENDPOINT_URL_DYNAMODB', 'RELAY_PUBLIC_URL'])
      delete process.env[name];
    await Promise.all([cluster.close(), github.close(), sm.close()]);
  });

  /** A cold start: the function's modules loaded afresh, nothing remembered but what is in the table. */
  async function coldRun(): Promise<SyncReport['registrations'][number]> {
    let handler: Handler | undefined;
    jest.isolateModules(() => {
      handler = (require('../../functions/sync') as { handler: Handler }).handler;
    });
    const { result } = await captureOutput(() => handler!({} as ScheduledEvent, context));
    return result.registrations[0]!;
  }

  test('ETags survive a cold start (lists are 304s), and so does the count toward removing an absent target', async () => {
    expect(await coldRun()).toMatchObject({ failures: [], actions: { create: 3 } });
    expect(await coldRun()).toMatchObject({ failures: [], actions: { unchanged: 3 }, notModified: 0 });
    expect(await coldRun()).toMatchObject({ failures: [], actions: { unchanged: 3 }, notModified: 3 });
    cluster.remove('source.toolkit.fluxcd.io/v1', 'GitRepository', 'flux-system', 'tools');
    expect(await coldRun()).toMatchObject({ failures: [], actions: { delete: 0, unchanged: 2 } });
    expect(await coldRun()).toMatchObject({ failures: [], actions: { delete: 1, unchanged: 2 } });
    expect(github.hooks({ kind: 'repository', path: 'acme/tools' })).toEqual([]);
    expect(github.hooks({ kind: 'repository', path: 'acme/app' })).toHaveLength(1);
  });
});
