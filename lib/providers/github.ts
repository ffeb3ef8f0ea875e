import { BadSignature, MalformedPayload, MissingSignature, UnsupportedMediaType } from '../errors';
import { equalBytes, hmacSha256 } from '../crypto';
import { mediaType, type WebhookRequest } from '../http/request';
import { isZeroSha, objectAt, optionalString, parseJsonObject, requireRef, stringAt, urlsAt } from './payload';
import type { Inspection, Provider, PushEvent } from './provider';

/*
 * GitHub webhooks, per GitHub's documentation "Validating webhook deliveries" and "Webhook events and payloads":
 * - `X-Hub-Signature-256: sha256=<hex>` is the lower-case hex HMAC-SHA256 of the raw body keyed with the secret.
 *   Only that exact form is accepted: no SHA-1 `X-Hub-Signature` fallback, no `sha1=`/`sha512=` prefix under the
 *   SHA-256 header, no upper-case or bare hex (go-github, which Flux uses, accepts all of these).
 * - Content type is the hook's setting: `application/json`, or `application/x-www-form-urlencoded` with the JSON in
 *   the `payload` field. The signature covers the raw (form-encoded) body in both cases.
 * - `X-GitHub-Event` names the event (`ping` on hook creation, `push`), `X-GitHub-Delivery` is a GUID.
 */
const signatureHeader = 'x-hub-signature-256';
const signatureFormat = /^sha256=([0-9a-f]{64})$/;
const json = 'application/json';
const form = 'application/x-www-form-urlencoded';

export const github: Provider = {
  name: 'github',
  defaultEvents: ['push'],

  inspect(request: WebhookRequest, body: Buffer): Inspection {
    const type = mediaType(request.headers['content-type']);
    if (type !== json && type !== form) throw new UnsupportedMediaType(type, [json, form]);
    const header = request.headers[signatureHeader];
    if (header === undefined || header === '') {
      throw new MissingSignature(
        request.headers['x-hub-signature'] ? 'X-Hub-Signature-256 (SHA-1 X-Hub-Signature alone is not accepted)' : 'X-Hub-Signature-256',
      );
    }
    const match = signatureFormat.exec(header);
    if (!match?.[1]) throw new BadSignature('X-Hub-Signature-256 must be "sha256=" followed by 64 lower-case hex digits');
    const presented = Buffer.from(match[1], 'hex');
    return {
      event: request.headers['x-github-event'] || undefined,
      deliveryId: request.headers['x-github-delivery'] || undefined,
      verify: (secret) => equalBytes(hmacSha256(secret, body), presented),
    };
  },

  isPing: (event) => event === 'ping',
  isPush: (event) => event === 'push',

  parsePush(request: WebhookRequest, body: Buffer): PushEvent {
    const payload = parseJsonObject(jsonText(request, body), 'GitHub push payload');
    const what = 'GitHub push payload';
    const ref = requireRef(stringAt(payload, 'ref', what), what);
    const repository = objectAt(payload, 'repository', what);
    const repositoryUrls = urlsAt(repository, ['clone_url', 'ssh_url', 'html_url', 'git_url']);
    if (repositoryUrls.length === 0) throw new MalformedPayload(`${what}: repository has no URL`);
    const after = optionalString(payload, 'after');
    return {
      repository: optionalString(repository, 'full_name') ?? repositoryUrls[0]!,
      repositoryUrls,
      changes: [{ ref, ...(after ? { commit: after } : {}), deleted: payload.deleted === true || isZeroSha(after) }],
    };
  },
};

/** The JSON document of a delivery, unwrapping the `payload` field of a form-encoded one. */
function jsonText(request: WebhookRequest, body: Buffer): string {
  const text = body.toString('utf8');
  if (mediaType(request.headers['content-type']) !== form) return text;
  const payload = new URLSearchParams(text).get('payload');
  if (payload === null) throw new MalformedPayload('form-encoded GitHub delivery has no payload field');
  return payload;
}
