import { createRemoteJWKSet, errors, jwtVerify, type JWTVerifyGetKey } from 'jose';
import { BadSignature, VerificationKeysUnavailable } from '../delivery/errors';
import type { Clock } from '../time/clock';

/**
 * Verifies the OpenID Connect token Google signs for a Pub/Sub push subscription ("Authentication for push
 * subscriptions", https://cloud.google.com/pubsub/docs/authenticate-push-subscriptions): RS256 with one of Google's
 * published keys chosen by `kid`, issued by accounts.google.com, for the configured audience, by the configured service
 * account with a verified address, and within its lifetime.
 *
 * The e-mail comparison is not optional: any Google service account can have Pub/Sub push a token for any audience to
 * any URL, so without it a token minted by a stranger's subscription would do (Flux's receiver shipped without it:
 * CVE-2026-40109).
 *
 * JWT parsing and signature checks are jose's (https://github.com/panva/jose), the library the Kubernetes client's
 * OpenID support already brings, not code of ours.
 */
export interface GoogleIdTokenVerifier {
  /** Resolves when `token` verifies; rejects with BadSignature, or VerificationKeysUnavailable when no key could be had. */
  verify(token: string, expected: ExpectedIdentity): Promise<void>;
  /**
   * Fetches the keys now (a cold start's init phase), so the first delivery does not wait for Google; rejects with
   * VerificationKeysUnavailable when they cannot be had.
   */
  prefetch(): Promise<void>;
}

/** What a receiver requires of the token (its `audience` and `serviceAccount` fields). */
export interface ExpectedIdentity {
  audience: string;
  serviceAccount: string;
}

/** Google's OAuth 2.0 public keys as a JWK set (https://developers.google.com/identity/openid-connect/openid-connect#validatinganidtoken). */
export const googleCertsUrl = 'https://www.googleapis.com/oauth2/v3/certs';

/** Google ID tokens name the issuer with or without the scheme; both are Google's (same page). */
const googleIssuers = ['https://accounts.google.com', 'accounts.google.com'];

/** Skew allowed between Google's clock and ours, on `exp` and `iat`. */
export const clockToleranceSeconds = 60;
/** Google ID tokens live one hour; one that claims to have been issued longer ago is refused whatever its `exp` says. */
const maxTokenAgeSeconds = 3600;

export interface GoogleIdTokenVerifierOptions {
  /** Where the keys are fetched: Google's by default; `http:` only on a loopback address (tests). */
  certsUrl?: string;
  clock: Clock;
  /** Bounds one fetch of the keys, so a slow endpoint cannot eat the sender's delivery timeout. Default 2 s. */
  fetchTimeoutMs?: number;
  /**
   * How long fetched keys are used without asking again (default 10 minutes), and how long after a fetch a token with an
   * unknown `kid` may cause another (default 30 s): junk key ids cannot make the relay fetch more than that.
   */
  cacheMaxAgeMs?: number;
  cooldownMs?: number;
}

export function createGoogleIdTokenVerifier(options: GoogleIdTokenVerifierOptions): GoogleIdTokenVerifier {
  const url = checkedCertsUrl(options.certsUrl ?? googleCertsUrl);
  // jose caches the set, refetches when a token names a key it does not hold (at most once per cooldown) and refuses
  // redirects (it fetches with `redirect: 'manual'` and wants a 200).
  const remote = createRemoteJWKSet(url, {
    timeoutDuration: options.fetchTimeoutMs ?? 2000,
    cacheMaxAge: options.cacheMaxAgeMs ?? 10 * 60_000,
    cooldownDuration: options.cooldownMs ?? 30_000,
  });
  const keysUnavailable = (error: unknown) =>
    new VerificationKeysUnavailable(`Google's keys could not be fetched from ${url.href}: ${describe(error)}`);
  const keyById: JWTVerifyGetKey = async (header, token) => {
    // Google's tokens always name their key; without a `kid` jose would try a lone key of the set.
    if (typeof header.kid !== 'string' || header.kid === '') throw new BadSignature('the token names no key (kid)');
    try {
      return await remote(header, token);
    } catch (error) {
      if (error instanceof errors.JWKSNoMatchingKey || error instanceof errors.JWKSMultipleMatchingKeys)
        throw new BadSignature(
          'the token is signed with a key Google does not publish',
          `the token is signed with a key Google does not publish (kid ${JSON.stringify(header.kid.slice(0, 100))}): ${describe(error)}`,
        );
      // Anything else is the key endpoint failing (timeout, refused, not 200, not a key set): ours to retry.
      throw keysUnavailable(error);
    }
  };

  return {
    async prefetch() {
      try {
        await remote.reload();
      } catch (error) {
        throw keysUnavailable(error);
      }
    },

    async verify(token, expected) {
      let claims: Record<string, unknown>;
      try {
        ({ payload: claims } = await jwtVerify(token, keyById, {
          algorithms: ['RS256'],
          issuer: googleIssuers,
          audience: expected.audience,
          requiredClaims: ['exp', 'iat', 'email'],
          maxTokenAge: maxTokenAgeSeconds,
          clockTolerance: clockToleranceSeconds,
          currentDate: new Date(Number(options.clock() / 1_000_000n)),
        }));
      } catch (error) {
        if (error instanceof BadSignature || error instanceof VerificationKeysUnavailable) throw error;
        throw new BadSignature('the token does not verify', `the token does not verify: ${describe(error)}`);
      }
      // Exact comparison: Google writes service account addresses in lower case, and so must the configuration.
      if (claims.email !== expected.serviceAccount)
        throw new BadSignature(
          'the token was not issued to the configured service account',
          `the token's email ${JSON.stringify(String(claims.email).slice(0, 200))} is not the configured service account`,
        );
      if (claims.email_verified !== true)
        throw new BadSignature('the token does not say its email is verified (email_verified)');
    },
  };
}

/** https, or http on a loopback address only: the keys decide who may reconcile, so they must come over TLS. */
function checkedCertsUrl(text: string): URL {
  const url = new URL(text);
  const loopback = ['127.0.0.1', '[::1]', 'localhost'].includes(url.hostname);
  if (url.protocol !== 'https:' && !(url.protocol === 'http:' && loopback))
    throw new Error(`the Google certs URL must be https (http only on a loopback address): ${url.href}`);
  return url;
}

function describe(error: unknown): string {
  const text = error instanceof Error ? `${error.name}: ${error.message}` : String(error);
  return text.slice(0, 300);
}
