/**
 * The managed-state record in DynamoDB (the table the deploy creates when the configuration has sync registrations,
 * infra/serverless/sync-state.cjs): one item per registration and target, `{registration, target, memory}`, and one per
 * rate budget under the registration `#budget` (configuration names cannot start with `#`). Read with one paginated
 * Query per registration, written with BatchWriteItem (25 a request, unprocessed items sent again a few times).
 *
 * Every failure throws: the run then fails the registration before any provider call (lib/sync/run.ts reads first),
 * so an unreadable record never makes targets look unmanaged and nothing is deleted on its account.
 */
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import {
  BatchWriteCommand,
  DynamoDBDocumentClient,
  GetCommand,
  PutCommand,
  QueryCommand,
  type BatchWriteCommandInput,
} from '@aws-sdk/lib-dynamodb';
import type { PacingSnapshot } from '../pacing';
import type { SyncMemory, TargetMemory } from '../memory';

const budgetPartition = '#budget';
/** BatchWriteItem's documented maximum (https://docs.aws.amazon.com/amazondynamodb/latest/APIReference/API_BatchWriteItem.html). */
const batchSize = 25;
const unprocessedAttempts = 5;

type WriteRequest = NonNullable<BatchWriteCommandInput['RequestItems']>[string][number];

export class DynamoDbSyncMemory implements SyncMemory {
  private readonly documents: DynamoDBDocumentClient;

  constructor(
    private readonly tableName: string,
    client: DynamoDBClient = new DynamoDBClient({ maxAttempts: 3 }),
    private readonly sleep: (ms: number) => Promise<void> = (ms) => new Promise((r) => setTimeout(r, ms)),
  ) {
    this.documents = DynamoDBDocumentClient.from(client, { marshallOptions: { removeUndefinedValues: true } });
  }

  async targets(registration: string): Promise<ReadonlyMap<string, TargetMemory>> {
    const targets = new Map<string, TargetMemory>();
    let start: Record<string, unknown> | undefined;
    do {
      const page = await this.documents.send(
        new QueryCommand({
          TableName: this.tableName,
          KeyConditionExpression: 'registration = :r',
          ExpressionAttributeValues: { ':r': registration },
          ConsistentRead: true,
          ...(start ? { ExclusiveStartKey: start } : {}),
        }),
      );
      for (const item of page.Items ?? []) {
        const memory = item.memory as TargetMemory | undefined;
        if (typeof item.target !== 'string' || !memory || typeof memory !== 'object')
          throw new Error(`sync state: item ${JSON.stringify(item.target)} of ${registration} is malformed`);
        targets.set(item.target, memory);
      }
      start = page.LastEvaluatedKey;
    } while (start);
    return targets;
  }

  saveTargets(registration: string, changed: ReadonlyMap<string, TargetMemory>): Promise<void> {
    return this.batch(
      [...changed].map(([target, memory]) => ({ PutRequest: { Item: { registration, target, memory } } })),
    );
  }

  forgetTargets(registration: string, keys: readonly string[]): Promise<void> {
    return this.batch(keys.map((target) => ({ DeleteRequest: { Key: { registration, target } } })));
  }

  async pacing(key: string): Promise<PacingSnapshot | undefined> {
    const answer = await this.documents.send(
      new GetCommand({
        TableName: this.tableName,
        Key: { registration: budgetPartition, target: key },
        ConsistentRead: true,
      }),
    );
    return answer.Item?.snapshot as PacingSnapshot | undefined;
  }

  async savePacing(key: string, snapshot: PacingSnapshot): Promise<void> {
    await this.documents.send(
      new PutCommand({ TableName: this.tableName, Item: { registration: budgetPartition, target: key, snapshot } }),
    );
  }

  private async batch(requests: WriteRequest[]): Promise<void> {
    for (let i = 0; i < requests.length; i += batchSize) {
      let pending = requests.slice(i, i + batchSize);
      for (let attempt = 1; pending.length > 0; attempt += 1) {
        if (attempt > unprocessedAttempts)
          throw new Error(
            `sync state: ${pending.length} write(s) left unprocessed after ${unprocessedAttempts} attempts`,
          );
        const answer = await this.documents.send(
          new BatchWriteCommand({ RequestItems: { [this.tableName]: pending } }),
        );
        pending = answer.UnprocessedItems?.[this.tableName] ?? [];
        // DynamoDB returns what it could not take under load; back off before sending it again.
        if (pending.length > 0) await this.sleep(50 * 2 ** attempt);
      }
    }
  }
}
