import { mapStringsDeep, redact } from './redact';

/** The one line logged per delivery. Field names are snake_case for CloudWatch Logs Insights queries. */
export interface DeliverySummary {
  receiver: string;
  provider?: string;
  event?: string;
  delivery_id?: string;
  repository?: string;
  ref?: string;
  commit?: string;
  /** A registry push: the pushed tags and digests, comma-joined (`repository` is the pushed repository). */
  tag?: string;
  digest?: string;
  /** `cluster/namespace/Kind/name` of every object the push concerned (matched GitRepositories and static targets). */
  matched: string[];
  patched: string[];
  failed: Array<{ target: string; error: string }>;
  /** Targets (or whole clusters, `cluster/*`) whose patch failed for a passing reason and was queued for retry. */
  queued?: string[];
  /** Kubernetes Events (reason WebhookReceived) that could not be recorded on patched objects. */
  events_failed?: number;
  /** The annotation value written, when the delivery got as far as patching. */
  requestedAt?: string;
  /** What happened: patched | queued | no_match | ignored | pong | duplicate | failed | rejected. */
  outcome: Outcome;
  /** Why a delivery was ignored or rejected. */
  reason?: string;
  status: number;
  duration_ms: number;
}

export type Outcome = 'patched' | 'queued' | 'no_match' | 'ignored' | 'pong' | 'duplicate' | 'failed' | 'rejected';

/** Where the summary goes (Powertools Logger in Lambda). Exactly one call per delivery. */
export type DeliveryLog = (level: 'info' | 'warn' | 'error', summary: DeliverySummary) => void;

/**
 * Longest string written in a log line field. Every field a caller controls is bounded where it is read (event and
 * delivery id in lib/delivery/relay.ts, payload fields in lib/providers/payload.ts); this is the last bound, for joined lists
 * (`ref`, `commit` of a 100-ref push) and for error texts from clusters and backends.
 */
export const maxLoggedChars = 2048;

/**
 * The summary as it may be written: every string redacted (lib/observability/redact.ts) and cut at `maxLoggedChars`
 * (after redaction, so a cut can never leave half a secret unrecognised).
 */
export function loggableSummary(summary: DeliverySummary): DeliverySummary {
  return loggableFields(summary);
}

/** Any log line's fields made loggable the same way: the sync and retry functions write theirs through this. */
export function loggableFields<T>(fields: T): T {
  return mapStringsDeep(fields, redactAndBound);
}

/** Redacted first, then cut (see above). */
function redactAndBound(value: string): string {
  return bound(redact(value));
}

function bound(value: string): string {
  return value.length > maxLoggedChars
    ? `${value.slice(0, maxLoggedChars)}…(${value.length - maxLoggedChars} more)`
    : value;
}
