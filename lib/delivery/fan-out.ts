import { isAbortError, untilAborted, withTimeout } from '../time/abort';
import { rfc3339Nano, type Clock } from '../time/clock';
import type { RelayConfig, RoutingConfig } from '../config/schema';
import type { ClusterRegistry } from '../kube/registry';
import { parseArtifactReference } from '../matching/artifact-ref';
import type { PushedArtifact } from '../matching/artifact-routing';
import type { WarnOnce } from '../observability/warn';
import type { ArtifactPushEvent, PushEvent } from '../providers/provider';
import type { RetryQueue } from '../retry/queue';
import type { DeliveryFacts, Reconciled } from './delivery';
import { describeError } from './errors';
import {
  type ClusterJob,
  type ClusterOutcome,
  type JobSource,
  jobsFor,
  narrowedTo,
  reconcileCluster,
} from './reconcile';

/*
 * The clusters' side of a delivery, whatever brought it: a webhook (relay.ts) or an EventBridge event (lib/registry-events).
 * It needs no provider module, so a function that only routes registry events does not bundle them.
 */

/** What fanning a delivery out to its clusters needs. */
export interface FanOutDeps {
  config: RelayConfig;
  clusters: Pick<ClusterRegistry, 'clientFor'> & Partial<Pick<ClusterRegistry, 'reportFailure'>>;
  clock: Clock;
  /** Where failed-but-retryable cluster jobs go; without it they are answered 502 (as a provider retry is the only retry). */
  retry?: RetryQueue;
  /** Where what deliveries find wrong with cluster objects is reported, once each (lib/delivery/reconcile.ts). */
  warnOnce?: WarnOnce;
}

/**
 * Each reported artifact as routing compares it: the repository key of its reference, and its tag and digest (the
 * payload's fields first, else what the reference carries). A reference that is not a registry reference routes
 * nothing (static targets still apply).
 */
export function pushedArtifacts(push: ArtifactPushEvent): PushedArtifact[] {
  const out: PushedArtifact[] = [];
  for (const a of push.artifacts) {
    const parsed = parseArtifactReference(a.reference);
    if (!parsed) continue;
    const tag = a.tag ?? parsed.tag;
    const digest = a.digest ?? parsed.digest;
    out.push({ key: parsed.key, ...(tag ? { tag } : {}), ...(digest ? { digest } : {}) });
  }
  return out;
}

/** The message of the Kubernetes Event recorded on each patched object: why it reconciled. */
export function eventNote(facts: DeliveryFacts): string {
  const what = [facts.provider, facts.event].filter(Boolean).join(' ');
  const where = facts.repository ? ` of ${facts.repository} ${facts.ref ?? facts.tag ?? ''}`.trimEnd() : '';
  const commit = facts.commit
    ? ` at ${facts.commit.slice(0, 40)}`
    : facts.digest
      ? ` at ${facts.digest.slice(0, 80)}`
      : '';
  const delivery = facts.deliveryId ? ` (delivery ${facts.deliveryId})` : '';
  return `Reconcile requested by flux-webhook-relay: ${what}${where}${commit}${delivery}`;
}

/**
 * Runs the delivery's job on every cluster of the receiver (or the ecr section: `source`) in parallel. Each cluster
 * gets its own timeout inside the delivery's overall budget, so one unreachable cluster cannot starve the others or
 * push the answer past the provider's delivery timeout. What failed for a passing reason is queued for retry when a
 * queue is configured.
 */
export async function reconcileTargets(
  push: PushEvent | { artifacts: PushedArtifact[] } | undefined,
  receiver: RoutingConfig,
  facts: DeliveryFacts,
  deps: FanOutDeps,
  source?: JobSource,
): Promise<Reconciled> {
  const { limits } = deps.config;
  const requestedAt = rfc3339Nano(deps.clock());
  const jobs = jobsFor(facts.receiver, receiver, Object.keys(deps.config.clusters), {
    ...(source ? { source } : {}),
    requestedAt,
    note: eventNote(facts),
    ...(push && 'artifacts' in push ? { artifacts: push.artifacts } : {}),
    ...(push && 'changes' in push
      ? { repositoryUrls: push.repositoryUrls, refs: push.changes.filter((c) => !c.deleted).map((c) => c.ref) }
      : {}),
    ...(facts.deliveryId ? { deliveryId: facts.deliveryId } : {}),
  });
  // One budget for patching and queueing what failed: the provider's answer must not wait past it. Every cluster job
  // starts now, so a cluster's own timer capped at the budget is the budget for that phase; the budget's own signal
  // is only made when something must be queued, with what is left of it. (A budget signal as the parent of every
  // cluster's signal cost one more AbortController, timer and listener pair per delivery, ~15 µs and ~3 KB.)
  const budgetEndsAt = performance.now() + limits.deliveryBudgetMs;
  const clusterMs = Math.min(limits.clusterTimeoutMs, limits.deliveryBudgetMs);
  const outcomes = await Promise.all(
    jobs.map((job) => withTimeout(clusterMs, undefined, (signal) => reconcileCluster(job, receiver, deps, signal))),
  );
  const retryJobs = deps.retry ? jobs.flatMap((job, i) => retryJobOf(job, outcomes[i]!)) : [];
  const queuedTargets = new Set<string>();
  let queueError: string | undefined;
  if (deps.retry && retryJobs.length > 0) {
    const retry = deps.retry;
    const left = budgetEndsAt - performance.now();
    try {
      if (left <= 0) throw new DOMException('the delivery budget ran out', 'TimeoutError');
      await withTimeout(left, undefined, (budget) => untilAborted(retry.enqueue(retryJobs, budget), budget));
      for (const o of outcomes) for (const f of o.failed) if (f.retryable) queuedTargets.add(f.target);
    } catch (error) {
      queueError = isAbortError(error) ? 'the delivery budget ran out' : describeError(error);
    }
  }
  const failed = outcomes.flatMap((o) => o.failed);
  return {
    requestedAt,
    matched: outcomes.flatMap((o) => o.matched).sort(),
    patched: outcomes.flatMap((o) => o.patched).sort(),
    queued: [...queuedTargets].sort(),
    failed: failed
      .filter((f) => !queuedTargets.has(f.target))
      .map((f) => ({
        target: f.target,
        error: queueError && f.retryable ? `${f.error}; could not be queued for retry (${queueError})` : f.error,
      }))
      .sort((a, b) => a.target.localeCompare(b.target)),
    eventsFailed: outcomes.reduce((n, o) => n + (o.eventsFailed ?? 0), 0),
  };
}

/** The job to queue for what failed on one cluster for a passing reason; nothing if only permanent failures. */
function retryJobOf(job: ClusterJob, outcome: ClusterOutcome): ClusterJob[] {
  const retryable = outcome.failed.filter((f) => f.retryable);
  return retryable.length === 0 ? [] : [narrowedTo(job, retryable)];
}
