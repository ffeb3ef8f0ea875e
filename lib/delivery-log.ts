/** The one line logged per delivery. Field names are snake_case for CloudWatch Logs Insights queries. */
export interface DeliverySummary {
  receiver: string;
  provider?: string;
  event?: string;
  delivery_id?: string;
  repository?: string;
  ref?: string;
  commit?: string;
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
