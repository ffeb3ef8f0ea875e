import { HeadersTooLarge, MalformedBody, PayloadTooLarge } from '../delivery/errors';

/** A webhook delivery as the core sees it, independent of API Gateway or a local server. */
export interface WebhookRequest {
  method: string;
  /** The `{receiver}` path segment. */
  receiver: string;
  /**
   * The `{token}` segment of `/hooks/{receiver}/{token}`, present only on that route: the credential of providers
   * that cannot send one (names.ts `authenticatesByPathToken`). A secret: never logged, never answered.
   */
  pathToken?: string;
  /** Header names lower-cased (HTTP header names are case-insensitive; API Gateway v2 lower-cases them too). */
  headers: Readonly<Record<string, string | undefined>>;
  /** The body as the transport handed it over, still encoded. */
  body: string;
  isBase64Encoded: boolean;
}

/**
 * At most this many header fields. API Gateway HTTP API documents no count limit, only a byte limit on request line
 * and header *values* (below), so a request could carry thousands of empty headers. Real deliveries carry 10 to 20
 * (GitHub sends about 12; API Gateway adds `host`, `content-length`, `x-amzn-trace-id`, `x-forwarded-*`).
 */
export const maxHeaderCount = 100;

/**
 * At most this many bytes of header names and values together (UTF-8). API Gateway HTTP API refuses requests whose
 * "total combined size of request line and header values" exceeds 10240 bytes (AWS docs, "Quotas for configuring
 * and running an HTTP API in API Gateway", docs.aws.amazon.com/apigateway/latest/developerguide/http-api-quotas.html),
 * so anything larger did not come through API Gateway as configured. The bound is Node's default `maxHeaderSize`
 * (16 KiB, which also bounds `npm start`'s serverless-offline): above AWS's quota plus the names and the headers
 * API Gateway adds, so no request API Gateway let through is refused here.
 */
export const maxHeaderBytes = 16 * 1024;

/**
 * Header names lower-cased. Two fields whose names differ only in case are one header (RFC 9110 section 5.1), so
 * their values are combined with `, ` as RFC 9110 section 5.3 says a recipient may, and as API Gateway does for
 * repeated headers: a credential header sent twice can then never verify, whichever copy a front end put first.
 */
export function lowerCaseHeaders(
  headers: Record<string, string | undefined> | undefined,
): Record<string, string | undefined> {
  const out: Record<string, string | undefined> = {};
  for (const [name, value] of Object.entries(headers ?? {})) {
    const key = name.toLowerCase();
    const previous = Object.hasOwn(out, key) ? out[key] : undefined;
    out[key] = previous !== undefined && value !== undefined ? `${previous}, ${value}` : (value ?? previous);
  }
  return out;
}

/**
 * Refuses a request with too many header fields or header bytes (431 `headers_too_large`) before anything reads
 * them. Stops counting as soon as a bound is crossed, so a huge header set costs no more than the bound.
 */
export function checkHeaderLimits(request: WebhookRequest): void {
  let count = 0;
  let bytes = 0;
  for (const name in request.headers) {
    if (!Object.hasOwn(request.headers, name)) continue;
    count += 1;
    if (count > maxHeaderCount) throw new HeadersTooLarge(`more than ${maxHeaderCount} header fields`);
    bytes += Buffer.byteLength(name, 'utf8') + Buffer.byteLength(request.headers[name] ?? '', 'utf8');
    if (bytes > maxHeaderBytes) throw new HeadersTooLarge(`header fields exceed ${maxHeaderBytes} bytes`);
  }
}

/** Standard base64 (RFC 4648 section 4) with its padding, as API Gateway encodes binary bodies. */
const strictBase64 = /^[A-Za-z0-9+/]*={0,2}$/;

/**
 * The exact bytes the provider signed. The size is checked on the encoded form first, so an oversized body is
 * refused without decoding it and before any secret is read. A base64 body must be strict, canonical base64:
 * `Buffer.from(s, 'base64')` silently skips characters it cannot decode and ignores stray bits, so without the check
 * different encoded bodies would verify as the same bytes.
 */
export function rawBody(request: WebhookRequest, maxBytes: number): Buffer {
  const encoded = request.body;
  // Lower bounds of the decoded size: base64 carries 3 bytes per 4 characters, and UTF-8 needs at least one byte
  // per UTF-16 code unit. Either bound over the limit is enough to refuse without decoding.
  const atLeast = request.isBase64Encoded
    ? Math.floor(((encoded.length - (encoded.endsWith('==') ? 2 : encoded.endsWith('=') ? 1 : 0)) * 3) / 4)
    : encoded.length;
  if (atLeast > maxBytes) throw new PayloadTooLarge(atLeast, maxBytes);
  if (request.isBase64Encoded) assertStrictBase64(encoded);
  const bytes = request.isBase64Encoded ? Buffer.from(encoded, 'base64') : Buffer.from(encoded, 'utf8');
  if (bytes.length > maxBytes) throw new PayloadTooLarge(bytes.length, maxBytes);
  // A well-formed string (no lone surrogate, which UTF-8 encoding would replace with U+FFFD) is exactly what a strict
  // UTF-8 decoding of its bytes gives back: providers reading the body as text take it instead of decoding a copy
  // (a 7.7 KB GitHub push: ~3 µs and 7.7 KB of garbage per delivery).
  if (!request.isBase64Encoded && (encoded as string & { isWellFormed(): boolean }).isWellFormed())
    bodyTexts.set(bytes, encoded);
  return bytes;
}

/** The text rawBody's bytes were encoded from, when decoding them would give it back unchanged. */
const bodyTexts = new WeakMap<Uint8Array, string>();

/** The body as text, if rawBody knows it without decoding (see there); undefined otherwise. */
export function knownBodyText(bytes: Uint8Array): string | undefined {
  return bodyTexts.get(bytes);
}

function assertStrictBase64(encoded: string): void {
  if (encoded.length % 4 !== 0 || !strictBase64.test(encoded)) {
    throw new MalformedBody('the body is marked base64-encoded but is not valid base64');
  }
  // Only the last quantum can carry padding and unused bits (`QR==` decodes like `QQ==`): it must re-encode to itself.
  const last = encoded.slice(-4);
  if (last.includes('=') && Buffer.from(last, 'base64').toString('base64') !== last) {
    throw new MalformedBody('the body is marked base64-encoded but its last quantum is not canonical base64');
  }
}

/** `application/json; charset=utf-8` → `application/json`. */
export function mediaType(contentType: string | undefined): string | undefined {
  const type = contentType?.split(';')[0]?.trim().toLowerCase();
  return type === '' ? undefined : type;
}
