import { PayloadTooLarge } from '../errors';

/** A webhook delivery as the core sees it, independent of API Gateway or a local server. */
export interface WebhookRequest {
  method: string;
  /** The `{receiver}` path segment. */
  receiver: string;
  /** Header names lower-cased (HTTP header names are case-insensitive; API Gateway v2 lower-cases them too). */
  headers: Readonly<Record<string, string | undefined>>;
  /** The body as the transport handed it over, still encoded. */
  body: string;
  isBase64Encoded: boolean;
}

export function lowerCaseHeaders(headers: Record<string, string | undefined> | undefined): Record<string, string | undefined> {
  const out: Record<string, string | undefined> = {};
  for (const [name, value] of Object.entries(headers ?? {})) out[name.toLowerCase()] = value;
  return out;
}

/**
 * The exact bytes the provider signed. The size is checked on the encoded form first, so an oversized body is
 * refused without decoding it and before any secret is read.
 */
export function rawBody(request: WebhookRequest, maxBytes: number): Buffer {
  const encoded = request.body;
  // Lower bounds of the decoded size: base64 carries 3 bytes per 4 characters, and UTF-8 needs at least one byte
  // per UTF-16 code unit. Either bound over the limit is enough to refuse without decoding.
  const atLeast = request.isBase64Encoded ? Math.floor(((encoded.length - (encoded.endsWith('==') ? 2 : encoded.endsWith('=') ? 1 : 0)) * 3) / 4) : encoded.length;
  if (atLeast > maxBytes) throw new PayloadTooLarge(atLeast, maxBytes);
  const bytes = request.isBase64Encoded ? Buffer.from(encoded, 'base64') : Buffer.from(encoded, 'utf8');
  if (bytes.length > maxBytes) throw new PayloadTooLarge(bytes.length, maxBytes);
  return bytes;
}

/** `application/json; charset=utf-8` → `application/json`. */
export function mediaType(contentType: string | undefined): string | undefined {
  const type = contentType?.split(';')[0]?.trim().toLowerCase();
  return type === '' ? undefined : type;
}
