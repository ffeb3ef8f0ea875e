import { MissingSignature } from '../delivery/errors';
import type { WebhookRequest } from '../http/request';
import { equalTokens } from './crypto';
import type { Inspection } from './provider';

/**
 * The credential of a provider that cannot send one: the `{token}` path segment (names.ts `authenticatesByPathToken`),
 * compared with the receiver's secret hashed to a fixed length, in constant time. The relay answers a missing or wrong
 * token with 404, as for an unknown receiver; the token is never logged.
 */
export function pathTokenInspection(request: WebhookRequest): Inspection {
  const token = request.pathToken;
  if (token === undefined || token === '') throw new MissingSignature('path token');
  return { verify: (secret) => equalTokens(token, secret) };
}
