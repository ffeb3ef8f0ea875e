import type { WebhookRequest } from '../http/request';
import { parseGitHubPackage } from './github-package';
import { parseGitHubStylePush, requireJsonOrForm } from './github-style';
import { hmacVerifier } from './hmac-signature';
import type { Inspection, Provider, PushEvent } from './provider';

/*
 * GitHub webhooks, per GitHub's documentation "Validating webhook deliveries" and "Webhook events and payloads":
 * - `X-Hub-Signature-256: sha256=<hex>` is the lower-case hex HMAC-SHA256 of the raw body keyed with the secret.
 *   Only that exact form is accepted: no SHA-1 `X-Hub-Signature` fallback, no `sha1=`/`sha512=` prefix under the
 *   SHA-256 header, no upper-case or bare hex (go-github, which Flux uses, accepts all of these).
 * - Content type is the hook's setting: `application/json`, or `application/x-www-form-urlencoded` with the JSON in
 *   the `payload` field. The signature covers the raw (form-encoded) body in both cases.
 * - `X-GitHub-Event` names the event (`ping` on hook creation, `push`, `package` for GHCR: ./github-package.ts),
 *   `X-GitHub-Delivery` is a GUID.
 */
export const github: Provider = {
  name: 'github',
  defaultEvents: ['push'],
  eventHeader: 'x-github-event',
  deliveryHeaders: ['x-github-delivery'],

  inspect(request: WebhookRequest, body: Buffer): Inspection {
    requireJsonOrForm(request);
    const legacyOnly = !request.headers['x-hub-signature-256'] && request.headers['x-hub-signature'];
    const verify = hmacVerifier(request, body, {
      header: 'x-hub-signature-256',
      display: legacyOnly ? 'X-Hub-Signature-256 (SHA-1 X-Hub-Signature alone is not accepted)' : 'X-Hub-Signature-256',
      prefixes: { 'sha256=': 'sha256' },
    });
    return { verify };
  },

  isPing: (event) => event === 'ping',
  // `package` (GHCR) is routed only when a receiver lists it in `events`, like every event but `push`.
  isPush: (event) => event === 'push' || event === 'package',
  parsePush: (request, body): PushEvent => parseGitHubStylePush(request, body, 'GitHub push payload'),
  parseArtifactPush: (request, body, event) => (event === 'package' ? parseGitHubPackage(request, body) : undefined),
};
