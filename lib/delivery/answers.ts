import type { AnswersMode, RelayConfig } from '../config/schema';
import type { Delivery } from './delivery';
import { outcomeOf } from './delivery';
import type { RejectionReason } from './errors';

/**
 * What a delivery's HTTP answer says, in the receiver's `answers` mode. The provider keeps every answer in the hook's
 * delivery history, which every admin of the repository can read: `detailed` names what was matched, patched, queued
 * and failed; `counts` only numbers and fixed reasons. Both are built from the delivery value, so nothing that names a
 * cluster, namespace, object, secret or quotes an API server can reach a `counts` answer by a field added later to the
 * detailed form.
 */
export function answerOf(delivery: Delivery, mode: AnswersMode): Record<string, unknown> {
  return mode === 'counts' ? countsAnswer(delivery) : detailedAnswer(delivery);
}

/** The answers mode of a delivery: its receiver's, else the top-level one (also for a receiver that does not exist). */
export function answersModeOf(config: Pick<RelayConfig, 'answers' | 'receivers'>, receiverName: string): AnswersMode {
  const receiver = Object.hasOwn(config.receivers, receiverName) ? config.receivers[receiverName] : undefined;
  return receiver?.answers ?? config.answers;
}

function detailedAnswer({ facts, result }: Delivery): Record<string, unknown> {
  const outcome = outcomeOf(result);
  switch (result.kind) {
    case 'rejected':
      return { outcome, reason: result.error.reason, message: result.error.message };
    case 'pong':
      return { outcome, event: facts.event };
    case 'ignored':
    case 'duplicate':
      return {
        ...(facts.repository ? { repository: facts.repository } : {}),
        outcome,
        event: facts.event,
        reason: result.reason,
      };
    case 'reconciled': {
      const r = result.reconciled;
      return {
        outcome,
        event: facts.event,
        ...(facts.repository ? { repository: facts.repository } : {}),
        ...(facts.ref ? { ref: facts.ref } : {}),
        ...(facts.commit ? { commit: facts.commit } : {}),
        ...(facts.tag ? { tag: facts.tag } : {}),
        ...(facts.digest ? { digest: facts.digest } : {}),
        requestedAt: r.requestedAt,
        matched: r.matched,
        patched: r.patched,
        ...(r.queued.length > 0 ? { queued: r.queued } : {}),
        failed: r.failed,
      };
    }
  }
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
  keys_unavailable: 'the keys to verify the token could not be fetched; the delivery can be retried',
  duplicate_in_progress: 'this delivery is being applied by another invocation right now',
  internal_error: 'internal error',
};

/**
 * The `counts` answer. Outcomes that never reach a cluster (pong, ignored, duplicate) keep their detailed answer: it
 * says nothing of clusters (the event, the repository and ref the provider sent, the delivery id).
 */
function countsAnswer(delivery: Delivery): Record<string, unknown> {
  const { facts, result } = delivery;
  if (result.kind === 'rejected')
    return { outcome: 'rejected', reason: result.error.reason, message: rejectionMessages[result.error.reason] };
  if (result.kind !== 'reconciled') return detailedAnswer(delivery);
  const r = result.reconciled;
  const queued = r.queued.length;
  const failed = r.failed.length;
  const reason =
    failed > 0
      ? `${targets(failed)} could not be patched; the relay log has the details`
      : queued > 0
        ? `${targets(queued)} ${queued === 1 ? 'is' : 'are'} queued for retry`
        : undefined;
  return {
    outcome: outcomeOf(result),
    ...(facts.event ? { event: facts.event } : {}),
    requestedAt: r.requestedAt,
    matched: r.matched.length,
    patched: r.patched.length,
    queued,
    failed,
    ...(reason ? { reason } : {}),
  };
}

function targets(n: number): string {
  return `${n} target${n === 1 ? '' : 's'}`;
}
