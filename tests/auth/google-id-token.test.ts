/**
 * The check of Google's push tokens (lib/auth/google-id-token.ts) against a loopback keys endpoint: what Pub/Sub sends
 * passes; every claim that is wrong, every forgery and every key that is not Google's is a BadSignature (401); a keys
 * endpoint that cannot answer is VerificationKeysUnavailable (503), and junk key ids cannot make the relay hammer it.
 */
import { createGoogleIdTokenVerifier, type GoogleIdTokenVerifier } from '../../lib/auth/google-id-token';
import { BadSignature, VerificationKeysUnavailable } from '../../lib/delivery/errors';
import {
  GoogleCertsTestServer,
  hs256WithPublicKey,
  idToken,
  pushClaims,
  signingKey,
  unsignedToken,
} from '../support/google-oidc';

const identity = {
  audience: 'https://relay.example.com/hooks/gar',
  serviceAccount: 'relay-push@proj.iam.gserviceaccount.com',
};
const key = signingKey('key-1');
const other = signingKey('key-2');
const stranger = signingKey('key-1'); // not Google's, but claims a published kid
let certs: GoogleCertsTestServer;
let now = Math.floor(Date.now() / 1000);
const clock = () => BigInt(now) * 1_000_000_000n;
const verifier = (options: { cooldownMs?: number; cacheMaxAgeMs?: number; fetchTimeoutMs?: number } = {}) =>
  createGoogleIdTokenVerifier({ certsUrl: certs.url, clock, ...options });

beforeAll(async () => {
  certs = await GoogleCertsTestServer.start([key, other]);
});
afterAll(() => certs.close());
beforeEach(() => {
  now = Math.floor(Date.now() / 1000);
  certs.publish([key, other]);
  certs.failWith(undefined);
  certs.requests.length = 0;
});

async function refusal(v: GoogleIdTokenVerifier, token: string): Promise<unknown> {
  return v.verify(token, identity).then(
    () => 'accepted',
    (error: unknown) => error,
  );
}

test('the token Pub/Sub sends verifies; the keys are fetched once and reused', async () => {
  const v = verifier();
  await expect(v.verify(idToken(key, pushClaims(identity)), identity)).resolves.toBeUndefined();
  await expect(v.verify(idToken(other, pushClaims(identity)), identity)).resolves.toBeUndefined();
  expect(certs.requests).toEqual([{ method: 'GET', path: '/oauth2/v3/certs' }]);
});

test('the issuer without its scheme is Google too', async () => {
  const token = idToken(key, { ...pushClaims(identity), iss: 'accounts.google.com' });
  await expect(verifier().verify(token, identity)).resolves.toBeUndefined();
});

describe('each wrong claim is a 401', () => {
  const cases: Array<[string, (claims: Record<string, unknown>) => Record<string, unknown>, RegExp]> = [
    ['another audience', (c) => ({ ...c, aud: 'https://elsewhere.example.com/' }), /aud/],
    ['no audience', ({ aud: _a, ...c }) => c, /aud/],
    ['another service account', (c) => ({ ...c, email: 'someone@evil.iam.gserviceaccount.com' }), /email/],
    ['the service account in other case', (c) => ({ ...c, email: String(c.email).toUpperCase() }), /email/],
    ['no email', ({ email: _e, ...c }) => c, /email/],
    ['email_verified false', (c) => ({ ...c, email_verified: false }), /email_verified/],
    ['email_verified as the string "true"', (c) => ({ ...c, email_verified: 'true' }), /email_verified/],
    ['no email_verified', ({ email_verified: _v, ...c }) => c, /email_verified/],
    ['another issuer', (c) => ({ ...c, iss: 'https://accounts.google.com.evil.example' }), /iss/],
    ['expired beyond the skew', (c) => ({ ...c, iat: now - 3700, exp: now - 100 }), /exp|iat/],
    ['issued in the future beyond the skew', (c) => ({ ...c, iat: now + 600, exp: now + 4200 }), /iat/],
    ['issued over an hour ago with a far exp', (c) => ({ ...c, iat: now - 7200, exp: now + 3600 }), /iat/],
    ['no exp', ({ exp: _e, ...c }) => c, /exp/],
    ['no iat', ({ iat: _i, ...c }) => c, /iat/],
  ];
  test.each(cases)('%s', async (_name, change, detail) => {
    const error = await refusal(verifier(), idToken(key, change(pushClaims(identity))));
    expect(error).toBeInstanceOf(BadSignature);
    expect((error as BadSignature).detail).toMatch(detail);
  });

  test('within the skew, a token just expired or just from the future still verifies', async () => {
    await expect(
      verifier().verify(idToken(key, { ...pushClaims(identity, now - 3630) }), identity),
    ).resolves.toBeUndefined();
    await expect(verifier().verify(idToken(key, pushClaims(identity, now + 30)), identity)).resolves.toBeUndefined();
  });
});

describe('forgeries are a 401 and fetch nothing they should not', () => {
  test('alg none', async () => {
    const error = await refusal(verifier(), unsignedToken('key-1', pushClaims(identity)));
    expect(error).toBeInstanceOf(BadSignature);
    expect(certs.requests).toHaveLength(0);
  });

  test('HS256 keyed with the public key', async () => {
    const error = await refusal(verifier(), hs256WithPublicKey(key, pushClaims(identity)));
    expect(error).toBeInstanceOf(BadSignature);
    expect((error as BadSignature).detail).toMatch(/alg/i);
    expect(certs.requests).toHaveLength(0);
  });

  test('RS512, an algorithm Google does not use for these tokens', async () => {
    const error = await refusal(verifier(), idToken(key, pushClaims(identity), { alg: 'RS512' }));
    expect(error).toBeInstanceOf(BadSignature);
  });

  test('signed by a key that is not Google’s under a published kid', async () => {
    const error = await refusal(verifier(), idToken(stranger, pushClaims(identity)));
    expect(error).toBeInstanceOf(BadSignature);
    expect((error as BadSignature).detail).toMatch(/signature/i);
  });

  test('a payload changed after signing', async () => {
    const [h, , s] = idToken(key, pushClaims(identity)).split('.');
    const claims = Buffer.from(JSON.stringify({ ...pushClaims(identity), email: 'x@y.iam.gserviceaccount.com' }));
    const error = await refusal(verifier(), `${h}.${claims.toString('base64url')}.${s}`);
    expect(error).toBeInstanceOf(BadSignature);
  });

  test('no kid in the header', async () => {
    const error = await refusal(verifier(), idToken(key, pushClaims(identity), { kid: undefined }));
    expect(error).toBeInstanceOf(BadSignature);
    expect(certs.requests).toHaveLength(0);
  });

  test.each(['', 'a.b', 'not a token', 'a.b.c.d', `${'x'.repeat(10)}..`])('junk %p', async (token) => {
    expect(await refusal(verifier(), token)).toBeInstanceOf(BadSignature);
  });
});

describe('keys by kid', () => {
  test('an unknown kid refetches once, then not again within the cooldown', async () => {
    const v = verifier({ cooldownMs: 60_000 });
    await v.verify(idToken(key, pushClaims(identity)), identity);
    const unknown = signingKey('key-unknown');
    for (let i = 0; i < 5; i += 1)
      expect(await refusal(v, idToken(unknown, pushClaims(identity)))).toBeInstanceOf(BadSignature);
    // The first fetch, then at most one for the unknown kid: the cooldown started at the first fetch has not passed.
    expect(certs.requests.length).toBeLessThanOrEqual(2);
  });

  test('a key Google starts publishing (rotation) is picked up after the cooldown', async () => {
    const v = verifier({ cooldownMs: 0 });
    await v.verify(idToken(key, pushClaims(identity)), identity);
    const next = signingKey('key-3');
    certs.publish([key, next]);
    await expect(v.verify(idToken(next, pushClaims(identity)), identity)).resolves.toBeUndefined();
    expect(certs.requests).toHaveLength(2);
  });
});

describe('the keys endpoint failing is a 503 (ours, retryable), never a 401 or an accepted token', () => {
  test.each([
    ['a 500', { status: 500 }],
    ['a 200 that is HTML', { status: 200, body: '<html>oops</html>' }],
    ['a redirect (not followed)', { redirectTo: 'http://127.0.0.1:1/oauth2/v3/certs' }],
  ] as const)('%s', async (_name, fault) => {
    certs.failWith(fault);
    const error = await refusal(verifier(), idToken(key, pushClaims(identity)));
    expect(error).toBeInstanceOf(VerificationKeysUnavailable);
  });

  test('no answer within the timeout', async () => {
    certs.failWith({ hang: true });
    const error = await refusal(verifier({ fetchTimeoutMs: 200 }), idToken(key, pushClaims(identity)));
    expect(error).toBeInstanceOf(VerificationKeysUnavailable);
  });

  test('nothing listening', async () => {
    const v = createGoogleIdTokenVerifier({ certsUrl: 'http://127.0.0.1:1/oauth2/v3/certs', clock });
    expect(await refusal(v, idToken(key, pushClaims(identity)))).toBeInstanceOf(VerificationKeysUnavailable);
  });
});

test('prefetch (a cold start) fetches the keys once, and the first token then needs no fetch; failing, it says so', async () => {
  const v = verifier();
  await v.prefetch();
  expect(certs.requests).toHaveLength(1);
  await expect(v.verify(idToken(key, pushClaims(identity)), identity)).resolves.toBeUndefined();
  expect(certs.requests).toHaveLength(1);
  certs.failWith({ status: 500 });
  await expect(verifier().prefetch()).rejects.toBeInstanceOf(VerificationKeysUnavailable);
});

test('keys are fetched over https only (http only on loopback, for tests)', () => {
  expect(() => createGoogleIdTokenVerifier({ certsUrl: 'http://www.googleapis.com/oauth2/v3/certs', clock })).toThrow(
    /https/,
  );
  expect(() => createGoogleIdTokenVerifier({ clock })).not.toThrow();
});
