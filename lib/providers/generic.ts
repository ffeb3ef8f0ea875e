import { BadSignature, MissingSignature } from '../delivery/errors';
import { equalTokens } from './crypto';
import type { WebhookRequest } from '../http/request';
import type { Inspection, Provider, PushEvent } from './provider';

/*
 * A generic trigger authenticated by a bearer token: `Authorization: Bearer <token>` (RFC 6750 section 2.1; the
 * scheme word is case-insensitive, RFC 9110 section 11.1), the token compared with the receiver's secret in constant
 * time. Flux's own `generic` Receiver "does not perform any validation on the incoming request" (fluxcd/
 * notification-controller docs/spec/v1/receivers.md "Generic"): only its hard-to-guess URL path protects it;
 * fluxcd/notification-controller#1201 asks for exactly this Bearer check instead, so senders written for Flux's
 * `generic` must add the header.
 * - The body is ignored (as in Flux), so any content type and an empty body are accepted. The token does not cover
 *   the body, which is harmless here because nothing is read from it.
 * - Nothing names a repository or an event: every authenticated delivery is the fixed event `trigger` and annotates
 *   the receiver's static targets (`routesStaticTargetsOnly` in ./names.ts), like generic-hmac.
 */

/** The one event of the generic providers, for `defaultEvents`, `isPush` and the answer's `event`. */
export const genericTriggerEvent = 'trigger';

export const generic: Provider = {
  name: 'generic',
  defaultEvents: [genericTriggerEvent],
  fixedEvent: genericTriggerEvent,
  deliveryHeaders: [],

  inspect(request: WebhookRequest): Inspection {
    const header = request.headers.authorization;
    if (header === undefined || header === '') throw new MissingSignature('Authorization');
    const token = /^bearer +(\S+)$/i.exec(header)?.[1];
    if (!token) throw new BadSignature('Authorization must be Bearer <token>');
    return { verify: (secret) => equalTokens(token, secret) };
  },

  isPing: () => false,
  isPush: (event) => event === genericTriggerEvent,
  parsePush: (): PushEvent => notRouted('generic'),
};

/** Static-only providers are never asked for a push (the relay checks `routesStaticTargetsOnly` first): reaching here is a bug. */
export function notRouted(provider: string): never {
  throw new Error(`provider ${provider} routes nothing by payload; the relay must use the receiver's static targets`);
}
