import { createHash } from 'node:crypto';
import { isAbortError, untilAborted, withTimeout } from '../time/abort';
import { rfc3339Nano, type Clock } from '../time/clock';
import type { ReceiverConfig, RelayConfig } from '../config/schema';
import type { DeliveryLog } from '../observability/delivery-log';
import { type DeliveryDedupe, deliveryLabel } from './dedupe/dedupe';
import { answerOf, answersModeOf } from './answers';
import { type Delivery, type DeliveryFacts, type Reconciled, statusOf } from './delivery';
import { summaryOf } from './summary';
import {
  BadSignature,
  MalformedPayload,
  MethodNotAllowed,
  SecretUnavailable,
  UnknownReceiver,
  describeError,
  httpStatusOf,
} from './errors';
import { checkHeaderLimits, rawBody, type WebhookRequest } from '../http/request';
import type { ClusterRegistry } from '../kube/registry';
import { type ClusterJob, type ClusterOutcome, jobsFor, narrowedTo, reconcileCluster } from './reconcile';
import type { RetryQueue } from '../retry/queue';
import { providers } from '../providers';
import { pathTokenUse, routesStaticTargetsOnly } from '../providers/names';
import type { ArtifactPushEvent, Inspection, Provider, PushEvent } from '../providers/provider';
import { parseArtifactReference } from '../matching/artifact-ref';
import type { PushedArtifact } from '../matching/artifact-routing';
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
 * content type, header shape), so junk traffic costs no Secrets Manager calls. The pipeline produces the delivery as a
 * value (delivery.ts); the answer and the log line are derived from it.
 */
export async function handleDelivery(request: WebhookRequest, deps: RelayDeps): Promise<RelayResponse> {
  const started = deps.clock();
  const delivery = await route(request, deps);
  const summary = summaryOf(delivery, Number((deps.clock() - started) / 1000n) / 1000);
  deps.log(summary.status >= 500 ? 'error' : summary.status >= 400 ? 'warn' : 'info', summary);
  // The log line keeps every detail; the answer, which the provider shows to repository admins, may be cut to counts.
  const answer = answerOf(delivery, answersModeOf(deps.config, request.receiver));
  return {
    statusCode: summary.status,
    headers: {
      'content-type': 'application/json',
      ...(delivery.result.kind === 'rejected' ? delivery.result.error.headers : {}),
    },
    // Free text (reason, message, failed[].error) may quote a backend's error: scrubbed like the log line.
    body: JSON.stringify({
      ...(delivery.facts.deliveryId ? { delivery: delivery.facts.deliveryId } : {}),
      ...redactDeep(answer),
    }),
  };
}

/**
 * The pipeline. `facts` grows (as new values, never mutated) as the delivery tells more about itself, so that a
 * rejection at any step still logs what the delivery claimed to be; any error thrown is mapped once, here.
 */
async function route(request: WebhookRequest, deps: RelayDeps): Promise<Delivery> {
  let facts: DeliveryFacts = { receiver: request.receiver };
  try {
    if (request.method.toUpperCase() !== 'POST') throw new MethodNotAllowed(request.method);
    const receiver = Object.hasOwn(deps.config.receivers, request.receiver)
      ? deps.config.receivers[request.receiver]
      : undefined;
    if (!receiver) throw new UnknownReceiver(request.receiver);
    // A receiver is reachable on exactly one route: with a path token for the providers that authenticate by it, without
    // one for the others. Both mismatches answer as an unknown receiver, so the routes tell a prober nothing.
    const tokenUse = pathTokenUse(receiver.provider);
    if (tokenUse === 'required' && !request.pathToken)
      throw new UnknownReceiver(request.receiver, 'the receiver authenticates by path token and the request has none');
    if (tokenUse === 'none' && request.pathToken !== undefined)
      throw new UnknownReceiver(request.receiver, 'the receiver takes no path token');
    if (tokenUse === 'optional' && request.pathToken === '')
      throw new UnknownReceiver(request.receiver, 'the path token is empty');
    const byPathToken = tokenUse !== 'none' && request.pathToken !== undefined;
    checkHeaderLimits(request);
    const provider = providers[receiver.provider];
    const claimed = claimedIdentity(provider, request);
    facts = {
      ...facts,
      provider: provider.name,
      ...(claimed.event ? { event: claimed.event } : {}),
      ...(claimed.deliveryId ? { deliveryId: claimed.deliveryId } : {}),
    };

    const body = rawBody(request, deps.config.limits.maxBodyBytes);
    try {
      await authenticate(provider.inspect(request, body, receiver), receiver, deps.secrets);
    } catch (error) {
      // A wrong path token is a wrong URL: 404, as for a receiver that does not exist (the log line says which).
      if (byPathToken && error instanceof BadSignature)
        throw new UnknownReceiver(request.receiver, `the path token does not verify: ${error.detail}`);
      throw error;
    }

    const event = claimed.event ?? provider.eventAfterAuthentication?.(body);
    if (!event) throw new MalformedPayload(`the ${provider.name} event header is missing`);
    facts = { ...facts, event };
    if (provider.isPing(event)) return { facts, result: { kind: 'pong' } };
    if (!eventAllowed(event, receiver, provider))
      return {
        facts,
        result: { kind: 'ignored', reason: `event ${event} is not enabled on receiver ${request.receiver}` },
      };
    if (!provider.isPush(event)) return { facts, result: { kind: 'ignored', reason: `event ${event} is not a push` } };

    const known = facts;
    const apply = (): Promise<Delivery> => applyPush(request, body, receiver, provider, known, deps);
    if (!receiver.dedupe || !deps.dedupe) return await apply();
    // Keyed by receiver: two receivers may legitimately get the same delivery (one hook, two relays' URLs). Keyed by the
    // authenticated body's hash as well as the id: the id header is signed by no provider, so a replay of captured
    // bytes under a new id, or none, is caught by the body (README, "Replay protection").
    const key = {
      receiver: request.receiver,
      ...(facts.deliveryId ? { id: facts.deliveryId } : {}),
      bodySha256: createHash('sha256').update(body).digest('hex'),
      windowSeconds: receiver.dedupe.windowSeconds,
    };
    const once = await deps.dedupe.once(key, apply, (applied) => statusOf(applied.result) < 500);
    if (!once.duplicate) return once.result;
    const when = once.firstSeen ? ` at ${once.firstSeen}` : '';
    return {
      facts,
      result: {
        kind: 'duplicate',
        reason: `delivery ${deliveryLabel(key)} was already applied${when}; not applied again`,
      },
    };
  } catch (error) {
    // A 404 must look the same whether the receiver does not exist or its path token is wrong or missing: nothing the
    // delivery claimed (its delivery id is echoed in answers) may tell a configured receiver from an unknown one.
    if (error instanceof UnknownReceiver) facts = { receiver: request.receiver };
    return { facts, result: { kind: 'rejected', error: httpStatusOf(error) } };
  }
}

/** An authenticated push (or a generic receiver's trigger): what it moved, then the patches on every cluster. */
async function applyPush(
  request: WebhookRequest,
  body: Buffer,
  receiver: ReceiverConfig,
  provider: Provider,
  known: DeliveryFacts,
  deps: RelayDeps,
): Promise<Delivery> {
  if (routesStaticTargetsOnly(provider.name))
    return {
      facts: known,
      result: { kind: 'reconciled', reconciled: await reconcileTargets(undefined, receiver, known, deps) },
    };
  const artifactPush = provider.parseArtifactPush?.(request, body, known.event!);
  if (artifactPush) return applyArtifactPush(artifactPush, receiver, known, deps);
  const push = provider.parsePush(request, body, known.event!);
  const live = push.changes.filter((c) => !c.deleted);
  const commit = live
    .map((c) => c.commit)
    .filter(Boolean)
    .join(',');
  const facts: DeliveryFacts = {
    ...known,
    repository: push.repository,
    ref: push.changes.map((c) => c.ref).join(','),
    ...(commit ? { commit } : {}),
  };
  if (live.length === 0)
    return {
      facts,
      result: {
        kind: 'ignored',
        reason: push.changes.length > 0 ? 'the push deleted its ref' : 'the delivery moved no ref',
      },
    };
  return { facts, result: { kind: 'reconciled', reconciled: await reconcileTargets(push, receiver, facts, deps) } };
}

/**
 * An authenticated registry push: the artifacts it names (repository key, tag, digest), routed on every cluster by
 * lib/matching/artifact-routing.ts, with the receiver's static targets.
 */
async function applyArtifactPush(
  push: ArtifactPushEvent,
  receiver: ReceiverConfig,
  known: DeliveryFacts,
  deps: RelayDeps,
): Promise<Delivery> {
  const tags = [...new Set(push.artifacts.map((a) => a.tag).filter(Boolean))].join(',');
  const digests = [...new Set(push.artifacts.map((a) => a.digest).filter(Boolean))].join(',');
  const facts: DeliveryFacts = {
    ...known,
    repository: push.repository,
    ...(tags ? { tag: tags } : {}),
    ...(digests ? { digest: digests } : {}),
  };
  if (push.artifacts.length === 0)
    return { facts, result: { kind: 'ignored', reason: 'the delivery names no artifact' } };
  return {
    facts,
    result: {
      kind: 'reconciled',
      reconciled: await reconcileTargets({ artifacts: pushedArtifacts(push) }, receiver, facts, deps),
    },
  };
}

/**
 * Each reported artifact as routing compares it: the repository key of its reference, and its tag and digest (the
 * payload's fields first, else what the reference carries). A reference that is not a registry reference routes
 * nothing (static targets still apply).
 */
function pushedArtifacts(push: ArtifactPushEvent): PushedArtifact[] {
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
function eventNote(facts: DeliveryFacts): string {
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
 * The event and delivery id a delivery claims, from its provider's own headers. Read before authentication only so
 * that the log line of a refused delivery still says what it claimed to be; bounded, since nothing vouches for them
 * yet, and nothing acts on them until the delivery is authenticated.
 */
export function claimedIdentity(provider: Provider, request: WebhookRequest): { event?: string; deliveryId?: string } {
  const event = provider.eventHeader
    ? request.headers[provider.eventHeader]?.slice(0, 100) || undefined
    : provider.fixedEvent;
  const deliveryId = provider.deliveryHeaders
    .map((h) => request.headers[h])
    .find((v) => v)
    ?.slice(0, 200);
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
  if (offered === 0)
    throw new BadSignature(
      message,
      `${message}: webhook secret ${receiver.secret.text} has no usable value (each version is empty or shorter than ${minWebhookSecretBytes} bytes)`,
    );
  throw new BadSignature(message);
}

/** Event names compare case-insensitively, as Flux's Receiver does (`strings.EqualFold`). */
function eventAllowed(event: string, receiver: ReceiverConfig, provider: Provider): boolean {
  const wanted = event.toLowerCase();
  return (receiver.events ?? provider.defaultEvents).some((e) => e.toLowerCase() === wanted);
}

/**
 * Runs the delivery's job on every cluster of the receiver in parallel. Each cluster gets its own timeout inside the
 * delivery's overall budget, so one unreachable cluster cannot starve the others or push the answer past the
 * provider's delivery timeout. What failed for a passing reason is queued for retry when a queue is configured.
 */
async function reconcileTargets(
  push: PushEvent | { artifacts: PushedArtifact[] } | undefined,
  receiver: ReceiverConfig,
  facts: DeliveryFacts,
  deps: RelayDeps,
): Promise<Reconciled> {
  const { limits } = deps.config;
  const requestedAt = rfc3339Nano(deps.clock());
  const jobs = jobsFor(facts.receiver, receiver, Object.keys(deps.config.clusters), {
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
