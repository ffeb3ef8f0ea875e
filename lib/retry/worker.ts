import { withTimeout } from '../time/abort';
import type { Clock } from '../time/clock';
import type { RelayConfig } from '../config/schema';
import { describeError } from '../delivery/errors';
import {
  type ClusterJob,
  type ClusterOutcome,
  type ReconcileDeps,
  narrowedTo,
  reconcileCluster,
} from '../delivery/reconcile';
import { backoffSeconds } from './backoff';
import { parseClusterJob, routingOf } from './job';
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

/** One SQS record as the retry core needs it (functions/retry.ts adapts Lambda's event). */
export interface RetryMessage {
  messageId: string;
  body: string;
  receiptHandle: string;
  /** SQS's ApproximateReceiveCount attribute, as sent. */
  receiveCount?: string;
  /** The `priorAttempts` message attribute of a narrowed copy, as sent. */
  priorAttempts?: string;
}

/** The batch's outcome: the ids that must come back (Lambda's batchItemFailures) and one summary per record. */
export interface RetryBatchResult {
  comeBack: string[];
  records: RetryRecordSummary[];
}

export async function processRetryBatch(
  messages: readonly RetryMessage[],
  deps: RetryWorkerDeps,
): Promise<RetryBatchResult> {
  const records = await Promise.all(messages.map((message) => processRecord(message, deps)));
  return {
    comeBack: records.filter((r) => r.comeBack).map((r) => r.summary.message_id),
    records: records.map((r) => r.summary),
  };
}

/** What handling one record came to, before it is summarised. */
interface Handled {
  /** The job, once the message parsed as one (or as one whose receiver or cluster is no longer configured). */
  job?: ClusterJob;
  /** What running it again did. */
  ran?: Pick<RetryRecordSummary, 'matched' | 'patched' | 'failed'>;
  outcome: RetryOutcome;
  /** Report in batchItemFailures: the record stays in the queue. */
  comeBack: boolean;
  reason?: string;
  exhausted?: boolean;
  nextAttemptInS?: number;
}

async function processRecord(
  message: RetryMessage,
  deps: RetryWorkerDeps,
): Promise<{ summary: RetryRecordSummary; comeBack: boolean }> {
  const started = deps.clock();
  const receiveCount = positiveInt(message.receiveCount) ?? 1;
  const prior = positiveInt(message.priorAttempts) ?? 0;
  const attempt = prior + receiveCount;
  let handled: Handled;
  try {
    handled = await handleRecord(message, deps, { receiveCount, prior, attempt });
  } catch (error) {
    // Nothing here should throw; if something does, the record comes back after the queue's visibility timeout
    // (and is dead-lettered by the redrive policy if it keeps doing so) instead of failing the whole batch.
    handled = { outcome: 'retried', comeBack: true, reason: `unexpected error: ${describeError(error)}` };
  }
  const { job, ran } = handled;
  const summary: RetryRecordSummary = {
    message_id: message.messageId,
    ...(job?.deliveryId ? { delivery_id: job.deliveryId } : {}),
    ...(job ? { receiver: job.receiver, cluster: job.cluster, requestedAt: job.requestedAt } : {}),
    attempt,
    max_attempts: deps.maxReceiveCount,
    matched: ran?.matched ?? [],
    patched: ran?.patched ?? [],
    failed: ran?.failed ?? [],
    outcome: handled.outcome,
    ...(handled.reason ? { reason: handled.reason } : {}),
    ...(handled.exhausted ? { exhausted: true } : {}),
    ...(handled.nextAttemptInS !== undefined ? { next_attempt_in_s: handled.nextAttemptInS } : {}),
    duration_ms: Number((deps.clock() - started) / 1000n) / 1000,
  };
  deps.log(summary.outcome === 'applied' ? 'info' : summary.outcome === 'retried' ? 'warn' : 'error', summary);
  return { summary, comeBack: handled.comeBack };
}

async function handleRecord(
  message: RetryMessage,
  deps: RetryWorkerDeps,
  { receiveCount, prior, attempt }: { receiveCount: number; prior: number; attempt: number },
): Promise<Handled> {
  const attributes = (reason: string) => ({ reason: reason.slice(0, 1000), attempts: String(attempt) });
  const deadLetter = async (
    known: Pick<Handled, 'job' | 'ran'>,
    messages: OutgoingMessage[],
    reason: string,
    exhausted = false,
  ): Promise<Handled> => {
    const handled: Handled = {
      ...known,
      outcome: 'dead_letter',
      comeBack: false,
      reason,
      ...(exhausted ? { exhausted } : {}),
    };
    try {
      await deps.queue.deadLetter(messages);
      return handled;
    } catch (error) {
      // Could not reach the DLQ: keep the record; it comes back, and the redrive policy has the last word.
      return {
        ...handled,
        comeBack: true,
        reason: `${reason}; could not be sent to the dead-letter queue (${describeError(error)})`,
      };
    }
  };

  const parsed = parseClusterJob(message.body, { config: deps.config, nowNs: deps.clock() });
  if ('error' in parsed) {
    const reason = parsed.kind === 'malformed' ? `not a cluster job: ${parsed.error}` : parsed.error;
    return deadLetter(
      parsed.kind === 'unconfigured' ? { job: parsed.job } : {},
      [{ body: message.body, attributes: attributes(reason) }],
      reason,
    );
  }
  const { job } = parsed;
  // parseClusterJob has checked that both are configured.
  const receiver = routingOf(deps.config, job)!;

  const outcome = await withTimeout(deps.config.limits.clusterTimeoutMs, undefined, (signal) =>
    reconcileCluster(job, receiver, deps, signal, { keepLaterRequests: true }),
  );
  const ran = {
    matched: [...outcome.matched].sort(),
    patched: [...outcome.patched].sort(),
    failed: outcome.failed
      .map(({ target, error }) => ({ target, error }))
      .sort((x, y) => x.target.localeCompare(y.target)),
  };
  const known = { job, ran };
  const retryable = outcome.failed.filter((f) => f.retryable);
  const permanent = outcome.failed.filter((f) => !f.retryable);

  const toDeadLetter: OutgoingMessage[] = [];
  if (permanent.length > 0) {
    const reason = `failed for good: ${permanent.map((f) => `${f.target}: ${f.error}`).join('; ')}`;
    toDeadLetter.push({ body: JSON.stringify(narrowedTo(job, permanent)), attributes: attributes(reason) });
  }
  if (retryable.length === 0) {
    if (toDeadLetter.length === 0) return { ...known, outcome: 'applied', comeBack: false };
    return deadLetter(known, toDeadLetter, toDeadLetter[0]!.attributes!.reason!);
  }

  const next = narrowedTo(job, retryable);
  const narrower = toDeadLetter.length > 0 || narrowerThan(next, job, outcome);
  const lastError = retryable.map((f) => `${f.target}: ${f.error}`).join('; ');
  if (attempt >= deps.maxReceiveCount) {
    const reason = `retries exhausted after ${attempt} attempts: ${lastError}`;
    // An unchanged original at its last receive is left to the redrive policy (visibility 0: moved at the next
    // receive), so the DLQ holds it exactly as the relay sent it. A copy carries its own count and goes directly.
    if (!narrower && prior === 0 && receiveCount >= deps.maxReceiveCount) {
      await deps.queue.changeVisibility(message.receiptHandle, 0).catch(() => undefined);
      return { ...known, outcome: 'dead_letter', comeBack: true, exhausted: true, reason };
    }
    return deadLetter(
      known,
      [...toDeadLetter, { body: JSON.stringify(next), attributes: attributes(reason) }],
      reason,
      true,
    );
  }

  const delay = backoffSeconds(attempt, deps.random);
  let reason: string | undefined;
  if (narrower) {
    try {
      await deps.queue.requeue([
        { body: JSON.stringify(next), delaySeconds: delay, attributes: { [priorAttemptsAttribute]: String(attempt) } },
      ]);
      if (toDeadLetter.length > 0) await deps.queue.deadLetter(toDeadLetter);
      return { ...known, outcome: 'retried', comeBack: false, nextAttemptInS: delay };
    } catch (error) {
      // The original still holds everything: let it come back instead.
      reason = `narrowed copy could not be queued (${describeError(error)}); the original comes back`;
    }
  }
  try {
    await deps.queue.changeVisibility(message.receiptHandle, delay);
    return { ...known, outcome: 'retried', comeBack: true, nextAttemptInS: delay, ...(reason ? { reason } : {}) };
  } catch (error) {
    const unchanged = `visibility could not be changed (${describeError(error)}); back after the queue's visibility timeout`;
    return { ...known, outcome: 'retried', comeBack: true, reason: reason ? `${reason}; ${unchanged}` : unchanged };
  }
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
