import { MalformedPayload, PayloadLimitExceeded } from '../delivery/errors';
import type { WebhookRequest } from '../http/request';
import { equalTokens } from './crypto';
import { notRouted } from './generic';
import { boundedArtifactPush, objectAt, optionalString, parseJsonBody, requireJson, stringAt } from './payload';
import { pathTokenInspection } from './path-token';
import type { ArtifactPushEvent, Inspection, Provider, PushEvent } from './provider';

/*
 * Azure Container Registry webhooks (learn.microsoft.com/azure/container-registry/container-registry-webhook-reference):
 * - ACR signs nothing and adds no header of its own; a webhook can carry custom headers. So the receiver's secret is
 *   either `Header-Name: value` (a custom header the webhook sends; the named header's value is compared, hashed, in
 *   constant time; the name compares case-insensitively, as HTTP header names do) or, for a webhook without one, a
 *   bare token sent as the last path segment (`/hooks/{receiver}/{token}`, names.ts `pathTokenUse: optional`). A
 *   delivery with a path token is checked only against it; one without, only against the header form.
 * - The event is the body's `action`: `push` (image), `chart_push` (Helm chart; routed the same way), `ping` (the
 *   portal's Ping), `delete`, `chart_delete`, `quarantine` (acknowledged).
 * - `target.repository`, `target.tag`, `target.digest`; the registry is `request.host` (`<name>.azurecr.io`).
 */
const routed = ['push', 'chart_push'];
const what = 'ACR payload';

/** A `Header-Name: value` secret split into the lower-case header name and the value; undefined for a bare token. */
function headerSecret(secret: string): { name: string; value: string } | undefined {
  const m = /^([!#$%&'*+.^_`|~0-9A-Za-z-]+):[ \t]*(.*)$/s.exec(secret);
  return m ? { name: m[1]!.toLowerCase(), value: m[2]! } : undefined;
}

export const acr: Provider = {
  name: 'acr',
  defaultEvents: routed,
  deliveryHeaders: [],

  inspect(request: WebhookRequest): Inspection {
    requireJson(request);
    if (request.pathToken !== undefined) return pathTokenInspection(request);
    return {
      verify: (secret) => {
        const expected = headerSecret(secret);
        if (!expected) return false;
        const presented = request.headers[expected.name];
        // Compared even when absent, so a missing header costs the same as a wrong one.
        return equalTokens(presented ?? '', expected.value) && presented !== undefined;
      },
    };
  },

  eventAfterAuthentication(body: Buffer): string {
    const action = stringAt(parseJsonBody(body, what), 'action', what);
    if (action.length > 100)
      throw new PayloadLimitExceeded(`${what}: action is ${action.length} characters long; at most 100 are read`);
    return action;
  },

  isPing: (event) => event === 'ping',
  isPush: (event) => routed.includes(event),
  parsePush: (): PushEvent => notRouted('acr'),

  parseArtifactPush(_request: WebhookRequest, body: Buffer): ArtifactPushEvent {
    const payload = parseJsonBody(body, what);
    const target = objectAt(payload, 'target', what);
    const host = stringAt(objectAt(payload, 'request', what), 'host', `${what} request`);
    const repository = stringAt(target, 'repository', `${what} target`);
    if (/[/@:]/.test(host)) throw new MalformedPayload(`${what}: request.host must be a host name`);
    const tag = optionalString(target, 'tag');
    const digest = optionalString(target, 'digest');
    const reference = `${host}/${repository}`;
    return boundedArtifactPush(
      { repository: reference, artifacts: [{ reference, ...(tag ? { tag } : {}), ...(digest ? { digest } : {}) }] },
      what,
    );
  },
};
