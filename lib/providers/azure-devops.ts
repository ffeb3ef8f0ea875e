import { equalTokens } from './crypto';
import { BadSignature, MalformedPayload, MissingSignature, PayloadLimitExceeded } from '../delivery/errors';
import type { WebhookRequest } from '../http/request';
import {
  boundedArray,
  boundedPush,
  isZeroSha,
  type JsonObject,
  maxRefChanges,
  objectAt,
  optionalString,
  parseJsonBody,
  requireJson,
  requireRef,
  stringAt,
  urlsAt,
} from './payload';
import type { Inspection, Provider, PushEvent, RefChange } from './provider';

/*
 * Azure DevOps service hooks, "Web Hooks" consumer (MicrosoftDocs/azure-devops-docs docs/service-hooks/services/
 * webhooks.md, docs/service-hooks/events.md#git.push):
 * - There is no body signature. The subscription can carry HTTP Basic credentials ("You must use HTTPS when utilizing
 *   basic authentication on a web hook"); the receiver's secret holds the same `user:password`. The presented
 *   credential is base64-decoded and the whole `user:password` compared with the secret in constant time, so the
 *   scheme word may be any case (RFC 7617 section 2 / RFC 9110 section 11.1: auth schemes are case-insensitive) and
 *   padding-free base64 is accepted, while user and password compare exactly. (go-playground/webhooks, used by Argo CD,
 *   relies on Go's `Request.BasicAuth`: scheme case-insensitive too, padded base64 only, user and password compared
 *   with `==`.)
 * - The body is `application/json; charset=utf-8`. No header names the event: `eventType` in the body does
 *   (`git.push`), read only after the credential verified (`eventAfterAuthentication`).
 * - `X-Vss-ActivityId` is the only delivery id available before authentication. Microsoft does not document it (Argo CD
 *   recognises Azure DevOps by it, argoproj/argo-cd util/webhook); the body's `id` (the event) and `notificationId`
 *   (this subscription's delivery) are better de-duplication keys but are not read before authentication.
 * - `git.push`: `resource.refUpdates[]` carries `name` (full ref), `oldObjectId` and `newObjectId` (all zeros when
 *   the ref was deleted); `resource.repository.remoteUrl` is the HTTPS clone URL (`https://dev.azure.com/org/project/
 *   _git/repo`, on older organizations `https://org.visualstudio.com/[DefaultCollection/]project/_git/repo`); the REST
 *   repository shape adds `sshUrl` and `webUrl`, used when present. Everything is there only with "Resource details to
 *   send: All" (the default); "Minimal" sends "only key fields like URL and ID" (webhooks.md), so a payload without
 *   `refUpdates` gets a 400 that names the setting. An empty `refUpdates` (which crashed Argo CD,
 *   GHSA-gpx4-37g2-c8pv) is a push that moved no ref.
 * - The subscription dialog's "Test" button sends a Fabrikam sample `git.push` (like events.md's): it is routed like
 *   any push and matches no real GitRepository, so it answers `no_match` (200).
 */
const pushEvent = 'git.push';

export const azureDevops: Provider = {
  name: 'azure-devops',
  defaultEvents: [pushEvent],
  deliveryHeaders: ['x-vss-activityid'],

  inspect(request: WebhookRequest): Inspection {
    requireJson(request);
    const presented = basicCredentials(request.headers.authorization);
    return {
      verify: (secret) => equalTokens(presented, secret),
    };
  },

  eventAfterAuthentication(body: Buffer): string {
    const event = stringAt(parseJsonBody(body, 'Azure DevOps payload'), 'eventType', 'Azure DevOps payload');
    // The event is answered and logged; the other providers' event headers are cut at 100 characters before use
    // (lib/delivery/relay.ts claimedIdentity), and documented event types are under 40 (`git.pullrequest.merge.attempted`).
    if (event.length > 100)
      throw new PayloadLimitExceeded(
        `Azure DevOps payload: eventType is ${event.length} characters long; at most 100 are read`,
      );
    return event;
  },

  // The "Test" button sends a sample of the subscribed event, not a separate ping.
  isPing: () => false,
  isPush: (event) => event === pushEvent,

  parsePush(_request: WebhookRequest, body: Buffer): PushEvent {
    const what = 'Azure DevOps git.push payload';
    const resource = objectAt(parseJsonBody(body, what), 'resource', what);
    const refUpdates = resource.refUpdates;
    // Missing with "Resource details to send" Minimal or None; an empty list moves no ref and is answered as such.
    if (!Array.isArray(refUpdates))
      throw new MalformedPayload(`${what}: resource.refUpdates is missing (set "Resource details to send" to All)`);
    // Bounded before anything iterates it (lib/providers/payload.ts maxRefChanges).
    const changes = boundedArray(refUpdates, maxRefChanges, `${what}: resource.refUpdates`).map(
      (update: unknown, i): RefChange => {
        if (update === null || typeof update !== 'object' || Array.isArray(update))
          throw new MalformedPayload(`${what}: refUpdates[${i}] must be an object`);
        const u = update as JsonObject;
        const commit = optionalString(u, 'newObjectId');
        return {
          ref: requireRef(stringAt(u, 'name', `${what} refUpdates[${i}]`), what),
          ...(commit ? { commit } : {}),
          deleted: isZeroSha(commit),
        };
      },
    );
    const repository = objectAt(resource, 'repository', `${what} resource`);
    const repositoryUrls = urlsAt(repository, ['remoteUrl', 'sshUrl', 'webUrl']);
    if (repositoryUrls.length === 0) throw new MalformedPayload(`${what}: resource.repository has no remoteUrl`);
    const name = optionalString(repository, 'name');
    const project =
      typeof repository.project === 'object' && repository.project !== null
        ? optionalString(repository.project as JsonObject, 'name')
        : undefined;
    return boundedPush(
      {
        repository: name ? (project ? `${project}/${name}` : name) : repositoryUrls[0]!,
        repositoryUrls: [...new Set(repositoryUrls)],
        changes,
      },
      what,
    );
  },
};

/**
 * The decoded `user:password` of an `Authorization: Basic <base64>` header (RFC 7617). Throws MissingSignature without
 * the header and BadSignature for another scheme or a credential that is not base64 of a UTF-8 `user:password`.
 */
function basicCredentials(header: string | undefined): string {
  if (header === undefined || header === '') throw new MissingSignature('Authorization');
  const match = /^basic +([A-Za-z0-9+/]+={0,2})$/i.exec(header);
  if (!match) throw new BadSignature('Authorization must be Basic <base64 of user:password>');
  const encoded = match[1]!;
  const bytes = Buffer.from(encoded, 'base64');
  // Buffer.from skips what it cannot decode: only the canonical encoding of the decoded bytes, with or without its
  // padding, is accepted. The credential must be UTF-8 (RFC 7617 section 2.1) and contain the `:` separator.
  const canonical = bytes.toString('base64');
  const decoded = bytes.toString('utf8');
  const wellFormed =
    (encoded === canonical || encoded === canonical.replace(/=+$/, '')) && Buffer.from(decoded, 'utf8').equals(bytes);
  if (!wellFormed || !decoded.includes(':')) {
    throw new BadSignature('Authorization must be Basic <base64 of user:password>');
  }
  return decoded;
}
