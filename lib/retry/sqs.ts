import type { SQSClient } from '@aws-sdk/client-sqs';
import type { ClusterJob } from '../delivery/reconcile';
import type { RetryQueue } from './queue';

/**
 * The retry queue on Amazon SQS. Only types are imported from @aws-sdk/client-sqs at module load: the SDK module is
 * loaded, and its client created, when the first message must be sent, so a relay container that never sees a
 * failing cluster never pays for it. esbuild still bundles the SDK (a dynamic import of a literal is followed), but
 * as a lazily initialised module (its top-level code runs on first use); the measurement is in docs/decisions.md.
 */

/** The SDK client's bounds: a queue that does not answer must not eat the provider's delivery timeout. */
const clientOptions = {
  // Two attempts of at most 2 s each (plus 1 s to connect), as the Secrets Manager client in lib/runtime/relay-deps.ts.
  maxAttempts: 2,
  requestHandler: { connectionTimeout: 1000, requestTimeout: 2000 },
} as const;

type Sdk = typeof import('@aws-sdk/client-sqs');

/** One SDK module and client per container, created on first use. The SDK reads AWS_ENDPOINT_URL_SQS, as on Lambda. */
export class LazySqs {
  private loaded: Promise<{ sdk: Sdk; client: SQSClient }> | undefined;

  constructor(private readonly create: (sdk: Sdk) => SQSClient = (sdk) => new sdk.SQSClient(clientOptions)) {}

  get(): Promise<{ sdk: Sdk; client: SQSClient }> {
    this.loaded ??= import('@aws-sdk/client-sqs').then((sdk) => ({ sdk, client: this.create(sdk) }));
    // A failed load (it cannot really fail once bundled) must not stick for the life of the container.
    this.loaded.catch(() => (this.loaded = undefined));
    return this.loaded;
  }

  /** Whether the SDK has been asked for (for tests of laziness). */
  get started(): boolean {
    return this.loaded !== undefined;
  }
}

export interface OutgoingMessage {
  body: string;
  /** 0-900 (SendMessage, "DelaySeconds"). */
  delaySeconds?: number;
  /** String message attributes (names: letters, digits, `-`, `_`, `.`). */
  attributes?: Record<string, string>;
}

/**
 * SendMessageBatch takes at most 10 entries, and their bodies and attributes together must stay within the queue's
 * maximum message size, 262,144 bytes for this stack's queues (SQS API reference, SendMessageBatch). Jobs are a few
 * hundred bytes, so this bound is rarely the one that splits.
 */
export const maxBatchEntries = 10;
export const maxBatchBytes = 262_144;

function sizeOf(m: OutgoingMessage): number {
  let size = Buffer.byteLength(m.body);
  for (const [name, value] of Object.entries(m.attributes ?? {}))
    size += Buffer.byteLength(name) + 'String'.length + Buffer.byteLength(value);
  return size;
}

/** Groups messages into SendMessageBatch calls: ≤ 10 entries and ≤ 262,144 bytes each, in order. */
export function batchesOf(messages: readonly OutgoingMessage[]): OutgoingMessage[][] {
  const batches: OutgoingMessage[][] = [];
  let current: OutgoingMessage[] = [];
  let bytes = 0;
  for (const m of messages) {
    const size = sizeOf(m);
    if (current.length > 0 && (current.length === maxBatchEntries || bytes + size > maxBatchBytes)) {
      batches.push(current);
      current = [];
      bytes = 0;
    }
    current.push(m);
    bytes += size;
  }
  if (current.length > 0) batches.push(current);
  return batches;
}

/** One SQS queue: the sends and visibility changes the relay and the retry function make. */
export class SqsQueue {
  constructor(
    readonly url: string,
    private readonly sqs: LazySqs,
  ) {}

  /**
   * Sends every message, in batches. SendMessageBatch answers 200 even when entries fail ("check for batch errors
   * even when the call returns an HTTP status code of 200", SQS API reference): entries that failed on SQS's side
   * (`SenderFault: false`) are sent once more; whatever still failed makes this reject, naming the entries' codes.
   */
  async send(messages: readonly OutgoingMessage[], signal?: AbortSignal): Promise<void> {
    if (messages.length === 0) return;
    const { sdk, client } = await this.sqs.get();
    await Promise.all(
      batchesOf(messages).map(async (batch) => {
        let pending = batch.map((m, i) => ({ id: `m${i}`, m }));
        for (let round = 0; round < 2 && pending.length > 0; round++) {
          const out = await client.send(
            new sdk.SendMessageBatchCommand({
              QueueUrl: this.url,
              Entries: pending.map(({ id, m }) => ({
                Id: id,
                MessageBody: m.body,
                ...(m.delaySeconds !== undefined ? { DelaySeconds: m.delaySeconds } : {}),
                ...(m.attributes
                  ? {
                      MessageAttributes: Object.fromEntries(
                        Object.entries(m.attributes).map(([k, v]) => [k, { DataType: 'String', StringValue: v }]),
                      ),
                    }
                  : {}),
              })),
            }),
            signal ? { abortSignal: signal } : {},
          );
          const failed = out.Failed ?? [];
          if (failed.length === 0) return;
          const retryable = round === 0 && failed.every((f) => !f.SenderFault);
          if (!retryable)
            throw new Error(
              `SQS refused ${failed.length} of ${pending.length} messages (${[...new Set(failed.map((f) => `${f.Code}: ${f.Message}`))].join('; ')})`,
            );
          const again = new Set(failed.map((f) => f.Id));
          pending = pending.filter(({ id }) => again.has(id));
        }
      }),
    );
  }

  /** Makes a received message visible again `seconds` from now (0-43,200; ChangeMessageVisibility). */
  async changeVisibility(receiptHandle: string, seconds: number): Promise<void> {
    const { sdk, client } = await this.sqs.get();
    await client.send(
      new sdk.ChangeMessageVisibilityCommand({
        QueueUrl: this.url,
        ReceiptHandle: receiptHandle,
        VisibilityTimeout: seconds,
      }),
    );
  }
}

/** The relay's first delay before a queued job is retried: a 503 or a reset is often over within seconds. */
export const firstRetryDelaySeconds = 5;

/** The relay's RetryQueue: one message per cluster job, its body the job's JSON (lib/retry/job.ts reads it back). */
export class SqsRetryQueue implements RetryQueue {
  constructor(
    private readonly queue: SqsQueue,
    private readonly delaySeconds = firstRetryDelaySeconds,
  ) {}

  enqueue(jobs: readonly ClusterJob[], signal?: AbortSignal): Promise<void> {
    return this.queue.send(
      jobs.map((job) => ({ body: JSON.stringify(job), delaySeconds: this.delaySeconds })),
      signal,
    );
  }
}

/**
 * The retry queue at `url` (RELAY_RETRY_QUEUE_URL), or undefined (no durable retry: failures are answered 502). Only a
 * URL counts: `osls offline` hands unresolved CloudFormation references over as non-URL strings.
 */
export function retryQueueAt(url: string | undefined, sqs = new LazySqs()): SqsRetryQueue | undefined {
  if (!url || !/^https?:\/\//.test(url)) return undefined;
  return new SqsRetryQueue(new SqsQueue(url, sqs));
}
