/**
 * A loopback DynamoDB for tests: dynalite (an in-process DynamoDB-compatible server on LevelDB's in-memory store)
 * behind a small HTTP front on 127.0.0.1 that records each operation and can hold or break requests. The real
 * `@aws-sdk/client-dynamodb` talks to `endpoint` (AWS_ENDPOINT_URL_DYNAMODB) with dummy credentials, exactly as it
 * talks to DynamoDB: JSON 1.0 protocol, `X-Amz-Target: DynamoDB_20120810.<Operation>`.
 *
 * What dynalite does not do, and what that means here:
 * - No TTL deletion (and no UpdateTimeToLive): expired records stay, which is also what DynamoDB does for up to a few
 *   days after `expiration`; Powertools treats an expired record as absent by itself.
 * - No `ReturnValuesOnConditionCheckFailure`: a failed conditional PutItem returns no item, so Powertools reads the
 *   record with a GetItem instead (IdempotencyHandler's fallback); one request more, the same outcome.
 */
import { startOnLoopback } from '../../dev/loopback';
import {
  createServer,
  request as httpRequest,
  type IncomingMessage,
  type Server,
  type ServerResponse,
} from 'node:http';
import type { AddressInfo } from 'node:net';
import { CreateTableCommand, DynamoDBClient, ScanCommand, type AttributeValue } from '@aws-sdk/client-dynamodb';
import { closeServer } from './http-body';

/** dynalite ships no types; this is the part used here (its factory returns a Node http.Server). */
type Dynalite = (options: { createTableMs?: number; deleteTableMs?: number; updateTableMs?: number }) => Server;
// A plain require: the package has neither types nor an ES module entry.
const dynalite = require('dynalite') as Dynalite;

export interface DynamoDbCall {
  /** `PutItem`, `GetItem`, ... (the part of X-Amz-Target after the dot). */
  operation: string;
  body: Record<string, unknown>;
}

export interface DynamoDbFault {
  /** Which calls to affect (default: all). */
  match?: (call: DynamoDbCall) => boolean;
  /** Reset the connection (an outage, as the SDK sees one) instead of answering. */
  destroy: true;
}

interface Hold {
  match: (call: DynamoDbCall) => boolean;
  release: Promise<void>;
  reached: () => void;
}

export class DynamoDbTestServer {
  readonly region = 'eu-west-1';
  readonly calls: DynamoDbCall[] = [];
  private faultValue: DynamoDbFault | undefined;
  private holds: Hold[] = [];

  private constructor(
    private readonly front: Server,
    private readonly back: Server,
    private readonly backPort: number,
  ) {}

  static async start(): Promise<DynamoDbTestServer> {
    // Tables are ACTIVE at once (dynalite keeps them CREATING for 500 ms by default).
    const back = dynalite({ createTableMs: 0, deleteTableMs: 0, updateTableMs: 0 });
    await listen(back);
    return startOnLoopback(createServer, (front) => {
      const instance = new DynamoDbTestServer(front, back, (back.address() as AddressInfo).port);
      return { instance, handle: (req, res) => instance.handle(req, res) };
    });
  }

  get endpoint(): string {
    return `http://127.0.0.1:${(this.front.address() as AddressInfo).port}`;
  }

  /** A client for the test's own setup and inspection (not the one under test). */
  client(): DynamoDBClient {
    return new DynamoDBClient({
      endpoint: this.endpoint,
      region: this.region,
      credentials: { accessKeyId: 'AKIDEXAMPLE', secretAccessKey: 'wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY' },
    });
  }

  /**
   * The table as infra/serverless/dedupe.cjs declares it: partition key `id` (string), on-demand. Its TTL on
   * `expiration` cannot be set here (dynalite has no UpdateTimeToLive) and would delete nothing in a test anyway.
   */
  async createDedupeTable(tableName: string): Promise<void> {
    await this.client().send(
      new CreateTableCommand({
        TableName: tableName,
        BillingMode: 'PAY_PER_REQUEST',
        AttributeDefinitions: [{ AttributeName: 'id', AttributeType: 'S' }],
        KeySchema: [{ AttributeName: 'id', KeyType: 'HASH' }],
      }),
    );
  }

  /** Every item of a table, read through the back server (not recorded in `calls`). */
  async items(tableName: string): Promise<Array<Record<string, AttributeValue>>> {
    const client = new DynamoDBClient({
      endpoint: `http://127.0.0.1:${this.backPort}`,
      region: this.region,
      credentials: { accessKeyId: 'AKIDEXAMPLE', secretAccessKey: 'wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY' },
    });
    try {
      return (await client.send(new ScanCommand({ TableName: tableName, ConsistentRead: true }))).Items ?? [];
    } finally {
      client.destroy();
    }
  }

  operations(): string[] {
    return this.calls.map((c) => c.operation);
  }

  clearCalls(): void {
    this.calls.length = 0;
  }

  /** Set (or clear, with undefined) a fault for matching calls. */
  fault(fault: DynamoDbFault | undefined): void {
    this.faultValue = fault;
  }

  /**
   * Holds every matching call (the SDK's retries of it too) until `release()`; `reached` resolves once the first has
   * arrived, so a test knows what state the store is in without waiting for any amount of time.
   */
  hold(match: (call: DynamoDbCall) => boolean): { reached: Promise<void>; release: () => void } {
    let release!: () => void;
    let reached!: () => void;
    const released = new Promise<void>((resolve) => (release = resolve));
    const arrived = new Promise<void>((resolve) => (reached = resolve));
    const hold: Hold = { match, release: released, reached };
    this.holds.push(hold);
    return {
      reached: arrived,
      release: () => {
        this.holds = this.holds.filter((h) => h !== hold);
        release();
      },
    };
  }

  async close(): Promise<void> {
    for (const server of [this.front, this.back]) await closeServer(server);
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const raw = Buffer.concat(chunks);
    const call: DynamoDbCall = {
      operation: String(req.headers['x-amz-target'] ?? '').split('.')[1] ?? '',
      body: raw.length > 0 ? (JSON.parse(raw.toString('utf8')) as Record<string, unknown>) : {},
    };
    this.calls.push(call);
    if (this.faultValue && (this.faultValue.match?.(call) ?? true)) {
      req.socket.destroy();
      return;
    }
    const hold = this.holds.find((h) => h.match(call));
    if (hold) {
      hold.reached();
      await hold.release;
      // The client may have given up meanwhile (its request timeout); then there is nobody to answer.
      if (res.destroyed) return;
    }
    const forward = httpRequest(
      {
        host: '127.0.0.1',
        port: this.backPort,
        method: req.method,
        path: req.url,
        headers: { ...req.headers, host: `127.0.0.1:${this.backPort}` },
      },
      (answer) => {
        res.writeHead(answer.statusCode ?? 500, answer.headers);
        answer.pipe(res);
      },
    );
    forward.on('error', () => res.destroy());
    forward.end(raw);
  }
}

function listen(server: Server): Promise<void> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
}
