import type { DeliverySummary } from '../observability/delivery-log';
import { type Delivery, outcomeOf, statusOf } from './delivery';

/** The one log line of a delivery, from the delivery and how long it took: every detail, for the operator. */
export function summaryOf({ facts, result }: Delivery, durationMs: number): DeliverySummary {
  const reconciled = result.kind === 'reconciled' ? result.reconciled : undefined;
  const reason =
    result.kind === 'rejected'
      ? `${result.error.reason}: ${result.error.detail}`
      : result.kind === 'ignored' || result.kind === 'duplicate'
        ? result.reason
        : undefined;
  return {
    receiver: facts.receiver,
    ...(facts.provider ? { provider: facts.provider } : {}),
    ...(facts.event ? { event: facts.event } : {}),
    ...(facts.deliveryId ? { delivery_id: facts.deliveryId } : {}),
    ...(facts.repository ? { repository: facts.repository } : {}),
    ...(facts.ref ? { ref: facts.ref } : {}),
    ...(facts.commit ? { commit: facts.commit } : {}),
    ...(facts.tag ? { tag: facts.tag } : {}),
    ...(facts.digest ? { digest: facts.digest } : {}),
    ...(reconciled ? { requestedAt: reconciled.requestedAt } : {}),
    matched: reconciled?.matched ?? [],
    patched: reconciled?.patched ?? [],
    failed: reconciled?.failed ?? [],
    ...(reconciled && reconciled.queued.length > 0 ? { queued: reconciled.queued } : {}),
    ...(reconciled && reconciled.eventsFailed > 0 ? { events_failed: reconciled.eventsFailed } : {}),
    outcome: outcomeOf(result),
    ...(reason ? { reason } : {}),
    status: statusOf(result),
    duration_ms: durationMs,
  };
}
