import type { DeliveryLog, DeliverySummary } from '../observability/delivery-log';
import type { Delivery, DeliveryFacts } from '../delivery/delivery';
import { httpStatusOf } from '../delivery/errors';
import { type FanOutDeps, pushedArtifacts, reconcileTargets } from '../delivery/fan-out';
import { summaryOf } from '../delivery/summary';
import { claimedFacts, readEcrEvent, refusalOf } from './ecr-event';

/*
 * The second way a push reaches the relay's core: an EventBridge event instead of a webhook. ECR sends no webhooks;
 * it publishes each push to EventBridge, whose rule (serverless.yml, infra/serverless/registry-events.cjs) invokes
 * functions/registry-events.ts. No signature to check: only EventBridge may invoke the function (its resource policy
 * names the rule's ARN), so an event is as authentic as AWS's IAM. Everything after reading the event is the
 * registry receivers' path: the same artifact routing on the configured clusters, the same retry queue, the same
 * log line. Nothing here throws: a bad event is logged and dropped (an exception would only make Lambda retry it).
 */

/** The receiver name and provider an ECR event's log line, metrics and retry jobs carry. */
export const ecrReceiver = 'ecr';

export interface RegistryEventDeps extends FanOutDeps {
  log: DeliveryLog;
}

export interface EcrEventContext {
  /** The account the function runs in (the default of `ecr.accounts`); from the invocation's function ARN. */
  ownAccount?: string;
}

/** Handles one ECR event end to end: read, filter, route, patch, and log exactly one summary line, which it returns. */
export async function handleEcrEvent(
  event: unknown,
  deps: RegistryEventDeps,
  context: EcrEventContext = {},
): Promise<DeliverySummary> {
  const started = deps.clock();
  const delivery = await route(event, deps, context);
  const summary = summaryOf(delivery, Number((deps.clock() - started) / 1000n) / 1000);
  deps.log(summary.status >= 500 ? 'error' : summary.status >= 400 ? 'warn' : 'info', summary);
  return summary;
}

async function route(event: unknown, deps: RegistryEventDeps, context: EcrEventContext): Promise<Delivery> {
  const claimed = claimedFacts(event);
  let facts: DeliveryFacts = {
    receiver: ecrReceiver,
    provider: ecrReceiver,
    ...(claimed.event ? { event: claimed.event } : {}),
    ...(claimed.id ? { deliveryId: claimed.id } : {}),
  };
  try {
    const reading = readEcrEvent(event);
    if (reading.kind === 'ignored') return { facts, result: { kind: 'ignored', reason: reading.reason } };
    const { push } = reading;
    facts = {
      ...facts,
      repository: push.repository,
      ...(push.tag ? { tag: push.tag } : {}),
      ...(push.digest ? { digest: push.digest } : {}),
    };
    const ecr = deps.config.ecr;
    if (!ecr) return { facts, result: { kind: 'ignored', reason: 'the configuration has no ecr section' } };
    const refusal = refusalOf(push, ecr, context.ownAccount);
    if (refusal) return { facts, result: { kind: 'ignored', reason: refusal } };
    const artifacts = pushedArtifacts({
      repository: push.repository,
      artifacts: [
        {
          reference: push.repository,
          ...(push.tag ? { tag: push.tag } : {}),
          ...(push.digest ? { digest: push.digest } : {}),
        },
      ],
    });
    return {
      facts,
      result: { kind: 'reconciled', reconciled: await reconcileTargets({ artifacts }, ecr, facts, deps, 'ecr') },
    };
  } catch (error) {
    return { facts, result: { kind: 'rejected', error: httpStatusOf(error) } };
  }
}
