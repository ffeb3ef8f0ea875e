import { BadSignature, MissingSignature, UnsupportedMediaType } from '../../lib/delivery/errors';
import type { WebhookRequest } from '../../lib/http/request';
import type { ReceiverConfig } from '../../lib/config/schema';
import type { Provider } from '../../lib/providers/provider';
import { receiverConfig } from './receiver';

/** What a provider makes of a credential, as the unit tables spell it. */
export type Verdict = 'ok' | 'mismatch' | 'missing' | 'malformed' | 'media';

/** A delivery of `body` with exactly `headers` (give the content type among them), as API Gateway hands it over. */
export function webhookRequest(headers: Record<string, string>, body: Buffer): WebhookRequest {
  return { method: 'POST', receiver: 'r', headers, body: body.toString('utf8'), isBase64Encoded: false };
}

/**
 * Inspects a delivery and verifies it against `secret`: `ok` or `mismatch` from verify, or the refusal inspect threw
 * (`missing` credential, `malformed` credential, unsupported `media` type). Anything else is a bug and is rethrown.
 */
export function verdictOf(
  provider: Provider,
  headers: Record<string, string>,
  body: Buffer,
  secret: string,
  receiver: ReceiverConfig = receiverConfig(provider.name),
): Verdict {
  try {
    return provider.inspect(webhookRequest(headers, body), body, receiver).verify(secret) ? 'ok' : 'mismatch';
  } catch (error) {
    if (error instanceof MissingSignature) return 'missing';
    if (error instanceof BadSignature) return 'malformed';
    if (error instanceof UnsupportedMediaType) return 'media';
    throw error;
  }
}
