import type { syncProviderNames } from '../config/schema';
import type { ApiClient, RequestAuthorizer } from './http';
import type { RateBudget } from './pacing';

/** Providers whose webhooks the sync manages. */
export type SyncProviderName = (typeof syncProviderNames)[number];

/**
 * Where hooks live: one repository (`org/repo`, GitLab `group/sub/project`, Bitbucket DC `PROJ/repo`), or an
 * organisation / group whose hook covers every repository in it (GitHub org hooks, GitLab group hooks).
 */
export interface HookTarget {
  kind: 'repository' | 'organization';
  path: string;
}

/** A webhook as the provider reports it, in provider-neutral terms. */
export interface HookState {
  id: string;
  url: string;
  /** Provider-native event names, sorted (GitHub `push`, GitLab `push_events`, Bitbucket `repo:push`, ...). */
  events: string[];
  active: boolean;
  /** `json` or `form` where the provider has the setting (GitHub, Gitea, Forgejo). */
  contentType?: string;
  /** The provider switched the hook off after failed deliveries (GitLab `alert_status`, `disabled_until`). */
  disabled?: boolean;
  /** The hook's name or description, where the provider has one (GitLab 17.1+, Bitbucket). */
  name?: string;
  /**
   * Settings the provider reports that stop or break deliveries although URL, events and activity look right, one
   * drift reason each (`branch filter main → *`, `no secret set`, `TLS verification off`): the plan updates the hook,
   * and the provider's update repairs all of them.
   */
  drift?: string[];
  /** The provider reports the last delivery failed (GitHub `last_response`): worth looking for deliveries to redo. */
  lastDeliveryFailed?: boolean;
}

/** A hook as the managed-state record keeps it with its list's ETag: what `planTarget` reads, no more. */
export type CachedHook = Pick<HookState, 'id' | 'url' | 'events' | 'active' | 'contentType' | 'lastDeliveryFailed'>;

/** What the relay wants a hook to be. */
export interface HookSpec {
  /** The receiver URL, with the secret version marker in its query string. */
  url: string;
  events: readonly string[];
  secret: string;
  /** Written to the provider's name/description field where one exists, so people see who owns the hook. */
  name: string;
}

/**
 * One provider's webhook API. Each implementation is a small fetch-based client on the shared `ApiClient`; it knows
 * its provider's request shapes and traps, nothing about plans.
 */
export interface HookApi {
  readonly provider: SyncProviderName;
  /** The provider-native events a relay hook subscribes to (sorted). */
  readonly relayEvents: readonly string[];
  /** The content type the relay wants, where the provider has the setting. */
  readonly contentType?: string;
  /** The longest hook secret the provider takes, in characters (Bitbucket Cloud: 128); undefined when unknown. */
  readonly maxSecretLength?: number;
  /** The shared HTTP client, whose `stats` count calls and writes. */
  readonly client: ApiClient;
  /**
   * The hook target of a repository this provider hosts, from the path part of its identity key (`repoKey` without
   * the host, lower-cased, no `.git`), or undefined if the path cannot be one of its repositories.
   */
  repositoryPath(keyPath: string): string | undefined;
  listHooks(target: HookTarget): Promise<HookState[]>;
  /**
   * The hooks, asked conditionally where the provider answers `If-None-Match` (GitHub): `notModified` with the cached
   * hooks on a 304, else the list and its ETag (when it fit on one page). Providers without conditional requests leave
   * it out and the run calls `listHooks`.
   */
  listHooksConditional?(target: HookTarget, cached?: { etag: string; hooks: readonly CachedHook[] }): Promise<HookList>;
  createHook(target: HookTarget, spec: HookSpec): Promise<void>;
  /**
   * Sends the whole spec, secret and URL included: GitHub removes the secret from a PATCH without one, GitLab resets
   * the token when the URL changes.
   */
  updateHook(target: HookTarget, id: string, spec: HookSpec): Promise<void>;
  deleteHook(target: HookTarget, id: string): Promise<void>;
  /** GitLab: a successful test request re-enables a hook disabled after failures. */
  reenableHook?(target: HookTarget, id: string): Promise<void>;
  /** GitHub: redeliver the hook's failed deliveries since `since` (epoch ms); returns how many were redelivered. */
  redeliverFailed?(target: HookTarget, id: string, since: number): Promise<number>;
}

/** A conditional hook list's answer. */
export interface HookList {
  hooks: HookState[];
  /** The provider answered 304: `hooks` are the cached ones. */
  notModified: boolean;
  /** The list's ETag, to send next time; absent when the list took more than one page or the provider sent none. */
  etag?: string;
}

export interface HookApiOptions {
  /** API root, e.g. `https://api.github.com`, `https://gitlab.example.com/api/v4`, `https://git.example.com/api/v1`. */
  apiUrl: string;
  /** The API token; empty when `authorizer` supplies the credentials. */
  token: string;
  /** Credentials fetched per request (GitHub App installation tokens), in place of `token`. */
  authorizer?: RequestAuthorizer;
  /** Epoch ms by which the run must stop calling (the Lambda's timeout minus a margin). */
  deadline: number;
  fetch?: typeof fetch;
  now?: () => number;
  sleep?: (ms: number) => Promise<void>;
  /** Admit an `http:` apiUrl to a loopback host (`sync.allowHttpLoopback`); otherwise only `https:`. */
  allowHttpLoopback?: boolean;
  /** The rate budget of this API and token, shared across the run's clients (GitHub makes its own when absent). */
  budget?: RateBudget;
}

/** A registration's GitHub App, as configured (`app:` in place of `token:`), with its private key read. */
export interface GitHubAppCredentials {
  /** The app id (`12345`) or client id (`Iv23li...`): the JWT's `iss`. */
  appId: string;
  /** The app's private key, PEM (PKCS#1 as GitHub hands it out, or PKCS#8). */
  privateKey: string;
  /** The installation to use for every target; found per account when absent. */
  installationId?: number;
}

/**
 * What a registration authenticates with, its secrets read: an API token, or a GitHub App (`app:`), whose `keySource`
 * names the private key's secret reference for messages (never the key).
 */
export type SyncCredential = { token: string } | { app: GitHubAppCredentials & { keySource: string } };
