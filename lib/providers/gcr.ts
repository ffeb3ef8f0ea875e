import { BadSignature, MalformedPayload, MissingSignature, PayloadLimitExceeded } from '../delivery/errors';
import type { WebhookRequest } from '../http/request';
import { parseArtifactReference } from '../matching/artifact-ref';
import { notRouted } from './generic';
import {
  boundedArtifactPush,
  decodeUtf8,
  objectAt,
  optionalString,
  parseJsonBody,
  parseJsonObject,
  requireJson,
  stringAt,
  type JsonObject,
} from './payload';
import { pathTokenInspection } from './path-token';
import type { ArtifactPushEvent, Inspection, Provider, PushEvent } from './provider';

/*
 * Google Artifact Registry (and Container Registry) notifications, delivered by a Pub/Sub push subscription to the
 * `gcr` topic ("Configuring Pub/Sub notifications", https://cloud.google.com/artifact-registry/docs/configure-notifications):
 * - Two credentials, as Flux's `gcr` Receiver has: the receiver's secret as the URL's last segment
 *   (`/hooks/{receiver}/{token}`; wrong or missing is a 404), and the OpenID Connect token Pub/Sub signs as the
 *   subscription's service account in `Authorization: Bearer` ("Authentication for push subscriptions",
 *   https://cloud.google.com/pubsub/docs/authenticate-push-subscriptions), verified by the core against the receiver's
 *   `audience` and `serviceAccount` (lib/auth/google-id-token.ts). The path token is checked first, so no request
 *   without it makes the relay fetch Google's keys.
 * - The body is Pub/Sub's push envelope, `{"message": {"data": <base64>, "messageId", ...}, "subscription"}`
 *   (https://cloud.google.com/pubsub/docs/push#receive_push), or with payload unwrapping the message itself
 *   (https://cloud.google.com/pubsub/docs/payload-unwrapping). The message is `{"action": "INSERT" | "DELETE",
 *   "digest": "<host>/<path>@sha256:…", "tag": "<host>/<path>:<tag>"}`, `tag` absent for an untagged push: full
 *   references, not bare names. The event is `action`; INSERT is routed, DELETE acknowledged.
 */
const pushEvent = 'INSERT';
const what = 'Artifact Registry notification';

export const gcr: Provider = {
  name: 'gcr',
  defaultEvents: [pushEvent],
  deliveryHeaders: [],

  inspect(request: WebhookRequest): Inspection {
    requireJson(request);
    return pathTokenInspection(request);
  },

  issuerToken(request: WebhookRequest): string {
    const header = request.headers.authorization;
    if (header === undefined || header === '') throw new MissingSignature('authorization');
    // RFC 6750 section 2.1: the scheme is case-insensitive; a JWT is three base64url parts.
    const m = /^Bearer +([A-Za-z0-9_-]+\.[A-Za-z0-9_-]*\.[A-Za-z0-9_-]*)$/i.exec(header);
    if (!m) throw new BadSignature('the Authorization header does not hold a JWT after the scheme Bearer');
    return m[1]!;
  },

  eventAfterAuthentication(body: Buffer): string {
    const action = stringAt(notification(body), 'action', what);
    if (action.length > 100)
      throw new PayloadLimitExceeded(`${what}: action is ${action.length} characters long; at most 100 are read`);
    return action;
  },

  isPing: () => false,
  isPush: (event) => event === pushEvent,
  parsePush: (): PushEvent => notRouted('gcr'),

  parseArtifactPush(_request: WebhookRequest, body: Buffer): ArtifactPushEvent {
    const message = notification(body);
    const tagged = referenceAt(message, 'tag');
    const digested = referenceAt(message, 'digest');
    if (!tagged && !digested) throw new MalformedPayload(`${what}: names neither a tag nor a digest`);
    if (tagged && digested && tagged.key !== digested.key)
      throw new MalformedPayload(`${what}: tag and digest name different repositories`);
    const key = (tagged ?? digested)!.key;
    const tag = tagged?.tag;
    const digest = digested?.digest;
    return boundedArtifactPush(
      { repository: key, artifacts: [{ reference: key, ...(tag ? { tag } : {}), ...(digest ? { digest } : {}) }] },
      what,
    );
  },
};

/** The Artifact Registry message: `message.data` decoded from the envelope, or the body itself when unwrapped. */
function notification(body: Buffer): JsonObject {
  const payload = parseJsonBody(body, what);
  if (payload.message === undefined) return payload;
  const data = stringAt(objectAt(payload, 'message', what), 'data', `${what} message`);
  // Buffer.from ignores what is not base64; a payload that is not exactly base64 is not Pub/Sub's.
  if (data.length % 4 !== 0 || !/^[A-Za-z0-9+/]*={0,2}$/.test(data))
    throw new MalformedPayload(`${what}: message.data must be base64`);
  return parseJsonObject(decodeUtf8(Buffer.from(data, 'base64'), `${what} message.data`), `${what} message.data`);
}

/** `tag` (`host/path:tag`) or `digest` (`host/path@sha256:…`): a full reference carrying what its name says. */
function referenceAt(message: JsonObject, field: 'tag' | 'digest') {
  const text = optionalString(message, field);
  if (text === undefined) {
    if (message[field] !== undefined && message[field] !== '')
      throw new MalformedPayload(`${what}: ${field} must be a string`);
    return undefined;
  }
  const reference = parseArtifactReference(text);
  if (!reference || reference[field] === undefined || reference.key.startsWith('docker.io/'))
    throw new MalformedPayload(
      `${what}: ${field} ${JSON.stringify(text.slice(0, 140))} is not a registry reference with a ${field}`,
    );
  return reference;
}
