import type { SQSBatchResponse, SQSEvent, SQSRecord } from 'aws-lambda';
import { withTimeout } from '../time/abort';
import type { Clock } from '../time/clock';
import type { RelayConfig } from '../config/schema';
import { describeError } from '../delivery/errors';
import { type ClusterJob, type ClusterOutcome, type FailedTarget, type ReconcileDeps, narrowedTo, reconcileCluster } from '../delivery/reconcile';
import { backoffSeconds } from './backoff';
import { parseClusterJob } from './job';
import type { OutgoingMessage } from './sqs';

/**
 * The retry function's core: one SQS batch (Lambda's SQS event source, with ReportBatchItemFailures) in, the ids of
 * the records that must come back out. Each record is one ClusterJob that failed for a passing reason; it is run
 * again with reconcileCluster, exactly as the relay ran it, and then:
 *
 * - everything applied: the record succeeds (Lambda deletes it);
 * - the same targets failed again for a passing reason: its visibility timeout is set to the backoff
 *   (ChangeMessageVisibility) and it is reported in `batchItemFailures`, so Lambda leaves it in the queue and SQS
 *   counts the receive: after `maxReceiveCount` receives the queue's redrive policy moves it to the dead-letter
 *   queue. "Implementing partial batch responses", Lambda developer guide
 *   (https://docs.aws.amazon.com/lambda/latest/dg/services-sqs-errorhandling.html): only the reported ids are retried;
 *   an unknown or empty id, or a thrown error, fails the whole batch, so this never throws and reports only ids it got;
 * - fewer targets are left than the record asked for (some applied, or some failed for good): a copy narrowed to
 *   what is left (`only`) is sent with the backoff as DelaySeconds and the number of attempts so far, and the record
 *   succeeds. Narrowing means a retry never re-patches (and re-records an Event on) what is done; because every copy
 *   is strictly narrower, and the attempt count travels with it, the attempts stay bounded by maxReceiveCount;
 * - failed for good (403, 404, a receiver or cluster no longer configured, a message that is not a job): sent to the
 *   dead-letter queue at once with the reason, and the record succeeds. Not dropped: the DLQ is the one place a
 *   person looks (its alarm), a 403 is fixed by RBAC and then a redrive applies the job, and a retry could never help.
 */

export type RetryOutcome = 'applied' | 'retried' | 'dead_letter';

/** The one log line per record (`message: "retry"`). Field names match the relay's delivery line. */
export interface RetryRecordSummary {
  message_id: string;
  delivery_id?: string;
  receiver?: string;
  cluster?: string;
  requestedAt?: string;
  /** 1 for the first retry (the relay's own try is not counted). */
  attempt: number;
  max_attempts: number;
  matched: string[];
  patched: string[];
  failed: Array<{ target: string; error: string }>;
  outcome: RetryOutcome;
  /** Why it was dead-lettered or could not be handled as planned. */
  reason?: string;
  /** Whether it was dead-lettered because its attempts ran out (rather than a permanent failure or a bad message). */
  exhausted?: boolean;
  /** When it comes back, for `retried`. */
  next_attempt_in_s?: number;
  duration_ms: number;
}

/** What a record's handling needs from the queue side (SqsQueue in production). */
export interface RetryQueueOps {
  /** Sends to the retry queue itself (a narrowed copy). */
  requeue(messages: readonly OutgoingMessage[]): Promise<void>;
  /** Sends to the dead-letter queue. */
  deadLetter(messages: readonly OutgoingMessage[]): Promise<void>;
  changeVisibility(receiptHandle: string, seconds: number): Promise<void>;
}

export interface RetryWorkerDeps extends ReconcileDeps {
  config: RelayConfig;
  queue: RetryQueueOps;
  /** The queue's redrive policy maxReceiveCount: the most attempts a job gets. */
  maxReceiveCount: number;
  clock: Clock;
  random?: () => number;
  log(level: 'info' | 'warn' | 'error', summary: RetryRecordSummary): void;
}

/** Message attribute carrying the attempts a narrowed copy's predecessors already made. */
export const priorAttemptsAttribute = 'priorAttempts';

export async function processRetryBatch(event: SQSEvent, deps: RetryWorkerDeps): Promise<{ response: SQSBatchResponse; records: RetryRecordSummary[] }> {
  const results = await Promise.all(event.Records.map((record) => processRecord(record, deps)));
  return {
    response: { batchItemFailures: results.filter((r) => r.comeBack).map((r) => ({ itemIdentifier: r.summary.message_id })) },
    records: results.map((r) => r.summary),
  };
}

interface RecordResult {
  summary: RetryRecordSummary;
  /** Report in batchItemFailures: the record stays in the queue. */
  comeBack: boolean;
}

async function processRecord(record: SQSRecord, deps: RetryWorkerDeps): Promise<RecordResult> {
  const started = deps.clock();
  const receiveCount = positiveInt(record.attributes?.ApproximateReceiveCount) ?? 1;
  const prior = positiveInt(record.messageAttributes?.[priorAttemptsAttribute]?.stringValue) ?? 0;
  const attempt = prior + receiveCount;
  const summary: RetryRecordSummary = {
    message_id: record.messageId,
    attempt,
    max_attempts: deps.maxReceiveCount,
    matched: [],
    patched: [],
    failed: [],
    outcome: 'retried',
    duration_ms: 0,
  };
  const finish = (result: RecordResult): RecordResult => {
    summary.duration_ms = Number((deps.clock() - started) / 1000n) / 1000;
    deps.log(summary.outcome === 'applied' ? 'info' : summary.outcome === 'retried' ? 'warn' : 'error', summary);
    return result;
  };
  try {
    return finish(await handleRecord(record, deps, summary, { receiveCount, prior, attempt }));
  } catch (error) {
    // Nothing here should throw; if something does, the record comes back after the queue's visibility timeout
    // (and is dead-lettered by the redrive policy if it keeps doing so) instead of failing the whole batch.
    Object.assign(summary, { outcome: 'retried', reason: `unexpected error: ${describeError(error)}` });
    return finish({ summary, comeBack: true });
  }
}

async function handleRecord(
  record: SQSRecord,
  deps: RetryWorkerDeps,
  summary: RetryRecordSummary,
  { receiveCount, prior, attempt }: { receiveCount: number; prior: number; attempt: number },
): Promise<RecordResult> {
  const deadLetter = async (messages: OutgoingMessage[], reason: string, exhausted = false): Promise<RecordResult> => {
    Object.assign(summary, { outcome: 'dead_letter', reason }, exhausted ? { exhausted } : {});
    try {
      await deps.queue.deadLetter(messages);
      return { summary, comeBack: false };
    } catch (error) {
      // Could not reach the DLQ: keep the record; it comes back, and the redrive policy has the last word.
      summary.reason = `${reason}; could not be sent to the dead-letter queue (${describeError(error)})`;
      return { summary, comeBack: true };
    }
  };
  const attributes = (reason: string) => ({ reason: reason.slice(0, 1000), attempts: String(attempt) });

  const parsed = parseClusterJob(record.body, { config: deps.config, nowNs: deps.clock() });
  const summarise = (job: ClusterJob) =>
    Object.assign(summary, { receiver: job.receiver, cluster: job.cluster, requestedAt: job.requestedAt }, job.deliveryId ? { delivery_id: job.deliveryId } : {});
  if ('error' in parsed) {
    if (parsed.kind === 'unconfigured') summarise(parsed.job);
    const reason = parsed.kind === 'malformed' ? `not a cluster job: ${parsed.error}` : parsed.error;
    return deadLetter([{ body: record.body, attributes: attributes(reason) }], reason);
  }
  const { job } = parsed;
  summarise(job);
  // parseClusterJob has checked that both are configured.
  const receiver = deps.config.receivers[job.receiver]!;

  const outcome = await withTimeout(deps.config.limits.clusterTimeoutMs, undefined, (signal) => reconcileCluster(job, receiver, deps, signal, { keepLaterRequests: true }));
  Object.assign(summary, { matched: outcome.matched.sort(), patched: outcome.patched.sort(), failed: outcome.failed.map(({ target, error }) => ({ target, error })).sort((x, y) => x.target.localeCompare(y.target)) });
  const retryable = outcome.failed.filter((f) => f.retryable);
  const permanent = outcome.failed.filter((f) => !f.retryable);

  const toDeadLetter: OutgoingMessage[] = [];
  if (permanent.length > 0) {
    const reason = `failed for good: ${permanent.map((f) => `${f.target}: ${f.error}`).join('; ')}`;
    toDeadLetter.push({ body: JSON.stringify(narrowedTo(job, permanent)), attributes: attributes(reason) });
  }
  if (retryable.length === 0) {
    if (toDeadLetter.length === 0) {
      summary.outcome = 'applied';
      return { summary, comeBack: false };
    }
    return deadLetter(toDeadLetter, toDeadLetter[0]!.attributes!.reason!);
  }

  const next = narrowedTo(job, retryable);
  const narrower = toDeadLetter.length > 0 || narrowerThan(next, job, outcome);
  const lastError = retryable.map((f) => `${f.target}: ${f.error}`).join('; ');
  if (attempt >= deps.maxReceiveCount) {
    // An unchanged original at its last receive is left to the redrive policy (visibility 0: moved at the next
    // receive), so the DLQ holds it exactly as the relay sent it. A copy carries its own count and goes directly.
    if (!narrower && prior === 0 && receiveCount >= deps.maxReceiveCount) {
      await deps.queue.changeVisibility(record.receiptHandle, 0).catch(() => undefined);
      Object.assign(summary, { outcome: 'dead_letter', exhausted: true, reason: `retries exhausted after ${attempt} attempts: ${lastError}` });
      return { summary, comeBack: true };
    }
    const reason = `retries exhausted after ${attempt} attempts: ${lastError}`;
    return deadLetter([...toDeadLetter, { body: JSON.stringify(next), attributes: attributes(reason) }], reason, true);
  }

  const delay = backoffSeconds(attempt, deps.random);
  summary.next_attempt_in_s = delay;
  if (narrower) {
    try {
      await deps.queue.requeue([{ body: JSON.stringify(next), delaySeconds: delay, attributes: { [priorAttemptsAttribute]: String(attempt) } }]);
      if (toDeadLetter.length > 0) await deps.queue.deadLetter(toDeadLetter);
      return { summary, comeBack: false };
    } catch (error) {
      // The original still holds everything: let it come back instead.
      summary.reason = `narrowed copy could not be queued (${describeError(error)}); the original comes back`;
    }
  }
  try {
    await deps.queue.changeVisibility(record.receiptHandle, delay);
  } catch (error) {
    summary.reason = `${summary.reason ? `${summary.reason}; ` : ''}visibility could not be changed (${describeError(error)}); back after the queue's visibility timeout`;
    delete summary.next_attempt_in_s;
  }
  return { summary, comeBack: true };
}

/** Whether `next` asks for strictly less than `job` did: fewer `only` targets, or a list where the job re-matched. */
function narrowerThan(next: ClusterJob, job: ClusterJob, outcome: ClusterOutcome): boolean {
  if (next === job) return false;
  if (job.only) return next.only!.length < job.only.length;
  // A whole-cluster job that got as far as matching and patching some: its failures are a narrower job now.
  return outcome.patched.length > 0 || next.only!.length < outcome.matched.length;
}

function positiveInt(value: string | undefined): number | undefined {
  if (value === undefined || !/^\d+$/.test(value)) return undefined;
  const n = Number(value);
  return n > 0 ? n : undefined;
}
