import { MalformedPayload } from '../delivery/errors';
import type { WebhookRequest } from '../http/request';
import { inspectBitbucket } from './hmac-signature';
import {
  boundedArray,
  boundedPush,
  type JsonObject,
  maxRefChanges,
  objectAt,
  optionalString,
  parseJsonBody,
} from './payload';
import type { Inspection, Provider, PushEvent, RefChange } from './provider';

/*
 * Bitbucket Cloud webhooks, per Atlassian's Bitbucket Cloud documentation "Manage webhooks" (webhook secrets),
 * "Event payloads" and "Troubleshoot webhooks" (support.atlassian.com/bitbucket-cloud/docs/...), and the Bitbucket
 * blog post that introduced secrets, "Enhanced webhook security" (2023):
 * - `X-Hub-Signature: sha256=<hex>` is the HMAC-SHA256 of the raw body keyed with the hook's secret; it is sent only
 *   when a secret is set. Only that exact form is accepted: lower-case `sha256=` and 64 lower-case hex digits. The
 *   `X-Hook-UUID` header names the hook and is not a credential (older integrations trusted it; we do not).
 * - The body is always `application/json`; `X-Event-Key` names the event (`repo:push` for pushes).
 * - `X-Request-UUID` is the delivery id. Bitbucket retries a 5xx answer up to two more times and numbers the tries in
 *   `X-Attempt-Number`; the request log shows the retries as attempts of the same request, so the request UUID (not
 *   the hook UUID, and without the attempt number) is the key a retry can be recognised by. That the UUID stays the
 *   same across attempts is what the docs imply, not something they state outright.
 * - There is no ping or test event: the webhook API has no test endpoint and the event catalogue has no such event,
 *   so nothing is answered as a ping.
 * - `repo:push` carries no clone URLs: `repository.full_name` (`workspace/repo_slug`) and `repository.links.html.href`
 *   identify the repository; `https://bitbucket.org/<full_name>` has the same identity key (lib/matching/repo-url.ts)
 *   as `ssh://git@bitbucket.org/<full_name>.git` and `git@bitbucket.org:<full_name>.git`.
 * - `push.changes[]` has one entry per ref: `new`/`old` are `{type: "branch"|"tag", name, target: {hash}}`; a
 *   deleted branch or tag has `new: null` and `closed: true`, a created one `old: null` and `created: true`.
 */
const pushEvent = 'repo:push';
const refPrefix: Readonly<Record<string, string>> = { branch: 'refs/heads/', tag: 'refs/tags/' };

export const bitbucketCloud: Provider = {
  name: 'bitbucket-cloud',
  defaultEvents: [pushEvent],
  eventHeader: 'x-event-key',
  deliveryHeaders: ['x-request-uuid'],

  inspect: (request: WebhookRequest, body: Buffer): Inspection => inspectBitbucket(request, body),

  isPing: () => false,
  isPush: (event) => event === pushEvent,

  parsePush(_request: WebhookRequest, body: Buffer, event: string): PushEvent {
    const what = `Bitbucket Cloud ${event} payload`;
    const payload = parseJsonBody(body, what);
    const repository = objectAt(payload, 'repository', what);
    const fullName = optionalString(repository, 'full_name');
    if (fullName !== undefined && !/^[^/\s]+\/[^/\s]+$/.test(fullName)) {
      throw new MalformedPayload(
        `${what}: repository.full_name ${JSON.stringify(fullName.slice(0, 100))} is not workspace/repo_slug`,
      );
    }
    const repositoryUrls = [
      ...new Set([...(fullName ? [`https://bitbucket.org/${fullName}`] : []), ...htmlLink(repository)]),
    ];
    if (repositoryUrls.length === 0)
      throw new MalformedPayload(`${what}: repository has neither full_name nor links.html.href`);

    // Bounded before anything iterates it (lib/providers/payload.ts maxRefChanges).
    const changes = boundedArray(objectAt(payload, 'push', what).changes, maxRefChanges, `${what}: push.changes`);
    return boundedPush(
      {
        repository: fullName ?? repositoryUrls[0]!,
        repositoryUrls,
        changes: changes.map((change, i) => refChange(change, `${what}: push.changes[${i}]`)),
      },
      what,
    );
  },
};

function htmlLink(repository: JsonObject): string[] {
  const links = repository.links;
  if (!isObject(links) || !isObject(links.html)) return [];
  const href = optionalString(links.html, 'href');
  return href ? [href] : [];
}

function refChange(change: unknown, what: string): RefChange {
  if (!isObject(change)) throw new MalformedPayload(`${what} must be an object`);
  const next = refState(change.new, `${what}.new`);
  const previous = refState(change.old, `${what}.old`);
  const state = next ?? previous;
  if (!state) throw new MalformedPayload(`${what}: new and old are both null`);
  const commit = next ? optionalString(next.target, 'hash') : undefined;
  return { ref: state.ref, ...(commit ? { commit } : {}), deleted: next === undefined || change.closed === true };
}

/** One side (`new` or `old`) of a change; null means the ref does not exist on that side. */
function refState(value: unknown, what: string): { ref: string; target: JsonObject } | undefined {
  if (value === null || value === undefined) return undefined;
  if (!isObject(value)) throw new MalformedPayload(`${what} must be an object or null`);
  const type = value.type;
  const prefix = typeof type === 'string' && Object.hasOwn(refPrefix, type) ? refPrefix[type] : undefined;
  if (!prefix)
    throw new MalformedPayload(`${what}.type ${JSON.stringify(String(type).slice(0, 50))} is neither branch nor tag`);
  const name = optionalString(value, 'name');
  if (!name) throw new MalformedPayload(`${what}.name must be a non-empty string`);
  return { ref: `${prefix}${name}`, target: isObject(value.target) ? value.target : {} };
}

function isObject(value: unknown): value is JsonObject {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}
