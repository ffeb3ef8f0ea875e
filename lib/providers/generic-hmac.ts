import type { ReceiverConfig } from '../config/schema';
import { BadSignature } from '../delivery/errors';
import type { WebhookRequest } from '../http/request';
import { hmacVerifier, type HmacAlgorithm } from './hmac-signature';
import { genericTriggerEvent, notRouted } from './generic';
import type { Inspection, Provider, PushEvent } from './provider';

/*
 * Flux's `generic-hmac` Receiver, made compatible for senders already written for it (fluxcd/notification-controller
 * docs/spec/v1/receivers.md "Generic HMAC"; internal/server/receiver_handlers.go checks it with go-github's
 * `ValidateSignature`):
 * - `X-Signature: <algorithm>=<hex>` is the HMAC of the raw body keyed with the secret. `sha256=` and `sha512=` are
 *   accepted; `sha1=` only on a receiver with `allowSha1: true` (Flux accepts it always; HMAC-SHA1 is a weak MAC). The
 *   hex must be lower-case and full length, unlike go-github, which also takes upper-case hex.
 * - Flux neither parses the body nor checks its content type, and its documented sender is
 *   `curl <webhook-url> -X POST -H "X-Signature: <hash-function>=<generated-hash>" -d '<request-body>'`, which sends
 *   `application/x-www-form-urlencoded`. So any content type (or none) and an empty body are accepted here too: the
 *   signature covers whatever bytes arrived, and nothing else is read from them.
 * - Nothing in the delivery names a repository or an event (Flux: no filtering using events), so every verified
 *   delivery is the one fixed event `trigger` (`genericTriggerEvent`) and annotates the receiver's static targets
 *   (`routesStaticTargetsOnly` in ./names.ts).
 */
export const genericHmac: Provider = {
  name: 'generic-hmac',
  defaultEvents: [genericTriggerEvent],
  fixedEvent: genericTriggerEvent,
  deliveryHeaders: [],

  inspect(request: WebhookRequest, body: Buffer, receiver: ReceiverConfig): Inspection {
    const prefixes: Record<string, HmacAlgorithm> = { 'sha256=': 'sha256', 'sha512=': 'sha512' };
    if (receiver.allowSha1) prefixes['sha1='] = 'sha1';
    else if (request.headers['x-signature']?.startsWith('sha1=')) {
      throw new BadSignature('X-Signature sha1= is refused unless the receiver sets allowSha1: true');
    }
    return { verify: hmacVerifier(request, body, { header: 'x-signature', display: 'X-Signature', prefixes }) };
  },

  isPing: () => false,
  isPush: (event) => event === genericTriggerEvent,
  parsePush: (): PushEvent => notRouted('generic-hmac'),
};
