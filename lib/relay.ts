import { isAbortError, untilAborted, withTimeout } from './abort';
import { rfc3339Nano, type Clock } from './clock';
import type { ReceiverConfig, RelayConfig } from './config/schema';
import type { DeliveryLog, DeliverySummary } from './delivery-log';
import { BadSignature, MalformedPayload, MethodNotAllowed, SecretUnavailable, UnknownReceiver, describeError, httpStatusOf } from './errors';
import { rawBody, type WebhookRequest } from './http/request';
import type { ClusterRegistry } from './kube/registry';
import { type FluxObjectRef, describeTarget } from './kube/kinds';
import { refMatches } from './matching/git-ref';
import { repoKey } from './matching/repo-url';
import { providers } from './providers';
import type { Inspection, Provider, PushEvent } from './providers/provider';
import type { SecretStore } from './secrets/store';

export interface RelayDeps {
  config: RelayConfig;
  secrets: SecretStore;
  clusters: Pick<ClusterRegistry, 'clientFor'>;
  clock: Clock;
  log: DeliveryLog;
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
  try {
    answer = await route(request, deps, summary);
  } catch (error) {
    const mapped = httpStatusOf(error);
    Object.assign(summary, { outcome: 'rejected', status: mapped.status, reason: `${mapped.reason}: ${mapped.detail}` });
    headers = mapped.headers;
    answer = { outcome: 'rejected', reason: mapped.reason, message: mapped.message };
  }
  summary.duration_ms = Number((deps.clock() - started) / 1000n) / 1000;
  deps.log(summary.status >= 500 ? 'error' : summary.status >= 400 ? 'warn' : 'info', summary);
  return {
    statusCode: summary.status,
    headers: { 'content-type': 'application/json', ...headers },
    body: JSON.stringify({ ...(summary.delivery_id ? { delivery: summary.delivery_id } : {}), ...answer }),
  };
}

async function route(request: WebhookRequest, deps: RelayDeps, summary: DeliverySummary): Promise<Record<string, unknown>> {
  if (request.method.toUpperCase() !== 'POST') throw new MethodNotAllowed(request.method);
  const receiver = Object.hasOwn(deps.config.receivers, request.receiver) ? deps.config.receivers[request.receiver] : undefined;
  if (!receiver) throw new UnknownReceiver(request.receiver);
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
  if (provider.staticTargetsOnly) return answerWith(await reconcileTargets(undefined, receiver, deps, eventNote(summary)), summary, event);

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

  return answerWith(await reconcileTargets(push, receiver, deps, eventNote(summary)), summary, event);
}

/** The message of the Kubernetes Event recorded on each patched object: why it reconciled. */
function eventNote(summary: DeliverySummary): string {
  const what = [summary.provider, summary.event].filter(Boolean).join(' ');
  const where = summary.repository ? ` of ${summary.repository} ${summary.ref ?? ''}`.trimEnd() : '';
  const commit = summary.commit ? ` at ${summary.commit.slice(0, 40)}` : '';
  const delivery = summary.delivery_id ? ` (delivery ${summary.delivery_id})` : '';
  return `Reconcile requested by flux-webhook-relay: ${what}${where}${commit}${delivery}`;
}

/** The answer (and summary) of a delivery that got as far as patching: 502 if anything could not be patched. */
function answerWith(result: ReconcileResult, summary: DeliverySummary, event: string): Record<string, unknown> {
  const outcome = result.failed.length > 0 ? 'failed' : result.matched.length > 0 ? 'patched' : 'no_match';
  Object.assign(summary, result, { outcome, status: outcome === 'failed' ? 502 : 200 });
  return {
    outcome,
    event,
    ...(summary.repository ? { repository: summary.repository } : {}),
    ...(summary.ref ? { ref: summary.ref } : {}),
    ...(summary.commit ? { commit: summary.commit } : {}),
    requestedAt: result.requestedAt,
    matched: result.matched,
    patched: result.patched,
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
  try {
    for await (const secret of secrets.candidates(receiver.secret)) {
      if (inspection.verify(secret)) return;
    }
  } catch (error) {
    throw new SecretUnavailable(`webhook secret ${receiver.secret.text} could not be read: ${describeError(error)}`);
  }
  throw new BadSignature('the delivery does not verify against the receiver secret');
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
  failed: Array<{ target: string; error: string }>;
  /** Kubernetes Events that could not be recorded (not a failure of the delivery). */
  events_failed?: number;
}

/**
 * Finds the objects the push concerns on every cluster of the receiver and patches them all in parallel. Each
 * cluster gets its own timeout inside the delivery's overall budget, so one unreachable cluster cannot starve the
 * others or push the answer past the provider's delivery timeout.
 */
async function reconcileTargets(push: PushEvent | undefined, receiver: ReceiverConfig, deps: RelayDeps, note: string): Promise<ReconcileResult> {
  const { limits } = deps.config;
  const requestedAt = rfc3339Nano(deps.clock());
  const pushedKeys = new Set((push?.repositoryUrls ?? []).map(repoKey).filter((k): k is string => k !== undefined));
  const refs = (push?.changes ?? []).filter((c) => !c.deleted).map((c) => c.ref);
  const clusterNames = receiver.clusters ?? Object.keys(deps.config.clusters);

  const perCluster = await withTimeout(limits.deliveryBudgetMs, undefined, (budget) =>
    Promise.all(clusterNames.map((cluster) => withTimeout(limits.clusterTimeoutMs, budget, (signal) => reconcileCluster(cluster, signal)))),
  );
  return {
    requestedAt,
    matched: perCluster.flatMap((c) => c.matched).sort(),
    patched: perCluster.flatMap((c) => c.patched).sort(),
    failed: perCluster.flatMap((c) => c.failed).sort((a, b) => a.target.localeCompare(b.target)),
    ...eventsFailedOf(perCluster),
  };

  async function reconcileCluster(cluster: string, signal: AbortSignal) {
    const matched = new Map<string, FluxObjectRef>();
    const failed: ReconcileResult['failed'] = [];
    const add = (t: FluxObjectRef) => matched.set(describeTarget(t), t);
    let client;
    try {
      // Reading the kubeconfig may call Secrets Manager: it counts against the cluster's time too.
      client = await untilAborted(deps.clusters.clientFor(cluster), signal);
    } catch (error) {
      const message = isAbortError(error) ? `cluster ${cluster}: kubeconfig could not be read in time` : messageOf(error);
      return { matched: [], patched: [], failed: [{ target: `${cluster}/*`, error: message }] };
    }
    if (push) {
      try {
        for (const repo of await client.listGitRepositories(signal)) {
          const key = repoKey(repo.url);
          if (key && pushedKeys.has(key) && refs.some((ref) => refMatches(repo.ref, ref))) {
            add({ cluster, apiVersion: 'source.toolkit.fluxcd.io/v1', kind: 'GitRepository', namespace: repo.namespace, name: repo.name });
          }
        }
      } catch (error) {
        // Static targets on this cluster are still worth trying: a list can fail (RBAC, timeout) where a patch works.
        failed.push({ target: `${cluster}/*/GitRepository/*`, error: messageOf(error) });
      }
    }
    await Promise.all(
      receiver.targets
        .filter((t) => t.cluster === cluster)
        .map(async (t) => {
          if (t.name !== '*') return add({ ...t, name: t.name });
          // `name: "*"` selects by label within the namespace, as Flux's Receiver does; none found is not an error.
          try {
            for (const name of await client.listNames(t, t.matchLabels ?? {}, signal)) add({ ...t, name });
          } catch (error) {
            failed.push({ target: describeTarget(t), error: messageOf(error) });
          }
        }),
    );
    const patched: string[] = [];
    let eventsFailed = 0;
    await Promise.all(
      [...matched].map(async ([name, target]) => {
        let uid: string | undefined;
        try {
          ({ uid } = await client.requestReconcile(target, requestedAt, signal));
          patched.push(name);
        } catch (error) {
          failed.push({ target: name, error: messageOf(error) });
          return;
        }
        // The Event only explains the reconcile; losing it (RBAC without events/create, a slow API) is not a failure.
        try {
          await client.recordEvent({ ...target, ...(uid ? { uid } : {}) }, { reason: 'WebhookReceived', message: note }, signal);
        } catch {
          eventsFailed += 1;
        }
      }),
    );
    return { matched: [...matched.keys()], patched, failed, eventsFailed };
  }
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

function eventsFailedOf(clusters: ReadonlyArray<{ eventsFailed?: number }>): { events_failed?: number } {
  const count = clusters.reduce((n, c) => n + (c.eventsFailed ?? 0), 0);
  return count > 0 ? { events_failed: count } : {};
}
