import { createHmac } from 'node:crypto';
import { equalBytes } from './crypto';
import { BadSignature, MissingSignature } from '../delivery/errors';
import type { WebhookRequest } from '../http/request';
import { requireJson } from './payload';
import type { Inspection } from './provider';

export type HmacAlgorithm = 'sha1' | 'sha256' | 'sha512';

const hexLength: Record<HmacAlgorithm, number> = { sha1: 40, sha256: 64, sha512: 128 };

export interface SignatureFormat {
  /** Lower-case header name, e.g. `x-hub-signature-256`. */
  header: string;
  /** How the header is named in messages, e.g. `X-Hub-Signature-256`. */
  display: string;
  /**
   * Accepted `<prefix>` → algorithm pairs; `''` means bare hex. Matching is exact: `SHA256=` or upper-case hex are
   * refused, so a signature is accepted only in the form its provider documents.
   */
  prefixes: Readonly<Partial<Record<string, HmacAlgorithm>>>;
}

/**
 * Reads an HMAC signature header in one of the documented forms and returns a verifier over the raw body. Throws
 * MissingSignature (no or empty header) or BadSignature (any other form) before a secret is needed.
 */
export function hmacVerifier(
  request: WebhookRequest,
  body: Buffer,
  format: SignatureFormat,
): (secret: string) => boolean {
  const value = request.headers[format.header];
  if (value === undefined || value === '') throw new MissingSignature(format.display);
  for (const [prefix, algorithm] of Object.entries(format.prefixes)) {
    if (!algorithm || !value.startsWith(prefix)) continue;
    const hex = value.slice(prefix.length);
    if (hex.length !== hexLength[algorithm] || !/^[0-9a-f]+$/.test(hex)) break;
    const presented = Buffer.from(hex, 'hex');
    return (secret) => equalBytes(createHmac(algorithm, secret).update(body).digest(), presented);
  }
  const forms = Object.entries(format.prefixes).map(([prefix, algorithm]) => `${prefix}<${algorithm} lower-case hex>`);
  throw new BadSignature(`${format.display} must be ${forms.join(' or ')}`);
}

/**
 * Bitbucket Cloud and Data Center sign alike: `X-Hub-Signature: sha256=<lower-case hex>` over a JSON body, the event
 * in `X-Event-Key`.
 */
export function inspectBitbucket(request: WebhookRequest, body: Buffer): Inspection {
  requireJson(request);
  return {
    verify: hmacVerifier(request, body, {
      header: 'x-hub-signature',
      display: 'X-Hub-Signature',
      prefixes: { 'sha256=': 'sha256' },
    }),
  };
}
