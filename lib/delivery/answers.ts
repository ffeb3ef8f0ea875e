import type { AnswersMode, RelayConfig } from '../config/schema';
import type { DeliverySummary } from '../observability/delivery-log';
import type { RejectionReason } from './errors';

/**
 * The `counts` form of answers (config `answers`): what a provider's delivery history may show to every admin of the
 * repository. Built from the delivery's summary, never from the detailed answer, so nothing that names a cluster,
 * namespace, object, secret or quotes an API server can get in by a field added later to the detailed form.
 */

/** The answers mode of a delivery: its receiver's, else the top-level one (also for a receiver that does not exist). */
export function answersModeOf(config: Pick<RelayConfig, 'answers' | 'receivers'>, receiverName: string): AnswersMode {
  const receiver = Object.hasOwn(config.receivers, receiverName) ? config.receivers[receiverName] : undefined;
  return receiver?.answers ?? config.answers;
}

/**
 * Fixed text per rejection reason: a rejection's detailed message may echo the request (a receiver name from the
 * URL, a header) or, for a future error, something internal; these echo nothing.
 */
const rejectionMessages: Record<RejectionReason, string> = {
  method_not_allowed: 'webhooks are delivered with POST',
  unknown_receiver: 'no such receiver is configured',
  payload_too_large: 'the body exceeds the size limit',
  unsupported_media_type: 'the content type is not accepted',
  missing_signature: 'the credential header is missing',
  bad_signature: 'the delivery does not verify against the receiver secret',
  malformed_payload: 'the payload is not a delivery this receiver understands',
  headers_too_large: 'the request headers exceed the limit',
  malformed_body: 'the body encoding is broken',
  payload_limit_exceeded: 'the payload exceeds a limit of the relay',
  secret_unavailable: 'the webhook secret could not be read; the delivery can be retried',
  duplicate_in_progress: 'this delivery is being applied by another invocation right now',
  internal_error: 'internal error',
};

const patchingOutcomes = new Set<DeliverySummary['outcome']>(['patched', 'queued', 'failed', 'no_match']);

/**
 * The `counts` answer of a delivery, from its summary (complete by now). Outcomes that never reach a cluster (pong,
 * ignored, duplicate) keep their detailed answer: it says nothing of clusters (the event, the repository and ref the
 * provider sent, the delivery id).
 */
export function countsAnswer(summary: DeliverySummary, detailed: Record<string, unknown>, rejection?: RejectionReason): Record<string, unknown> {
  if (summary.outcome === 'rejected') {
    const reason = rejection ?? 'internal_error';
    return { outcome: 'rejected', reason, message: rejectionMessages[reason] };
  }
  if (!patchingOutcomes.has(summary.outcome)) return detailed;
  const queued = summary.queued?.length ?? 0;
  const failed = summary.failed.length;
  const reason =
    failed > 0 ? `${targets(failed)} could not be patched; the relay log has the details` : queued > 0 ? `${targets(queued)} ${queued === 1 ? 'is' : 'are'} queued for retry` : undefined;
  return {
    outcome: summary.outcome,
    ...(summary.event ? { event: summary.event } : {}),
    ...(summary.requestedAt ? { requestedAt: summary.requestedAt } : {}),
    matched: summary.matched.length,
    patched: summary.patched.length,
    queued,
    failed,
    ...(reason ? { reason } : {}),
  };
}

function targets(n: number): string {
  return `${n} target${n === 1 ? '' : 's'}`;
}
