import { createHash } from 'node:crypto';
import { isAbortError, untilAborted, withTimeout } from '../time/abort';
import { rfc3339Nano, type Clock } from '../time/clock';
import type { ReceiverConfig, RelayConfig } from '../config/schema';
import type { DeliveryLog, DeliverySummary } from '../observability/delivery-log';
import { type DeliveryDedupe, deliveryLabel } from './dedupe/dedupe';
import { answersModeOf, countsAnswer } from './answers';
import { BadSignature, MalformedPayload, MethodNotAllowed, type RejectionReason, SecretUnavailable, UnknownReceiver, describeError, httpStatusOf } from './errors';
import { checkHeaderLimits, rawBody, type WebhookRequest } from '../http/request';
import type { ClusterRegistry } from '../kube/registry';
import { type ClusterJob, type ClusterOutcome, jobsFor, narrowedTo, reconcileCluster } from './reconcile';
import type { RetryQueue } from '../retry/queue';
import { providers } from '../providers';
import { routesStaticTargetsOnly } from '../providers/names';
import type { Inspection, Provider, PushEvent } from '../providers/provider';
import { minWebhookSecretBytes, type SecretStore } from '../secrets/store';
import { redactDeep } from '../observability/redact';
import type { WarnOnce } from '../observability/warn';

export interface RelayDeps {
  config: RelayConfig;
  secrets: SecretStore;
  clusters: Pick<ClusterRegistry, 'clientFor'> & Partial<Pick<ClusterRegistry, 'reportFailure'>>;
  clock: Clock;
  log: DeliveryLog;
  /** Where failed-but-retryable cluster jobs go; without it they are answered 502 (as a provider retry is the only retry). */
  retry?: RetryQueue;
  /** Replay protection for receivers with `dedupe`; without it those receivers apply every delivery. */
  dedupe?: DeliveryDedupe;
  /** Where what deliveries find wrong with cluster objects is reported, once each (lib/delivery/reconcile.ts). */
  warnOnce?: WarnOnce;
}

export interface RelayResponse {
  statusCode: number;
  headers: Record<string, string>;
  body: string;
}

/**
 * Handles one webhook delivery end to end: authenticate, route, patch, answer, and log exactly one summary line.
 * Checks run cheapest-first and nothing secret is read before the request could be valid (method, receiver, size,
 * content type, header shape), so junk traffic costs no Secrets Manager calls.
 */
export async function handleDelivery(request: WebhookRequest, deps: RelayDeps): Promise<RelayResponse> {
  const started = deps.clock();
  const summary: DeliverySummary = {
    receiver: request.receiver,
    matched: [],
    patched: [],
    failed: [],
    outcome: 'rejected',
    status: 500,
    duration_ms: 0,
  };
  let answer: Record<string, unknown>;
  let headers: Record<string, string> = {};
  let rejection: RejectionReason | undefined;
  try {
    answer = await route(request, deps, summary);
  } catch (error) {
    const mapped = httpStatusOf(error);
    Object.assign(summary, { outcome: 'rejected', status: mapped.status, reason: `${mapped.reason}: ${mapped.detail}` });
    headers = mapped.headers;
    rejection = mapped.reason;
    answer = { outcome: 'rejected', reason: mapped.reason, message: mapped.message };
  }
  // The log line below keeps every detail; only the answer, which the provider shows to repository admins, is cut.
  if (answersModeOf(deps.config, request.receiver) === 'counts') answer = countsAnswer(summary, answer, rejection);
  summary.duration_ms = Number((deps.clock() - started) / 1000n) / 1000;
  deps.log(summary.status >= 500 ? 'error' : summary.status >= 400 ? 'warn' : 'info', summary);
  return {
    statusCode: summary.status,
    headers: { 'content-type': 'application/json', ...headers },
    // Free text (reason, message, failed[].error) may quote a backend's error: scrubbed like the log line.
    body: JSON.stringify({ ...(summary.delivery_id ? { delivery: summary.delivery_id } : {}), ...redactDeep(answer) }),
  };
}

async function route(request: WebhookRequest, deps: RelayDeps, summary: DeliverySummary): Promise<Record<string, unknown>> {
  if (request.method.toUpperCase() !== 'POST') throw new MethodNotAllowed(request.method);
  const receiver = Object.hasOwn(deps.config.receivers, request.receiver) ? deps.config.receivers[request.receiver] : undefined;
  if (!receiver) throw new UnknownReceiver(request.receiver);
  checkHeaderLimits(request);
  const provider = providers[receiver.provider];
  summary.provider = provider.name;

  const { event: claimedEvent, deliveryId } = claimedIdentity(provider, request);
  if (claimedEvent) summary.event = claimedEvent;
  if (deliveryId) summary.delivery_id = deliveryId;

  const body = rawBody(request, deps.config.limits.maxBodyBytes);
  await authenticate(provider.inspect(request, body, receiver), receiver, deps.secrets);

  const event = claimedEvent ?? provider.eventAfterAuthentication?.(body);
  if (!event) throw new MalformedPayload(`the ${provider.name} event header is missing`);
  if (!summary.event) summary.event = event;
  const done = (outcome: DeliverySummary['outcome'], status: number, reason?: string) => {
    Object.assign(summary, { outcome, status, ...(reason ? { reason } : {}) });
    return { outcome, event, ...(reason ? { reason } : {}) };
  };
  if (provider.isPing(event)) return done('pong', 200);
  if (!eventAllowed(event, receiver, provider)) return done('ignored', 200, `event ${event} is not enabled on receiver ${request.receiver}`);
  if (!provider.isPush(event)) return done('ignored', 200, `event ${event} is not a push`);

  const apply = async (): Promise<Record<string, unknown>> => {
    if (routesStaticTargetsOnly(provider.name)) return answerWith(await reconcileTargets(undefined, request.receiver, receiver, deps, summary), summary, event);
    const push = provider.parsePush(request, body, event);
    const live = push.changes.filter((c) => !c.deleted);
    summary.repository = push.repository;
    summary.ref = push.changes.map((c) => c.ref).join(',');
    const commit = live.map((c) => c.commit).filter(Boolean).join(',');
    if (commit) summary.commit = commit;
    if (live.length === 0) {
      const reason = push.changes.length > 0 ? 'the push deleted its ref' : 'the delivery moved no ref';
      return { repository: push.repository, ...done('ignored', 200, reason) };
    }
    return answerWith(await reconcileTargets(push, request.receiver, receiver, deps, summary), summary, event);
  };

  if (!receiver.dedupe || !deps.dedupe) return apply();
  // Keyed by receiver: two receivers may legitimately get the same delivery (one hook, two relays' URLs). Keyed by the
  // authenticated body's hash as well as the id: the id header is signed by no provider, so a replay of captured
  // bytes under a new id, or none, is caught by the body (README, "Replay protection").
  const delivery = {
    receiver: request.receiver,
    ...(summary.delivery_id ? { id: summary.delivery_id } : {}),
    bodySha256: createHash('sha256').update(body).digest('hex'),
    windowSeconds: receiver.dedupe.windowSeconds,
  };
  const once = await deps.dedupe.once(delivery, apply, () => summary.status < 500);
  if (!once.duplicate) return once.result;
  const when = once.firstSeen ? ` at ${once.firstSeen}` : '';
  return done('duplicate', 200, `delivery ${deliveryLabel(delivery)} was already applied${when}; not applied again`);
}

/** The message of the Kubernetes Event recorded on each patched object: why it reconciled. */
function eventNote(summary: DeliverySummary): string {
  const what = [summary.provider, summary.event].filter(Boolean).join(' ');
  const where = summary.repository ? ` of ${summary.repository} ${summary.ref ?? ''}`.trimEnd() : '';
  const commit = summary.commit ? ` at ${summary.commit.slice(0, 40)}` : '';
  const delivery = summary.delivery_id ? ` (delivery ${summary.delivery_id})` : '';
  return `Reconcile requested by flux-webhook-relay: ${what}${where}${commit}${delivery}`;
}

/**
 * The answer (and summary) of a delivery that got as far as patching: 200 when everything was patched, 202 when what
 * failed for a passing reason was queued for retry, 502 when anything failed for good or could not be queued.
 */
function answerWith(result: ReconcileResult, summary: DeliverySummary, event: string): Record<string, unknown> {
  const outcome = result.failed.length > 0 ? 'failed' : result.queued.length > 0 ? 'queued' : result.matched.length > 0 ? 'patched' : 'no_match';
  const status = outcome === 'failed' ? 502 : outcome === 'queued' ? 202 : 200;
  Object.assign(summary, { requestedAt: result.requestedAt, matched: result.matched, patched: result.patched, failed: result.failed }, result.queued.length > 0 ? { queued: result.queued } : {}, result.events_failed ? { events_failed: result.events_failed } : {}, { outcome, status });
  return {
    outcome,
    event,
    ...(summary.repository ? { repository: summary.repository } : {}),
    ...(summary.ref ? { ref: summary.ref } : {}),
    ...(summary.commit ? { commit: summary.commit } : {}),
    requestedAt: result.requestedAt,
    matched: result.matched,
    patched: result.patched,
    ...(result.queued.length > 0 ? { queued: result.queued } : {}),
    failed: result.failed,
  };
}

/**
 * The event and delivery id a delivery claims, from its provider's own headers. Read before authentication only so
 * that the log line of a refused delivery still says what it claimed to be; bounded, since nothing vouches for them
 * yet, and nothing acts on them until the delivery is authenticated.
 */
export function claimedIdentity(provider: Provider, request: WebhookRequest): { event?: string; deliveryId?: string } {
  const event = provider.eventHeader ? request.headers[provider.eventHeader]?.slice(0, 100) || undefined : provider.fixedEvent;
  const deliveryId = provider.deliveryHeaders.map((h) => request.headers[h]).find((v) => v)?.slice(0, 200);
  return { ...(event ? { event } : {}), ...(deliveryId ? { deliveryId } : {}) };
}

async function authenticate(inspection: Inspection, receiver: ReceiverConfig, secrets: SecretStore): Promise<void> {
  let offered = 0;
  try {
    for await (const secret of secrets.candidates(receiver.secret)) {
      offered += 1;
      if (inspection.verify(secret)) return;
    }
  } catch (error) {
    throw new SecretUnavailable(`webhook secret ${receiver.secret.text} could not be read: ${describeError(error)}`);
  }
  const message = 'the delivery does not verify against the receiver secret';
  // Every version was refused (empty or short, lib/secrets/store.ts): the operator's to fix, but still a 401, so that
  // a forgery is neither accepted nor hidden behind a 5xx the signature-rejection alarm does not count.
  if (offered === 0) throw new BadSignature(message, `${message}: webhook secret ${receiver.secret.text} has no usable value (each version is empty or shorter than ${minWebhookSecretBytes} bytes)`);
  throw new BadSignature(message);
}

/** Event names compare case-insensitively, as Flux's Receiver does (`strings.EqualFold`). */
function eventAllowed(event: string, receiver: ReceiverConfig, provider: Provider): boolean {
  const wanted = event.toLowerCase();
  return (receiver.events ?? provider.defaultEvents).some((e) => e.toLowerCase() === wanted);
}

interface ReconcileResult {
  requestedAt: string;
  matched: string[];
  patched: string[];
  /** Failed for a passing reason and queued for the retry function. */
  queued: string[];
  failed: Array<{ target: string; error: string }>;
  /** Kubernetes Events that could not be recorded (not a failure of the delivery). */
  events_failed?: number;
}

/**
 * Runs the delivery's job on every cluster of the receiver in parallel. Each cluster gets its own timeout inside the
 * delivery's overall budget, so one unreachable cluster cannot starve the others or push the answer past the
 * provider's delivery timeout. What failed for a passing reason is queued for retry when a queue is configured.
 */
async function reconcileTargets(push: PushEvent | undefined, receiverName: string, receiver: ReceiverConfig, deps: RelayDeps, summary: DeliverySummary): Promise<ReconcileResult> {
  const { limits } = deps.config;
  const requestedAt = rfc3339Nano(deps.clock());
  const jobs = jobsFor(receiverName, receiver, Object.keys(deps.config.clusters), {
    requestedAt,
    note: eventNote(summary),
    ...(push ? { repositoryUrls: push.repositoryUrls, refs: push.changes.filter((c) => !c.deleted).map((c) => c.ref) } : {}),
    ...(summary.delivery_id ? { deliveryId: summary.delivery_id } : {}),
  });
  // One budget for patching and queueing what failed: the provider's answer must not wait past it. Every cluster job
  // starts now, so a cluster's own timer capped at the budget is the budget for that phase; the budget's own signal
  // is only made when something must be queued, with what is left of it. (A budget signal as the parent of every
  // cluster's signal cost one more AbortController, timer and listener pair per delivery, ~15 µs and ~3 KB.)
  const budgetEndsAt = performance.now() + limits.deliveryBudgetMs;
  const clusterMs = Math.min(limits.clusterTimeoutMs, limits.deliveryBudgetMs);
  const outcomes = await Promise.all(jobs.map((job) => withTimeout(clusterMs, undefined, (signal) => reconcileCluster(job, receiver, deps, signal))));
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
      .map((f) => ({ target: f.target, error: queueError && f.retryable ? `${f.error}; could not be queued for retry (${queueError})` : f.error }))
      .sort((a, b) => a.target.localeCompare(b.target)),
    ...eventsFailedOf(outcomes),
  };
}

/** The job to queue for what failed on one cluster for a passing reason; nothing if only permanent failures. */
function retryJobOf(job: ClusterJob, outcome: ClusterOutcome): ClusterJob[] {
  const retryable = outcome.failed.filter((f) => f.retryable);
  return retryable.length === 0 ? [] : [narrowedTo(job, retryable)];
}

function eventsFailedOf(clusters: ReadonlyArray<{ eventsFailed?: number }>): { events_failed?: number } {
  const count = clusters.reduce((n, c) => n + (c.eventsFailed ?? 0), 0);
  return count > 0 ? { events_failed: count } : {};
}
