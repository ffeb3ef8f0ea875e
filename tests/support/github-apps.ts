/**
 * GitHub App authentication as api.github.com does it, for the loopback GitHub API server (github-api-server.ts):
 * apps with their public keys, installations on accounts, the app JWT and installation access tokens.
 *
 * What it holds a client to:
 * - the JWT (https://docs.github.com/en/apps/creating-github-apps/authenticating-with-a-github-app/generating-a-json-web-token-jwt-for-a-github-app):
 *   three base64url parts, header `alg: RS256` only (`none`, `HS256` and the rest are refused, whatever the signature),
 *   an RSA-SHA256 signature that verifies with the public key of the app `iss` names (app id or client id), `iat` an
 *   integer not in the future, `exp` an integer in the future and at most 10 minutes ahead; any failure is a 401 with
 *   the message GitHub gives for it where known;
 * - installation tokens (https://docs.github.com/en/rest/apps/apps#create-an-installation-access-token-for-an-app):
 *   `ghs_` tokens valid for `tokenLifetimeMs` (GitHub: one hour) by the server's clock, then answered 401 "Bad
 *   credentials"; a token only reaches the repositories of its installation (all the account's, or the selected ones)
 *   and only with the installation's permissions (`repository_hooks`, `organization_hooks`): 403 "Resource not
 *   accessible by integration" otherwise, as GitHub answers an app lacking a permission.
 *
 * Every JWT received and every token issued is registered for the run's log scan.
 */
import { createPublicKey, randomBytes, verify, type KeyObject } from 'node:crypto';
import { registerTestSecret } from './log-scan';

export type AppPermission = 'read' | 'write';

export interface AppSeed {
  appId: number;
  /** The app's public key (PEM or KeyObject); the client signs with the matching private key. */
  publicKey: KeyObject | string;
  /** The app's client id, which GitHub also accepts as `iss`. */
  clientId?: string;
  slug?: string;
}

export interface InstallationSeed {
  /** The account (user or organisation) the app is installed on. */
  account: string;
  /** Repositories (`owner/repo`) the installation may reach; all of the account's when omitted. */
  repositories?: string[];
  /** Default: `repository_hooks` and `organization_hooks` write. */
  permissions?: Partial<Record<'repository_hooks' | 'organization_hooks', AppPermission>>;
}

export interface App {
  id: number;
  clientId: string;
  slug: string;
  publicKey: KeyObject;
}

export interface Installation {
  id: number;
  appId: number;
  account: string;
  repositories?: string[];
  permissions: Partial<Record<'repository_hooks' | 'organization_hooks', AppPermission>>;
}

export interface IssuedToken {
  token: string;
  installationId: number;
  expiresAt: number;
}

/** A JWT the server verified (or refused), as decoded, for tests to read its claims. */
export interface ReceivedJwt {
  header: Record<string, unknown>;
  claims: Record<string, unknown>;
  /** The server's clock when it arrived, epoch seconds. */
  receivedAt: number;
  /** Why it was refused; undefined when accepted. */
  refused?: string;
}

/** A refusal: status and GitHub's message. */
export class AppAuthError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

const undecodable = 'A JSON web token could not be decoded';
const badExp =
  "'Expiration time' claim ('exp') must be a numeric value representing the future time at which the assertion expires";
const farExp = "'Expiration time' claim ('exp') is too far in the future";
const badIat = "'Issued at' claim ('iat') must be an Integer representing the time that the assertion was issued";

export class GitHubApps {
  readonly jwts: ReceivedJwt[] = [];
  readonly issued: IssuedToken[] = [];
  private readonly apps = new Map<number, App>();
  private readonly installations = new Map<number, Installation>();
  private readonly tokens = new Map<string, IssuedToken>();
  private nextInstallation = 50_000_001;

  constructor(
    private readonly now: () => number,
    private readonly tokenLifetimeMs = 3_600_000,
  ) {}

  addApp(seed: AppSeed): App {
    const app: App = {
      id: seed.appId,
      clientId: seed.clientId ?? `Iv23li${seed.appId.toString(36).padStart(14, '0')}`,
      slug: seed.slug ?? `relay-app-${seed.appId}`,
      publicKey: typeof seed.publicKey === 'string' ? createPublicKey(seed.publicKey) : seed.publicKey,
    };
    this.apps.set(app.id, app);
    return app;
  }

  /** Installs the app on an account; returns the installation id. */
  addInstallation(appId: number, seed: InstallationSeed): number {
    if (!this.apps.has(appId)) throw new Error(`GitHubApps: unknown app ${appId}`);
    const id = this.nextInstallation++;
    this.installations.set(id, {
      id,
      appId,
      account: seed.account,
      ...(seed.repositories ? { repositories: seed.repositories.map((r) => r.toLowerCase()) } : {}),
      permissions: seed.permissions ?? { repository_hooks: 'write', organization_hooks: 'write' },
    });
    return id;
  }

  /** Revokes every issued token (GitHub: `DELETE /installation/token`, or a changed installation). */
  revokeTokens(): void {
    this.tokens.clear();
  }

  /** The app a `Bearer` JWT authenticates, or an AppAuthError (401) saying what is wrong with it. */
  verifyJwt(jwt: string): App {
    const nowSeconds = Math.floor(this.now() / 1000);
    const parts = jwt.split('.');
    const decode = (part: string | undefined): Record<string, unknown> | undefined => {
      if (part === undefined || !/^[A-Za-z0-9_-]*$/.test(part)) return undefined;
      try {
        const value: unknown = JSON.parse(Buffer.from(part, 'base64url').toString('utf8'));
        return typeof value === 'object' && value !== null && !Array.isArray(value)
          ? (value as Record<string, unknown>)
          : undefined;
      } catch {
        return undefined;
      }
    };
    const header = decode(parts[0]);
    const claims = decode(parts[1]);
    const received: ReceivedJwt = { header: header ?? {}, claims: claims ?? {}, receivedAt: nowSeconds };
    this.jwts.push(received);
    registerTestSecret(jwt, 'github-apps jwt');
    const refuse = (message: string): never => {
      received.refused = message;
      throw new AppAuthError(401, message);
    };
    if (parts.length !== 3 || !header || !claims) return refuse(undecodable);
    // RS256 only: an `alg` the token chooses itself (none, HS256 keyed with the public key) must never be honoured.
    if (header.alg !== 'RS256') return refuse(undecodable);
    const iss = claims.iss;
    const app = [...this.apps.values()].find(
      (a) => iss === a.id || iss === String(a.id) || (typeof iss === 'string' && iss === a.clientId),
    );
    if (!app) return refuse(undecodable);
    const signed = Buffer.from(`${parts[0]}.${parts[1]}`);
    const signature = Buffer.from(parts[2]!, 'base64url');
    if (!verify('sha256', signed, app.publicKey, signature)) return refuse(undecodable);
    const { iat, exp } = claims;
    if (typeof iat !== 'number' || !Number.isInteger(iat) || iat > nowSeconds) return refuse(badIat);
    if (typeof exp !== 'number' || !Number.isInteger(exp) || exp <= nowSeconds) return refuse(badExp);
    if (exp > nowSeconds + 600) return refuse(farExp);
    return app;
  }

  /** The app's installation on an account, or undefined (404). */
  installationOnAccount(app: App, account: string): Installation | undefined {
    return [...this.installations.values()].find(
      (i) => i.appId === app.id && i.account.toLowerCase() === account.toLowerCase(),
    );
  }

  /** The app's installation that reaches a repository, or undefined (404). */
  installationOnRepository(app: App, fullName: string): Installation | undefined {
    const installation = this.installationOnAccount(app, fullName.split('/')[0]!);
    if (!installation) return undefined;
    return !installation.repositories || installation.repositories.includes(fullName.toLowerCase())
      ? installation
      : undefined;
  }

  installation(app: App, id: number): Installation | undefined {
    const installation = this.installations.get(id);
    return installation?.appId === app.id ? installation : undefined;
  }

  /** A new installation access token, valid for the token lifetime from now. */
  issue(installation: Installation): IssuedToken {
    const token = `ghs_${randomBytes(27).toString('base64url').replace(/[-_]/g, 'x').slice(0, 36)}`;
    registerTestSecret(token, 'github-apps installation token');
    const issued: IssuedToken = {
      token,
      installationId: installation.id,
      expiresAt: this.now() + this.tokenLifetimeMs,
    };
    this.tokens.set(token, issued);
    this.issued.push(issued);
    return issued;
  }

  /**
   * The installation an installation token authenticates: undefined when the token is unknown, `expired` when it was
   * issued but its hour is over (GitHub answers both 401 "Bad credentials").
   */
  tokenInstallation(token: string): Installation | 'expired' | undefined {
    const issued = this.tokens.get(token);
    if (!issued) return undefined;
    if (this.now() >= issued.expiresAt) return 'expired';
    return this.installations.get(issued.installationId);
  }

  appOf(installation: Installation): App {
    return this.apps.get(installation.appId)!;
  }
}
