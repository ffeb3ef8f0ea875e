/**
 * Google's side of a Pub/Sub push with authentication, for gcr receivers: signing keys, the ID tokens Pub/Sub sends, and
 * a loopback server publishing the keys as https://www.googleapis.com/oauth2/v3/certs does.
 *
 * - Tokens (https://cloud.google.com/pubsub/docs/authenticate-push-subscriptions): header `{"alg":"RS256","kid",
 *   "typ":"JWT"}`, claims `aud`, `azp`, `email`, `email_verified`, `exp` (one hour after `iat`), `iat`, `iss`
 *   `https://accounts.google.com`, `sub`. `idToken` signs them synchronously (node:crypto), so a test can build a
 *   delivery's headers anywhere, and can build the forgeries a verifier must refuse (`alg: none`, HS256 keyed with the
 *   public key, another key under a published `kid`).
 * - The keys endpoint answers GET only, `{"keys": [JWK...]}` (RSA, `use: sig`, `alg: RS256`) with `Cache-Control:
 *   public, max-age=...` as Google's does; it counts requests, and a test can make it fail (status, redirect, no
 *   answer) or publish other keys (rotation).
 */
import { createHmac, generateKeyPairSync, sign, type KeyObject } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { startOnLoopback } from '../../dev/loopback';

export interface SigningKey {
  kid: string;
  privateKey: KeyObject;
  publicKey: KeyObject;
}

export function signingKey(kid: string): SigningKey {
  const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  return { kid, privateKey, publicKey };
}

const b64url = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');

export interface PushIdentity {
  audience: string;
  serviceAccount: string;
}

/** Claims as Pub/Sub writes them for `identity`, issued `nowSeconds` (default: now) and valid for an hour. */
export function pushClaims(
  identity: PushIdentity,
  nowSeconds = Math.floor(Date.now() / 1000),
): Record<string, unknown> {
  return {
    aud: identity.audience,
    azp: '113774264463038321964',
    email: identity.serviceAccount,
    email_verified: true,
    exp: nowSeconds + 3600,
    iat: nowSeconds,
    iss: 'https://accounts.google.com',
    sub: '113774264463038321964',
  };
}

/** An RS256 JWT over `claims`; `header` overrides or adds header fields (`kid`, `alg`). */
export function idToken(
  key: SigningKey,
  claims: Record<string, unknown>,
  header: Record<string, unknown> = {},
): string {
  const signingInput = `${b64url({ alg: 'RS256', kid: key.kid, typ: 'JWT', ...header })}.${b64url(claims)}`;
  return `${signingInput}.${sign('sha256', Buffer.from(signingInput), key.privateKey).toString('base64url')}`;
}

/** The forgery jose must refuse whatever the claims: `alg: none` and no signature. */
export function unsignedToken(kid: string, claims: Record<string, unknown>): string {
  return `${b64url({ alg: 'none', kid, typ: 'JWT' })}.${b64url(claims)}.`;
}

/** The classic key-confusion forgery: HS256 with the RSA public key (as PEM text) as the HMAC key. */
export function hs256WithPublicKey(key: SigningKey, claims: Record<string, unknown>): string {
  const signingInput = `${b64url({ alg: 'HS256', kid: key.kid, typ: 'JWT' })}.${b64url(claims)}`;
  const pem = key.publicKey.export({ type: 'spki', format: 'pem' });
  return `${signingInput}.${createHmac('sha256', pem).update(signingInput).digest('base64url')}`;
}

export function jwkOf(key: SigningKey): Record<string, unknown> {
  return { ...key.publicKey.export({ format: 'jwk' }), kid: key.kid, use: 'sig', alg: 'RS256' };
}

export type CertsFault = { status: number; body?: string } | { redirectTo: string } | { hang: true };

export class GoogleCertsTestServer {
  readonly url: string;
  /** Every request: method and path. */
  readonly requests: Array<{ method: string; path: string }> = [];
  private published: SigningKey[] = [];
  private fault: CertsFault | undefined;

  private constructor(
    private readonly server: Server,
    port: number,
  ) {
    this.url = `http://127.0.0.1:${port}/oauth2/v3/certs`;
  }

  static start(keys: SigningKey[]): Promise<GoogleCertsTestServer> {
    return startOnLoopback(createServer, (server, port) => {
      const instance = new GoogleCertsTestServer(server, port);
      instance.publish(keys);
      return { instance, handle: (req, res) => instance.handle(req.method ?? '', req.url ?? '', res) };
    });
  }

  /** Replaces the published keys (Google rotates: a new key appears, an old one goes). */
  publish(keys: SigningKey[]): void {
    this.published = [...keys];
  }

  /** Every later request fails this way until `failWith(undefined)`. */
  failWith(fault: CertsFault | undefined): void {
    this.fault = fault;
  }

  close(): Promise<void> {
    this.server.closeAllConnections();
    return new Promise((resolve) => this.server.close(() => resolve()));
  }

  private handle(method: string, path: string, res: import('node:http').ServerResponse): void {
    this.requests.push({ method, path });
    if (path !== '/oauth2/v3/certs') return void res.writeHead(404, { 'content-type': 'text/html' }).end('Not Found');
    if (method !== 'GET') return void res.writeHead(405, { allow: 'GET' }).end();
    const fault = this.fault;
    if (fault && 'hang' in fault) return; // never answered: the client's timeout must end it
    if (fault && 'redirectTo' in fault) return void res.writeHead(302, { location: fault.redirectTo }).end();
    if (fault) return void res.writeHead(fault.status, { 'content-type': 'text/html' }).end(fault.body ?? 'error');
    res
      .writeHead(200, { 'content-type': 'application/json; charset=UTF-8', 'cache-control': 'public, max-age=20000' })
      .end(JSON.stringify({ keys: this.published.map(jwkOf) }));
  }
}

/**
 * A Pub/Sub push body around `message`: the documented envelope (tests/fixtures/gcr/push-envelope.json) with its `data`
 * the base64 of the message's JSON, as Pub/Sub delivers a message Artifact Registry published.
 */
export function pushEnvelope(message: unknown): string {
  const envelope = JSON.parse(readFileSync('tests/fixtures/gcr/push-envelope.json', 'utf8')) as {
    message: Record<string, unknown>;
  };
  envelope.message.data = Buffer.from(JSON.stringify(message)).toString('base64');
  return JSON.stringify(envelope);
}
