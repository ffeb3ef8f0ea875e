import type { Outcome } from '../observability/delivery-log';
import type { MappedError } from './errors';

/**
 * A delivery as a value: what the pipeline learnt about it (facts) and what it came to (result). The pipeline
 * (relay.ts) only produces it; the HTTP answer (answers.ts) and the log line (summary.ts) are pure functions of it,
 * and the status is chosen in exactly one place, `statusOf`.
 */
export interface Delivery {
  facts: DeliveryFacts;
  result: DeliveryResult;
}

/** What the delivery says about itself, as far as the pipeline got: claimed before authentication, parsed after. */
export interface DeliveryFacts {
  receiver: string;
  provider?: string;
  event?: string;
  deliveryId?: string;
  repository?: string;
  /** Every ref the push moved, comma-joined. */
  ref?: string;
  /** The commits of the refs that still exist, comma-joined. */
  commit?: string;
  /** A registry push: the pushed tags, comma-joined. */
  tag?: string;
  /** A registry push: the pushed digests, comma-joined. */
  digest?: string;
}

export type DeliveryResult =
  /** Refused before anything was applied: a typed error, mapped once (errors.ts `httpStatusOf`). */
  | { kind: 'rejected'; error: MappedError }
  /** A provider's ping or test delivery, answered after authentication. */
  | { kind: 'pong' }
  /** Authenticated, and deliberately not acted on. */
  | { kind: 'ignored'; reason: string }
  /** Applied before within the replay window (replay protection). */
  | { kind: 'duplicate'; reason: string }
  /** Got as far as the clusters. */
  | { kind: 'reconciled'; reconciled: Reconciled };

/** What patching the delivery's targets came to, on every cluster. */
export interface Reconciled {
  requestedAt: string;
  /** `cluster/namespace/Kind/name` of every object the push concerned. */
  matched: string[];
  patched: string[];
  /** Failed for a passing reason and queued for the retry function. */
  queued: string[];
  failed: Array<{ target: string; error: string }>;
  /** Kubernetes Events that could not be recorded (not a failure of the delivery). */
  eventsFailed: number;
}

/**
 * 200 when everything was patched (or nothing matched), 202 when what failed for a passing reason was queued for
 * retry, 502 when anything failed for good or could not be queued.
 */
export function outcomeOf(result: DeliveryResult): Outcome {
  if (result.kind !== 'reconciled') return result.kind;
  const r = result.reconciled;
  return r.failed.length > 0
    ? 'failed'
    : r.queued.length > 0
      ? 'queued'
      : r.matched.length > 0
        ? 'patched'
        : 'no_match';
}

/** The HTTP status of a delivery: the one place it is decided. */
export function statusOf(result: DeliveryResult): number {
  if (result.kind === 'rejected') return result.error.status;
  const outcome = outcomeOf(result);
  return outcome === 'failed' ? 502 : outcome === 'queued' ? 202 : 200;
}
