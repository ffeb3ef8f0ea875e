import { createHmac, generateKeyPairSync, sign as rsaSign, type KeyObject } from 'node:crypto';
import type { GitHubAppCredentials, HookApi, HookTarget } from '../../lib/sync/hook-api';
import { ApiError } from '../../lib/sync/http';
import { githubHooks } from '../../lib/sync/providers/github';
import {
  appJwt,
  forgetGitHubApps,
  gitHubAppAuth,
  GitHubAppAuth,
  jwtBackdateSeconds,
  tokenRenewMarginMs,
} from '../../lib/sync/providers/github-app';
import { GitHubApiServer } from '../support/github-api-server';
import { registerPemBody, registerTestSecret } from '../support/log-scan';

const START = Date.parse('2026-11-24T12:00:00Z');
const MINUTE = 60_000;
const APP_ID = 424242;

// A key pair of the test's own, as GitHub generates for an app: PKCS#1 PEM, RSA 2048.
const { privateKey: keyObject, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
const privateKey = keyObject.export({ type: 'pkcs1', format: 'pem' }) as string;
const other = generateKeyPairSync('rsa', { modulusLength: 2048 });
registerTestSecret(privateKey, 'github-app test private key');
registerPemBody(privateKey, 'github-app test private key');

let server: GitHubApiServer;
let clock: number;
const now = () => clock;
const sleep = async (ms: number) => {
  clock += ms;
};
let acme: number;
let globex: number;

const widgets: HookTarget = { kind: 'repository', path: 'acme/widgets' };
const gadgets: HookTarget = { kind: 'repository', path: 'acme/gadgets' };
const tools: HookTarget = { kind: 'repository', path: 'globex/tools' };
const acmeOrg: HookTarget = { kind: 'organization', path: 'acme' };
const initech: HookTarget = { kind: 'repository', path: 'initech/app' };

beforeEach(async () => {
  clock = START;
  forgetGitHubApps();
  server = await GitHubApiServer.start({ now });
  for (const repo of ['acme/widgets', 'acme/gadgets', 'globex/tools', 'initech/app']) server.addRepository(repo);
  server.addOrganization('acme');
  server.apps.addApp({ appId: APP_ID, publicKey, clientId: 'Iv23liRelayTestApp01' });
  acme = server.apps.addInstallation(APP_ID, { account: 'acme' });
  globex = server.apps.addInstallation(APP_ID, { account: 'globex' });
});

afterEach(async () => {
  const violations = [...server.violations];
  await server.close();
  expect(violations).toEqual([]);
});

function credentials(overrides: Partial<GitHubAppCredentials> = {}): GitHubAppCredentials {
  return { appId: String(APP_ID), privateKey, ...overrides };
}

function client(app: GitHubAppCredentials = credentials()): HookApi {
  return githubHooks({
    apiUrl: server.url,
    token: '',
    deadline: clock + 15 * MINUTE,
    now,
    sleep,
    allowHttpLoopback: true,
    authorizer: gitHubAppAuth(server.url, app, 'app.privateKey (secret test/key)', now),
  });
}

const tokenRequests = () => server.requests.filter((r) => /\/access_tokens$/.test(r.path));
const installationLookups = () => server.requests.filter((r) => /\/installation$/.test(r.path)).map((r) => r.path);

function decode(jwt: string): { header: Record<string, unknown>; claims: Record<string, unknown> } {
  const [header, claims] = jwt
    .split('.')
    .slice(0, 2)
    .map((part) => JSON.parse(Buffer.from(part, 'base64url').toString('utf8')));
  return { header, claims };
}

/** A JWT with the given header and claims, signed RS256 with `key` (or HS256 with a secret, or not at all). */
function craft(header: Record<string, unknown>, claims: Record<string, unknown>, sign?: KeyObject | string): string {
  const enc = (v: unknown) => Buffer.from(JSON.stringify(v)).toString('base64url');
  const input = `${enc(header)}.${enc(claims)}`;
  if (sign === undefined) return `${input}.`;
  const signature =
    typeof sign === 'string'
      ? createHmac('sha256', sign).update(input).digest('base64url')
      : rsaSign('sha256', Buffer.from(input), sign).toString('base64url');
  return `${input}.${signature}`;
}

async function askForToken(jwt: string): Promise<{ status: number; message: unknown }> {
  const response = await fetch(`${server.url}/app/installations/${acme}/access_tokens`, {
    method: 'POST',
    headers: { authorization: `Bearer ${jwt}`, 'user-agent': 'test', accept: 'application/vnd.github+json' },
  });
  const body = (await response.json()) as { message?: unknown };
  return { status: response.status, message: body.message };
}

describe('the app JWT', () => {
  test('RS256, iat backdated 60 s, exp at most 10 minutes ahead, iss the configured app id', () => {
    const jwt = appJwt('424242', keyObject, START + 400);
    const { header, claims } = decode(jwt);
    const nowSeconds = Math.floor((START + 400) / 1000);
    expect(header).toEqual({ alg: 'RS256', typ: 'JWT' });
    expect(claims.iss).toBe('424242');
    expect(nowSeconds - (claims.iat as number)).toBe(jwtBackdateSeconds);
    expect(claims.exp as number).toBeGreaterThan(nowSeconds);
    expect((claims.exp as number) - nowSeconds).toBeLessThanOrEqual(600);
    expect((claims.exp as number) - (claims.iat as number)).toBeLessThanOrEqual(600);
  });

  test('the JWTs the sync sends verify on the server, with those claims at the time they arrive', async () => {
    await client().listHooks(widgets);
    expect(server.apps.jwts.length).toBeGreaterThan(0);
    for (const { header, claims, receivedAt, refused } of server.apps.jwts) {
      expect(refused).toBeUndefined();
      expect(header.alg).toBe('RS256');
      expect(claims.iss).toBe(String(APP_ID));
      expect(receivedAt - (claims.iat as number)).toBeGreaterThanOrEqual(0);
      expect(receivedAt - (claims.iat as number)).toBeLessThanOrEqual(60);
      expect((claims.exp as number) - receivedAt).toBeLessThanOrEqual(600);
    }
    // The client id works as the issuer too.
    forgetGitHubApps();
    await client(credentials({ appId: 'Iv23liRelayTestApp01' })).listHooks(gadgets);
    expect(server.apps.jwts.at(-1)).toMatchObject({ claims: { iss: 'Iv23liRelayTestApp01' } });
    expect(server.apps.jwts.at(-1)!.refused).toBeUndefined();
  });

  test.each([
    ['alg none', () => craft({ alg: 'none', typ: 'JWT' }, claimsAt(clock))],
    [
      'HS256 keyed with the public key',
      () => craft({ alg: 'HS256' }, claimsAt(clock), publicKey.export({ type: 'spki', format: 'pem' }) as string),
    ],
    ['another key', () => craft({ alg: 'RS256' }, claimsAt(clock), other.privateKey)],
    ['an unknown issuer', () => craft({ alg: 'RS256' }, { ...claimsAt(clock), iss: '999' }, keyObject)],
    ['not a JWT', () => 'ghp_notAJwtAtAll0123456789'],
  ])('the server refuses %s with 401', async (_name, jwt) => {
    expect(await askForToken(jwt())).toEqual({ status: 401, message: 'A JSON web token could not be decoded' });
  });

  test('the server holds iat and exp to their bounds', async () => {
    const s = Math.floor(clock / 1000);
    const signed = (claims: Record<string, unknown>) => craft({ alg: 'RS256' }, { iss: APP_ID, ...claims }, keyObject);
    expect(await askForToken(signed({ iat: s - 60, exp: s + 601 }))).toMatchObject({
      status: 401,
      message: "'Expiration time' claim ('exp') is too far in the future",
    });
    expect(await askForToken(signed({ iat: s - 700, exp: s - 100 }))).toMatchObject({
      status: 401,
      message: expect.stringMatching(/^'Expiration time' claim \('exp'\) must be a numeric value/),
    });
    expect(await askForToken(signed({ iat: s + 120, exp: s + 500 }))).toMatchObject({
      status: 401,
      message: expect.stringMatching(/^'Issued at' claim \('iat'\)/),
    });
    expect(await askForToken(signed({ iat: s - 60, exp: s + 540 }))).toMatchObject({ status: 201 });
  });

  test('a JWT the server refuses fails the call with its reason, and is not retried as if it were a token', async () => {
    const wrongKey = other.privateKey.export({ type: 'pkcs1', format: 'pem' }) as string;
    registerTestSecret(wrongKey, 'github-app other private key');
    const error = await client(credentials({ privateKey: wrongKey }))
      .listHooks(widgets)
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ApiError);
    expect((error as ApiError).status).toBe(401);
    expect((error as Error).message).toMatch(
      /^github acme\/widgets: GET \/repos\/acme\/widgets\/installation: HTTP 401 A JSON web token could not be decoded/,
    );
    expect(installationLookups()).toHaveLength(1);
  });
});

function claimsAt(ms: number): Record<string, unknown> {
  const s = Math.floor(ms / 1000);
  return { iat: s - 60, exp: s + 540, iss: APP_ID };
}

describe('installation tokens', () => {
  test('one token per installation, kept until 5 minutes before it expires, then renewed', async () => {
    const api = client();
    await api.listHooks(widgets);
    await api.listHooks(gadgets);
    await api.listHooks(widgets);
    expect(tokenRequests().map((r) => r.path)).toEqual([`/app/installations/${acme}/access_tokens`]);
    const first = server.apps.issued[0]!;
    expect(first.expiresAt).toBe(START + 60 * MINUTE);

    // 54 minutes on (a later run of the same container): still more than the margin left.
    clock = first.expiresAt - tokenRenewMarginMs - MINUTE;
    await client().listHooks(widgets);
    expect(tokenRequests()).toHaveLength(1);
    // Inside the margin: renewed before GitHub would refuse it.
    clock = first.expiresAt - tokenRenewMarginMs + 1000;
    await client().listHooks(widgets);
    expect(tokenRequests()).toHaveLength(2);
    // Past the first one's expiry, the second one (an hour from its issue) serves without a third.
    clock = first.expiresAt + 10 * MINUTE;
    await client().listHooks(gadgets);
    expect(tokenRequests()).toHaveLength(2);
    // Every hook call carried the installation token valid at the time: none was answered 401.
    expect(server.requests.filter((r) => r.status === 401)).toEqual([]);
  });

  test('a warm container keeps the token across runs; a cold one (a new cache) asks again', async () => {
    await client().listHooks(widgets);
    await client().listHooks(widgets);
    expect(tokenRequests()).toHaveLength(1);
    forgetGitHubApps();
    await client().listHooks(widgets);
    expect(tokenRequests()).toHaveLength(2);
  });

  test('a 401 on a token believed valid renews it once and retries the request', async () => {
    const api = client();
    await api.listHooks(widgets);
    server.apps.revokeTokens();
    server.clearRequests();
    await expect(api.listHooks(widgets)).resolves.toEqual([]);
    expect(server.requests.map((r) => `${r.method} ${r.path} ${r.status}`)).toEqual([
      'GET /repos/acme/widgets/hooks 401',
      `POST /app/installations/${acme}/access_tokens 201`,
      'GET /repos/acme/widgets/hooks 200',
    ]);
  });

  test('a token that expired while the client still held it (a clock 6 minutes behind GitHub) is renewed the same way', async () => {
    server = await restartWithClock(() => clock + 6 * MINUTE);
    await client().listHooks(widgets);
    // By the client's clock the token has 5.5 minutes left; by GitHub's it expired half a minute ago.
    clock += 60.5 * MINUTE;
    server.clearRequests();
    await client().listHooks(widgets);
    expect(server.requests.map((r) => r.status)).toEqual([401, 201, 200]);
  });

  test('a second 401 is not renewed again: the call fails with it', async () => {
    const api = client();
    server.fault({ kind: 'status', status: 401, message: 'Bad credentials', match: (r) => r.path.endsWith('/hooks') });
    const error = await api.listHooks(widgets).catch((e: unknown) => e);
    expect((error as ApiError).status).toBe(401);
    expect((error as Error).message).toMatch(/HTTP 401 Bad credentials/);
    expect(tokenRequests()).toHaveLength(2);
    expect(server.requests.filter((r) => r.path.endsWith('/hooks'))).toHaveLength(2);
  });

  test('a hook call without the permission it needs is refused 403, not retried', async () => {
    server.apps.addApp({ appId: 7, publicKey });
    server.apps.addInstallation(7, { account: 'acme', permissions: { repository_hooks: 'write' } });
    const api = client(credentials({ appId: '7' }));
    await expect(api.listHooks(widgets)).resolves.toEqual([]);
    const error = await api.listHooks(acmeOrg).catch((e: unknown) => e);
    expect((error as ApiError).status).toBe(403);
    expect((error as Error).message).toMatch(/Resource not accessible by integration/);
  });
});

describe('installations', () => {
  test('found once per account, from the first target met on it; one token per installation', async () => {
    const api = client();
    for (const target of [widgets, gadgets, tools, acmeOrg, widgets]) await api.listHooks(target);
    expect(installationLookups()).toEqual(['/repos/acme/widgets/installation', '/repos/globex/tools/installation']);
    expect(tokenRequests().map((r) => r.path)).toEqual([
      `/app/installations/${acme}/access_tokens`,
      `/app/installations/${globex}/access_tokens`,
    ]);
    // An organisation met first is looked up as one.
    forgetGitHubApps();
    server.clearRequests();
    await client().listHooks(acmeOrg);
    expect(installationLookups()).toEqual(['/orgs/acme/installation']);
  });

  test('a configured installationId is used as is: no lookup', async () => {
    const api = client(credentials({ installationId: acme }));
    await api.listHooks(widgets);
    await api.listHooks(acmeOrg);
    expect(installationLookups()).toEqual([]);
    expect(tokenRequests()).toHaveLength(1);
  });

  test('an account without the app fails its targets with a clear reason, asked once, others unaffected', async () => {
    const api = client();
    const error = await api.listHooks(initech).catch((e: unknown) => e);
    expect((error as Error).message).toMatch(
      /^github initech\/app: GET \/repos\/initech\/app\/installation: HTTP 404 the GitHub App 424242 is not installed on initech\/app/,
    );
    // Asked once: the next target on the account fails with the same reason, named for itself.
    const again = await api.listHooks({ kind: 'repository', path: 'initech/app' }).catch((e: unknown) => e);
    expect((again as Error).message).toMatch(
      /^github initech\/app: GET \/repos\/initech\/app\/installation: HTTP 404 the GitHub App/,
    );
    expect(installationLookups()).toEqual(['/repos/initech/app/installation']);
    await expect(api.listHooks(widgets)).resolves.toEqual([]);
  });

  test('a private key that is not one is refused by name, never quoted', () => {
    const bad = 'not-a-pem-key-but-a-secret-value';
    expect(() => new GitHubAppAuth(credentials({ privateKey: bad }), 'app.privateKey (secret test/key)')).toThrow(
      /^app\.privateKey \(secret test\/key\) is not a PEM private key/,
    );
    try {
      new GitHubAppAuth(credentials({ privateKey: bad }), 'app.privateKey (secret test/key)');
    } catch (error) {
      expect((error as Error).message).not.toContain(bad);
    }
    // A key stored on one JSON line with \n escapes is read as the PEM it is.
    const escaped = privateKey.replace(/\n/g, '\\n');
    expect(() => new GitHubAppAuth(credentials({ privateKey: escaped }), 'k')).not.toThrow();
    const ec = generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey.export({ type: 'pkcs8', format: 'pem' });
    registerTestSecret(ec as string, 'github-app ec key');
    expect(() => new GitHubAppAuth(credentials({ privateKey: ec as string }), 'k')).toThrow(/is a ec key; .* RSA/);
  });
});

async function restartWithClock(serverNow: () => number): Promise<GitHubApiServer> {
  await server.close();
  const next = await GitHubApiServer.start({ now: serverNow });
  for (const repo of ['acme/widgets', 'acme/gadgets', 'globex/tools', 'initech/app']) next.addRepository(repo);
  next.addOrganization('acme');
  next.apps.addApp({ appId: APP_ID, publicKey });
  acme = next.apps.addInstallation(APP_ID, { account: 'acme' });
  forgetGitHubApps();
  return next;
}
