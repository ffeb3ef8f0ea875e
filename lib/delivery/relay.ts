import { createHash } from 'node:crypto';
import type { ReceiverConfig } from '../config/schema';
import type { DeliveryLog } from '../observability/delivery-log';
import type { GoogleIdTokenVerifier } from '../auth/google-id-token';
import { type DeliveryDedupe, deliveryLabel } from './dedupe/dedupe';
import { answerOf, answersModeOf } from './answers';
import { type Delivery, type DeliveryFacts, statusOf } from './delivery';
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
import { type FanOutDeps, pushedArtifacts, reconcileTargets } from './fan-out';
import { checkHeaderLimits, rawBody, type WebhookRequest } from '../http/request';
import { providers } from '../providers';
import { pathTokenUse, routesStaticTargetsOnly } from '../providers/names';
import type { ArtifactPushEvent, Inspection, Provider } from '../providers/provider';
import { minWebhookSecretBytes, type SecretStore } from '../secrets/store';
import { redactDeep } from '../observability/redact';

/** The cluster side (fan-out.ts) plus what a webhook delivery needs before it: secrets, the log, replay protection. */
export interface RelayDeps extends FanOutDeps {
  secrets: SecretStore;
  log: DeliveryLog;
  /** Replay protection for receivers with `dedupe`; without it those receivers apply every delivery. */
  dedupe?: DeliveryDedupe;
  /** Verifies the Google-signed tokens of `gcr` deliveries; wired when some receiver is one. */
  idTokens?: GoogleIdTokenVerifier;
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
    if (provider.issuerToken) await verifyIssuerToken(provider.issuerToken(request), receiver, deps);

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
  const artifactPush = provider.parseArtifactPush?.(request, body, known.event!, receiver);
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

/**
 * The token a gcr delivery carries besides its path token: Google's signature, the receiver's audience and service
 * account. Refusals are 401 (the path token was right, so the receiver's existence is no secret to this caller).
 */
async function verifyIssuerToken(token: string, receiver: ReceiverConfig, deps: RelayDeps): Promise<void> {
  const { audience, serviceAccount } = receiver;
  // The schema requires both on every receiver whose provider has issuer tokens, and the runtime wires a verifier.
  if (!audience || !serviceAccount || !deps.idTokens)
    throw new Error(`receiver of provider ${receiver.provider} has no audience, service account or token verifier`);
  await deps.idTokens.verify(token, { audience, serviceAccount });
}

/** Event names compare case-insensitively, as Flux's Receiver does (`strings.EqualFold`). */
function eventAllowed(event: string, receiver: ReceiverConfig, provider: Provider): boolean {
  const wanted = event.toLowerCase();
  return (receiver.events ?? provider.defaultEvents).some((e) => e.toLowerCase() === wanted);
}
