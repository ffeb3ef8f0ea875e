/**
 * GitHub App authentication for the sync: the app signs a short-lived JWT with its private key, trades it for an
 * installation access token per account it is installed on, and the hook calls use that token.
 *
 * - JWT (https://docs.github.com/en/apps/creating-github-apps/authenticating-with-a-github-app/generating-a-json-web-token-jwt-for-a-github-app):
 *   RS256, `iat` 60 s in the past (clock drift), `exp` at most 10 minutes ahead, `iss` the app id or client id.
 *   Signed with node:crypto: the whole of it is one `sign` call (docs/decisions.md, "GitHub App JWT").
 * - Installation tokens (https://docs.github.com/en/rest/apps/apps#create-an-installation-access-token-for-an-app):
 *   `POST /app/installations/{id}/access_tokens`, valid an hour (`expires_at`); kept until 5 minutes before that and
 *   then renewed. A token GitHub refuses with 401 (revoked, or the installation's permissions changed) is dropped and
 *   the request retried once with a new one (lib/sync/http.ts, `RequestAuthorizer`).
 * - Installations (https://docs.github.com/en/rest/apps/apps#get-a-repository-installation-for-the-authenticated-app
 *   and #get-an-organization-installation-for-the-authenticated-app): when `installationId` is not configured, the
 *   installation of each account is looked up once, from the first target met on it, and kept: an app has at most one
 *   installation per account.
 *
 * Tokens and installations are kept per app across runs of a warm container (an installation token outlives three
 * 15-minute runs), in this module's cache. Every installation token is registered for redaction as it arrives; the
 * private key was registered by the SecretStore that read it; JWTs are scrubbed by shape (lib/observability/redact.ts).
 */
import { createHash, createPrivateKey, sign, type KeyObject } from 'node:crypto';
import { registerSecret } from '../../observability/redact';
import type { GitHubAppCredentials } from '../hook-api';
import { ApiError, type ApiClient, type AuthorizedRequest, type RequestAuthorizer } from '../http';
import { ownerRepoResourcePath } from './paths';

/** `iat` this far in the past, as GitHub recommends against clock drift. */
export const jwtBackdateSeconds = 60;
/**
 * `exp` this far ahead of now: GitHub refuses more than 10 minutes ("'Expiration time' claim ('exp') is too far in
 * the future"); one minute less leaves room for a clock running ahead, and `exp - iat` is then exactly 10 minutes.
 */
export const jwtLifetimeSeconds = 540;
/** An installation token is renewed this long before its `expires_at` (a run must not start on a dying token). */
export const tokenRenewMarginMs = 5 * 60_000;
/** An account the app is not installed on is not asked about again for this long (a run meets it once per target). */
export const notInstalledRetryMs = 10 * 60_000;

/** A JWT for the app, signed RS256 at `nowMs`. */
export function appJwt(appId: string, key: KeyObject, nowMs: number): string {
  const now = Math.floor(nowMs / 1000);
  const header = base64url({ alg: 'RS256', typ: 'JWT' });
  const payload = base64url({ iat: now - jwtBackdateSeconds, exp: now + jwtLifetimeSeconds, iss: appId });
  const signature = sign('sha256', Buffer.from(`${header}.${payload}`), key).toString('base64url');
  return `${header}.${payload}.${signature}`;
}

/**
 * The app's private key as a KeyObject; the error names the secret reference (`where`), never the value. Keys stored
 * as one JSON line often carry `\n` escapes instead of line breaks: they are turned back.
 */
export function appPrivateKey(pem: string, where: string): KeyObject {
  const text = !pem.includes('\n') && pem.includes('\\n') ? pem.replace(/\\n/g, '\n') : pem;
  let key: KeyObject;
  try {
    key = createPrivateKey({ key: text, format: 'pem' });
  } catch {
    throw new Error(`${where} is not a PEM private key (download one from the GitHub App's settings)`);
  }
  if (key.asymmetricKeyType !== 'rsa')
    throw new Error(`${where} is a ${key.asymmetricKeyType ?? 'non-RSA'} key; a GitHub App key is RSA (RS256)`);
  return key;
}

interface InstallationToken {
  token: string;
  expiresAt: number;
}

/**
 * One app's credentials and what they were traded for: the authorizer of the sync's GitHub ApiClient. App endpoints
 * (`/app/...`, `.../installation`) get the JWT; every other request the installation token of its scope's account.
 */
export class GitHubAppAuth implements RequestAuthorizer {
  private readonly key: KeyObject;
  private jwt: { value: string; renewAt: number } | undefined;
  /** Installation id per account (lower-cased); accounts the app is not installed on, until when that stands. */
  private readonly installations = new Map<string, Promise<number>>();
  private readonly notInstalled = new Map<string, { until: number; path: string; detail: string }>();
  /** The installation token in use per installation, and the renewals under way. */
  private readonly tokens = new Map<number, InstallationToken>();
  private readonly renewals = new Map<number, Promise<InstallationToken>>();
  /** Every credential handed out, newest last (a few a day): scrubbed from errors. */
  private readonly issued: string[] = [];

  constructor(
    private readonly app: GitHubAppCredentials,
    where: string,
    private readonly now: () => number = Date.now,
  ) {
    this.key = appPrivateKey(app.privateKey, where);
  }

  async authorization(request: AuthorizedRequest, client: ApiClient): Promise<string> {
    if (isAppEndpoint(request.path)) return `Bearer ${this.appJwt()}`;
    const installation = await this.installationFor(request, client);
    return `Bearer ${(await this.tokenFor(installation, client)).token}`;
  }

  rejected(authorization: string, request: AuthorizedRequest): boolean {
    // A refused JWT is a wrong key or app id: no renewal helps, and the 401 says so.
    if (isAppEndpoint(request.path)) return false;
    for (const [installation, token] of this.tokens)
      if (authorization === `Bearer ${token.token}`) this.tokens.delete(installation);
    // Already replaced by a concurrent renewal, or dropped just now: a retry with the current token is right.
    return true;
  }

  secrets(): readonly string[] {
    return this.issued;
  }

  private appJwt(): string {
    const now = this.now();
    // Reused while it has more than a minute left, so a burst of app calls does not sign one each.
    if (!this.jwt || now >= this.jwt.renewAt) {
      const value = appJwt(this.app.appId, this.key, now);
      this.jwt = { value, renewAt: now + (jwtLifetimeSeconds - 60) * 1000 };
      this.remember(value);
    }
    return this.jwt.value;
  }

  private installationFor(request: AuthorizedRequest, client: ApiClient): Promise<number> {
    if (this.app.installationId !== undefined) return Promise.resolve(this.app.installationId);
    const scope = request.scope;
    if (!scope)
      throw new Error(`${request.method} ${request.path}: no account to find the GitHub App's installation for`);
    const account = scope.split('/')[0]!.toLowerCase();
    const refused = this.notInstalled.get(account);
    // A new error each time: the caller renames it for its target (providers/core.ts errorForTarget).
    if (refused && this.now() < refused.until)
      return Promise.reject(new ApiError('GET', refused.path, 404, refused.detail));
    let pending = this.installations.get(account);
    if (!pending) {
      pending = this.lookUpInstallation(scope, account, client);
      this.installations.set(account, pending);
      pending.catch(() => {
        if (this.installations.get(account) === pending) this.installations.delete(account);
      });
    }
    return pending;
  }

  private async lookUpInstallation(scope: string, account: string, client: ApiClient): Promise<number> {
    // A repository scope asks about that repository (it works for user and organisation accounts alike).
    const kind = scope.includes('/') ? 'repository' : 'organization';
    const path = ownerRepoResourcePath('github', { kind, path: scope }, 'installation');
    try {
      const response = await client.request<{ id?: unknown }>('GET', path);
      const id = response.body?.id;
      if (typeof id !== 'number' || !Number.isSafeInteger(id) || id <= 0)
        throw new ApiError('GET', path, response.status, 'unexpected installation object');
      return id;
    } catch (error) {
      if (error instanceof ApiError && error.status === 404) {
        const detail = `the GitHub App ${this.app.appId} is not installed on ${scope} (install it on ${account}, or set app.installationId)`;
        this.notInstalled.set(account, { until: this.now() + notInstalledRetryMs, path, detail });
        throw new ApiError('GET', path, 404, detail);
      }
      throw error;
    }
  }

  private async tokenFor(installation: number, client: ApiClient): Promise<InstallationToken> {
    const cached = this.tokens.get(installation);
    if (cached && this.now() < cached.expiresAt - tokenRenewMarginMs) return cached;
    // Concurrent callers share one renewal.
    let pending = this.renewals.get(installation);
    if (!pending) {
      pending = this.createToken(installation, client).finally(() => this.renewals.delete(installation));
      this.renewals.set(installation, pending);
    }
    const token = await pending;
    this.tokens.set(installation, token);
    return token;
  }

  private async createToken(installation: number, client: ApiClient): Promise<InstallationToken> {
    const path = `/app/installations/${installation}/access_tokens`;
    const response = await client.request<{ token?: unknown; expires_at?: unknown }>('POST', path);
    const { token, expires_at: expiresAt } = response.body ?? {};
    const expires = typeof expiresAt === 'string' ? Date.parse(expiresAt) : Number.NaN;
    if (typeof token !== 'string' || token.length < 8 || Number.isNaN(expires))
      throw new ApiError('POST', path, response.status, 'unexpected installation token object');
    registerSecret(token);
    this.remember(token);
    return { token, expiresAt: expires };
  }

  private remember(credential: string): void {
    this.issued.push(credential);
    if (this.issued.length > 32) this.issued.shift();
  }
}

/** Endpoints that take the app's JWT rather than an installation token. */
function isAppEndpoint(path: string): boolean {
  return (
    path.startsWith('/app/') ||
    path === '/app' ||
    /^\/(repos\/[^/]+\/[^/]+|orgs\/[^/]+|users\/[^/]+)\/installation$/.test(path)
  );
}

function base64url(value: unknown): string {
  return Buffer.from(JSON.stringify(value)).toString('base64url');
}

/** Per app (API root, app id, key, installation) for the life of the container: tokens outlive a run. */
const cache = new Map<string, GitHubAppAuth>();

/** The app's authorizer, shared by every run of this container. `where` names the key's secret reference. */
export function gitHubAppAuth(
  apiUrl: string,
  app: GitHubAppCredentials,
  where: string,
  now: () => number = Date.now,
): GitHubAppAuth {
  // The key enters only as a hash: the cache key is never printed, but need not hold the key itself either.
  const key = [
    apiUrl,
    app.appId,
    app.installationId ?? '',
    createHash('sha256').update(app.privateKey).digest('hex'),
  ].join('\u0000');
  let auth = cache.get(key);
  if (!auth) {
    auth = new GitHubAppAuth(app, where, now);
    cache.set(key, auth);
  }
  return auth;
}

/** Forgets every app's tokens and installations (tests). */
export function forgetGitHubApps(): void {
  cache.clear();
}
