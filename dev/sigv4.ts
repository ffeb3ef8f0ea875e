import { createHash, createHmac } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import { SignatureV4 } from '@smithy/signature-v4';

/**
 * SigV4 verification for the loopback AWS endpoints, with the AWS SDK's own signer (@smithy/signature-v4): a request
 * is re-signed over what it says it signed, with the secret key the test registered for its access key, and the
 * signatures must agree. Nothing the client claims about its own signature is trusted.
 */

/** The SHA-256 the SDK's signer wants (a hash, or an HMAC when given a key), on node:crypto. */
export class Sha256 {
  private readonly hash;
  constructor(secret?: string | ArrayBuffer | ArrayBufferView) {
    this.hash = secret === undefined ? createHash('sha256') : createHmac('sha256', bytes(secret));
  }
  update(data: string | ArrayBuffer | ArrayBufferView): void {
    this.hash.update(bytes(data));
  }
  digest(): Promise<Uint8Array> {
    return Promise.resolve(new Uint8Array(this.hash.digest()));
  }
}

function bytes(data: string | ArrayBuffer | ArrayBufferView): string | Uint8Array {
  if (typeof data === 'string') return data;
  return ArrayBuffer.isView(data)
    ? new Uint8Array(data.buffer, data.byteOffset, data.byteLength)
    : new Uint8Array(data);
}

export interface TestCredentials {
  accessKeyId: string;
  secretAccessKey: string;
  sessionToken?: string;
}

/** `20261203T074000Z` → Date, or undefined when malformed. */
export function parseAmzDate(text: string | undefined): Date | undefined {
  const m = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$/.exec(text ?? '');
  if (!m) return undefined;
  return new Date(Date.UTC(+m[1]!, +m[2]! - 1, +m[3]!, +m[4]!, +m[5]!, +m[6]!));
}

export type SigV4Result =
  { ok: true; credentials: TestCredentials; region: string; date: Date } | { ok: false; code: string; message: string };

/**
 * Checks a header-signed request (`Authorization: AWS4-HMAC-SHA256 Credential=..., SignedHeaders=..., Signature=...`)
 * for `service`, against the known credentials, and that it was signed within five minutes of `now` (AWS's allowed
 * skew). The codes are the ones AWS answers with.
 */
export async function verifySignedRequest(
  req: IncomingMessage,
  body: string,
  options: { service: string; known: (accessKeyId: string) => TestCredentials | undefined; now: number },
): Promise<SigV4Result> {
  const authorization = String(req.headers.authorization ?? '');
  const m =
    /^AWS4-HMAC-SHA256 Credential=([^/]+)\/(\d{8})\/([a-z0-9-]+)\/([a-z0-9-]+)\/aws4_request, ?SignedHeaders=([a-z0-9;-]+), ?Signature=([0-9a-f]{64})$/.exec(
      authorization,
    );
  if (!m) return { ok: false, code: 'MissingAuthenticationToken', message: 'Request is missing Authentication Token' };
  const [, accessKeyId, day, region, service, signedHeaders, signature] = m as unknown as [
    string,
    string,
    string,
    string,
    string,
    string,
    string,
  ];
  if (service !== options.service)
    return {
      ok: false,
      code: 'SignatureDoesNotMatch',
      message: `Credential should be scoped to correct service: '${options.service}'.`,
    };
  const credentials = options.known(accessKeyId);
  if (!credentials)
    return {
      ok: false,
      code: 'InvalidClientTokenId',
      message: 'The security token included in the request is invalid.',
    };
  const date = parseAmzDate(String(req.headers['x-amz-date'] ?? ''));
  if (!date || !date.toISOString().replace(/-/g, '').startsWith(day))
    return {
      ok: false,
      code: 'IncompleteSignature',
      message: 'Date must be in ISO-8601 basic format and match the credential scope.',
    };
  if (Math.abs(date.getTime() - options.now) > 5 * 60_000)
    return {
      ok: false,
      code: 'SignatureDoesNotMatch',
      message: 'Signature expired: the request time is more than 5 minutes from the server time.',
    };
  if (credentials.sessionToken !== undefined && req.headers['x-amz-security-token'] !== credentials.sessionToken) {
    return {
      ok: false,
      code: 'InvalidClientTokenId',
      message: 'The security token included in the request is invalid.',
    };
  }
  const names = signedHeaders.split(';');
  if (!names.includes('host'))
    return { ok: false, code: 'SignatureDoesNotMatch', message: "'Host' must be a signed header." };
  const headers = Object.fromEntries(names.map((name) => [name, String(req.headers[name] ?? '')]));
  const url = new URL(req.url ?? '/', 'http://placeholder');
  const query: Record<string, string> = {};
  for (const [k, v] of url.searchParams) query[k] = v;
  const signer = new SignatureV4({
    service,
    region,
    credentials,
    sha256: Sha256,
    applyChecksum: false,
    uriEscapePath: true,
  });
  const signed = await signer.sign(
    {
      method: req.method ?? 'GET',
      protocol: 'https:',
      hostname: String(req.headers.host ?? ''),
      path: decodeURIComponent(url.pathname),
      query,
      headers,
      body,
    },
    { signingDate: date },
  );
  const expected = /Signature=([0-9a-f]{64})/.exec(
    String(signed.headers.authorization ?? signed.headers.Authorization),
  )?.[1];
  if (expected !== signature) {
    return {
      ok: false,
      code: 'SignatureDoesNotMatch',
      message: 'The request signature we calculated does not match the signature you provided.',
    };
  }
  return { ok: true, credentials, region, date };
}

/**
 * Re-signs a presigned URL (query-string SigV4) with the SDK's presigner, over the headers it says it signed with the
 * values `headers` gives, and reports whether the signature matches.
 */
export async function presignedSignatureMatches(
  url: URL,
  options: { credentials: TestCredentials; region: string; service: string; headers: Record<string, string> },
): Promise<boolean> {
  const q = Object.fromEntries(url.searchParams);
  const date = parseAmzDate(q['X-Amz-Date']);
  const expires = Number(q['X-Amz-Expires']);
  if (!date || !Number.isInteger(expires)) return false;
  const signedHeaders = (q['X-Amz-SignedHeaders'] ?? '').split(';');
  const headers: Record<string, string> = {};
  for (const name of signedHeaders) {
    const value = name === 'host' ? url.host : options.headers[name];
    if (value === undefined) return false;
    headers[name] = value;
  }
  const query: Record<string, string> = {};
  const amz = new Set([
    'X-Amz-Algorithm',
    'X-Amz-Credential',
    'X-Amz-Date',
    'X-Amz-Expires',
    'X-Amz-SignedHeaders',
    'X-Amz-Signature',
    'X-Amz-Security-Token',
  ]);
  for (const [k, v] of Object.entries(q)) if (!amz.has(k)) query[k] = v;
  const signer = new SignatureV4({
    service: options.service,
    region: options.region,
    credentials: options.credentials,
    sha256: Sha256,
    applyChecksum: false,
  });
  const presigned = await signer.presign(
    { method: 'GET', protocol: 'https:', hostname: url.hostname, path: url.pathname, query, headers },
    { signingDate: date, expiresIn: expires },
  );
  const mine = presigned.query as Record<string, string>;
  // Same parameters (algorithm, credential scope, date, expiry, signed headers, session token) and the same signature.
  for (const key of amz) if (mine[key] !== q[key]) return false;
  return true;
}
