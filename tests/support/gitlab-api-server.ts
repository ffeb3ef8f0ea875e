/**
 * A strict loopback GitLab REST API v4 for tests: project hooks and group hooks, in memory, over plain HTTP on
 * 127.0.0.1. Behaviour follows gitlabhq/gitlabhq, docs first and source where the docs are silent:
 *
 * - Routes (`lib/api/project_hooks.rb`, `ee/lib/api/group_hooks.rb`): `GET|POST /api/v4/{projects|groups}/:id/hooks`,
 *   `GET|PUT|DELETE .../hooks/:hook_id`, `POST .../hooks/:hook_id/test/:trigger`. `:id` is a numeric id or the
 *   URL-encoded full path (`group%2Fsub%2Fproject`), looked up case-insensitively like `find_by_full_path`; an
 *   unencoded path matches no route: 404 `{"error":"404 Not Found"}`. Other methods on a route: 405.
 * - Authentication: `PRIVATE-TOKEN: <token>` or `Authorization: Bearer <token>`; otherwise 401
 *   `{"message":"401 Unauthorized"}`. Access: project hooks need Maintainer, group hooks Owner (roles inherit from
 *   ancestor groups); no access at all is 404 `{"message":"404 Project Not Found"}` / `404 Group Not Found`, too
 *   low a role 403 `{"message":"403 Forbidden"}`. Group hooks are Premium: `groupHooks: false` models an edition
 *   without them (no such route).
 * - Validation (Grape params, `WebHooks::CreateService`, `WebHooksHelpers#save_hook`): missing or mistyped params
 *   400 `{"error":"url is missing"}` / `{"error":"push_events is invalid"}`; an invalid or local URL 422
 *   `{"message":"Invalid url given"}`; a token with a line break 422; a PUT without parameters 400
 *   `{"message":"No parameters provided"}`; unknown hook 404 `{"message":"404 Not found"}`. Undeclared params are
 *   ignored, as Grape's `declared_params` does. Bodies must be JSON (415 otherwise, 400 when it does not parse).
 * - The token is write-only: no response contains it. **The trap**: a PUT whose `url` differs from the stored one and
 *   that carries no `token` clears the token (`WebHooks::Hook#reset_token`; project_webhooks.md: "When you change the
 *   webhook URL, the secret token is reset and not retained"). Same URL without token keeps it.
 * - Pagination (`paginate`): `page`, `per_page` (default 20, clamped to `maxPerPage`, 100 like GitLab unless a test
 *   makes pages small), headers `Link` (prev/next/first/last, absolute), `X-Page`, `X-Per-Page`, `X-Total`,
 *   `X-Total-Pages`, `X-Next-Page`, `X-Prev-Page`.
 * - Auto-disabling (`WebHooks::AutoDisabling`): the server stores `recent_failures` and `disabled_until` and derives
 *   `alert_status` the same way (`temporarily_disabled` for 4..39 failures while `disabled_until` is not past,
 *   `disabled` above 39, else `executable`; always `executable` with `autoDisabling: false`).
 * - Test endpoint (`lib/api/hooks/trigger_test.rb`): decided to model the real outcome rather than always succeed.
 *   The server does not make network calls; `deliver` (default: every receiver answers 200) decides what the hook's
 *   receiver answers, and every test delivery is recorded in `deliveries` with the `X-Gitlab-Token` it would carry.
 *   A 2xx re-enables the hook (`recent_failures` 0, `disabled_until` cleared, so `alert_status` is `executable`) and
 *   answers 201 `{"message":"201 Created"}`; a failure backs the hook off like a real delivery and answers 422 with
 *   the reason. A push or tag push test on a project without commits is 422 "Ensure the project has at least one
 *   commit.". Limited to 5 tests per minute per project/group and user (429, no `Retry-After`).
 * - Rate limits (Rack::Attack): with `rateLimit({ limit, windowSeconds })` every response carries `RateLimit-Name`,
 *   `RateLimit-Limit`, `RateLimit-Observed`, `RateLimit-Remaining`, `RateLimit-Reset` (epoch seconds) and
 *   `RateLimit-ResetTime`; over the limit: 429 `Retry later` with `Retry-After` in seconds.
 * - Fault injection: `fault({ status, retryAfter, times, match })` answers 429/5xx instead of serving; with `location`,
 *   a 3xx redirect there.
 * - Held to GitLab's own API description (`doc/api/openapi/openapi_v2.yaml`, extracted into tests/fixtures/gitlab-openapi
 *   with the corrections its SOURCE.md lists): every JSON request body taken and every answer given on a described
 *   project hook endpoint is checked against it; disagreements go to `violations`. The description has no group hooks,
 *   so those go unchecked.
 *
 * Time comes from the `now` option so a test can share one fake clock with the client under test.
 */
import { FaultSlot, listenOnLoopback } from '../../dev/loopback';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { ApiDescription } from './api-description';
import { closeServer } from './http-body';
import { registerTestSecret } from './log-scan';

// ---------------------------------------------------------------------------------------------------------------------
// Public types

export type HookKind = 'project' | 'group';
export type Role = 'guest' | 'reporter' | 'developer' | 'maintainer' | 'owner';
export type AlertStatus = 'executable' | 'temporarily_disabled' | 'disabled';

export interface GitlabRecordedRequest {
  method: string;
  /** The request target's path exactly as sent (percent-encoding kept: what GitLab routes on). */
  rawPath: string;
  query: Record<string, string>;
  /** How the request authenticated, whether or not the token was known. */
  auth: 'private-token' | 'bearer' | 'none';
  /** The user the token belongs to, when it was known. */
  user?: string;
  contentType?: string;
  /** Parsed JSON body, or the raw text when it does not parse; undefined when empty. */
  body?: unknown;
  /** Status answered (undefined while in flight). */
  status?: number;
}

export interface GitlabFault {
  /** Which requests to affect (default: all). */
  match?: (req: GitlabRecordedRequest) => boolean;
  /** 429 or a 5xx; or a 3xx with `location` (a proxy or a moved instance redirecting the API). */
  status: number;
  /** With a 3xx status: the `Location` answered. */
  location?: string;
  /**
   * `Retry-After` seconds sent with the answer (429 gets the rate-limit window's remainder when omitted); `null`: none,
   * as GitLab's own hook test endpoint answers its 429 (`lib/api/hooks/trigger_test.rb`, no `Retry-After`).
   */
  retryAfter?: number | null;
  /** Number of matching requests to affect, then the fault clears itself. Omitted: until replaced or cleared. */
  times?: number;
}

/** What a hook's receiver answers to a test delivery: an HTTP status (and body), or a connection error. */
export type DeliveryOutcome = { status: number; body?: string } | { error: string };

export interface Delivery {
  hookId: number;
  kind: HookKind;
  url: string;
  trigger: string;
  /** Headers GitLab would send; `X-Gitlab-Token` only when the hook has a token. */
  headers: Record<string, string>;
}

export interface GitlabApiServerOptions {
  /** Epoch ms; share the client's fake clock. Default `Date.now`. */
  now?: () => number;
  /** Largest page GitLab serves (`per_page` above it is clamped). Default 100. */
  maxPerPage?: number;
  /** Group hooks exist (Premium/Ultimate). Default true. */
  groupHooks?: boolean;
  /** The `auto_disabling_web_hooks` feature flag. Default true. */
  autoDisabling?: boolean;
  /** Hook fields left out of responses, to model older GitLab (e.g. `name`, `description` before 17.1). */
  omitHookFields?: string[];
  /** The receiver's answer to test deliveries. Default: `{ status: 200 }`. */
  deliver?: (delivery: Delivery) => DeliveryOutcome;
  /**
   * GitLab's configured `external_url` (`gitlab.yml` host and port), when the client reaches it under another name:
   * an internal DNS name, another port, a TLS-terminating proxy. `Link` is then built on this host and port with the
   * request's own scheme, as GitLab does. Default: this server's own address.
   */
  externalUrl?: string;
  /** Test requests allowed per minute per project/group and user. Default 5 (GitLab's); 0 for no limit. */
  testRequestsPerMinute?: number;
  /** `allow_local_requests_from_web_hooks_and_services`. Default false: loopback and private hosts are refused. */
  allowLocalRequests?: boolean;
}

export interface HookSeed {
  url: string;
  token?: string;
  name?: string;
  description?: string;
  /** Event flags to set true; the others take GitLab's column defaults (`push_events` true, the rest false). */
  events?: string[];
  enableSslVerification?: boolean;
  pushEventsBranchFilter?: string;
  branchFilterStrategy?: 'wildcard' | 'regex' | 'all_branches';
}

/** A stored hook as a test sees it, the real token included. */
export interface StoredHook {
  id: number;
  kind: HookKind;
  /** Full path of the project or group. */
  parent: string;
  url: string;
  token: string | null;
  name: string | null;
  description: string | null;
  flags: Record<string, boolean>;
  enableSslVerification: boolean;
  pushEventsBranchFilter: string | null;
  branchFilterStrategy: 'wildcard' | 'regex' | 'all_branches';
  recentFailures: number;
  /** Epoch ms, or null. */
  disabledUntil: number | null;
  createdAt: number;
}

// ---------------------------------------------------------------------------------------------------------------------
// What GitLab accepts

/** Event flags accepted on create/update and shown in responses (`project_hooks.rb`, `group_hooks.rb`). */
const SHARED_FLAGS = [
  'push_events',
  'tag_push_events',
  'merge_requests_events',
  'issues_events',
  'confidential_issues_events',
  'note_events',
  'confidential_note_events',
  'job_events',
  'pipeline_events',
  'wiki_page_events',
  'deployment_events',
  'feature_flag_events',
  'releases_events',
  'emoji_events',
  'resource_access_token_events',
  'vulnerability_events',
];
const FLAGS: Record<HookKind, readonly string[]> = {
  project: [...SHARED_FLAGS, 'milestone_events', 'resource_deploy_token_events'],
  group: [...SHARED_FLAGS, 'project_events', 'subgroup_events', 'member_events'],
};
/** Column defaults: `push_events` defaults to true, every other event flag to false. */
const DEFAULT_TRUE_FLAGS = new Set(['push_events']);

/** Triggers the test endpoint has sample data for (project_webhooks.md, Trigger a test project webhook). */
const TEST_TRIGGERS = new Set([
  'push_events',
  'tag_push_events',
  'issues_events',
  'confidential_issues_events',
  'note_events',
  'confidential_note_events',
  'merge_requests_events',
  'job_events',
  'pipeline_events',
  'wiki_page_events',
  'releases_events',
  'emoji_events',
  'resource_access_token_events',
]);
/**
 * Triggers the test endpoint takes at all: Grape's `values: ProjectHook.triggers.values` (gitlabhq
 * `lib/api/hooks/trigger_test.rb`, at 0a3208dc4813cc0c93d3b8970031e48e778d87ca; group hooks share the module), the
 * `trigger` enum of GitLab's API description (tests/fixtures/gitlab-openapi). Anything else is a 400; one without
 * sample data a 422 (`test`).
 */
const ACCEPTED_TRIGGERS = new Set([...TEST_TRIGGERS, 'deployment_events', 'feature_flag_events']);
const TEST_EVENT_HEADER: Record<string, string> = { push_events: 'Push Hook', tag_push_events: 'Tag Push Hook' };

const BRANCH_FILTER_STRATEGIES = new Set(['wildcard', 'regex', 'all_branches']);
const ROLE_LEVEL: Record<Role, number> = { guest: 10, reporter: 20, developer: 30, maintainer: 40, owner: 50 };

// `WebHooks::AutoDisabling`
const TEMPORARILY_DISABLED_FAILURE_THRESHOLD = 3;
const PERMANENTLY_DISABLED_FAILURE_THRESHOLD = 39;
const INITIAL_BACKOFF_MS = 60_000;
const MAX_BACKOFF_MS = 86_400_000;

const MAX_BODY_BYTES = 1024 * 1024;

/** GitLab's own description of the project hook endpoints (scripts/extract-gitlab-openapi.mjs, corrections in SOURCE.md). */
const DESCRIPTION = ApiDescription.load('gitlab-openapi');

// ---------------------------------------------------------------------------------------------------------------------

class ApiFailure extends Error {
  constructor(
    readonly status: number,
    readonly body: unknown,
    readonly headers: Record<string, string> = {},
  ) {
    super(typeof body === 'string' ? body : JSON.stringify(body));
  }
}

const routeNotFound = () => new ApiFailure(404, { error: '404 Not Found' });

interface Namespace {
  id: number;
  kind: HookKind;
  fullPath: string;
  emptyRepo: boolean;
}

interface User {
  name: string;
  admin: boolean;
  /** Lower-cased full path → role. */
  access: Map<string, Role>;
}

interface Route {
  kind: HookKind;
  id: string;
  hookId?: string;
  trigger?: string;
}

export class GitlabApiTestServer {
  /** `http://127.0.0.1:<port>` */
  readonly url: string;
  /** The API root clients are configured with: `<url>/api/v4`. */
  readonly apiUrl: string;
  readonly requests: GitlabRecordedRequest[] = [];
  readonly deliveries: Delivery[] = [];
  /** Where a request body the server took, or an answer it gave, disagrees with GitLab's API description. */
  readonly violations: string[] = [];

  private readonly now: () => number;
  private readonly users = new Map<string, User>();
  private readonly namespaces = new Map<string, Namespace>(); // key: `${kind}:${lower-cased full path}`
  private readonly hooks = new Map<number, StoredHook>();
  private readonly sockets = new Set<Socket>();
  private readonly testRequests = new Map<string, number[]>();
  private readonly rateCounts = new Map<string, { windowStart: number; count: number }>();
  private limit: { limit: number; windowMs: number } | undefined;
  private readonly faults = new FaultSlot<GitlabFault, GitlabRecordedRequest>();
  private nextNamespaceId = 1;
  private nextHookId = 1;

  private constructor(
    private readonly server: Server,
    private readonly options: GitlabApiServerOptions,
  ) {
    const { port } = server.address() as AddressInfo;
    this.url = `http://127.0.0.1:${port}`;
    this.apiUrl = `${this.url}/api/v4`;
    this.now = options.now ?? Date.now;
    server.on('connection', (socket: Socket) => {
      this.sockets.add(socket);
      socket.on('close', () => this.sockets.delete(socket));
    });
    server.on('request', (req: IncomingMessage, res: ServerResponse) => {
      this.handle(req, res).catch((err: unknown) => {
        if (!res.headersSent && !res.destroyed)
          this.send(res, undefined, 500, { message: `500 Internal Server Error: ${String(err)}` });
      });
    });
  }

  static async start(options: GitlabApiServerOptions = {}): Promise<GitlabApiTestServer> {
    const server = createServer();
    await listenOnLoopback(server);
    return new GitlabApiTestServer(server, options);
  }

  // -------------------------------------------------------------------------------------------------------------------
  // Test setup and test-only accessors

  /** A token for `name` with roles on projects and groups by full path (inherited by everything below a group). */
  addUser(token: string, name: string, access: Record<string, Role> = {}, opts: { admin?: boolean } = {}): void {
    registerTestSecret(token, 'gitlab-api-server token');
    this.users.set(token, {
      name,
      admin: opts.admin ?? false,
      access: new Map(Object.entries(access).map(([p, r]) => [p.toLowerCase(), r])),
    });
  }

  /** A group (and its ancestors). Returns the numeric id. */
  addGroup(fullPath: string): number {
    const segments = fullPath.split('/');
    for (let i = 1; i < segments.length; i++) this.ensureNamespace('group', segments.slice(0, i).join('/'), false);
    return this.ensureNamespace('group', fullPath, false).id;
  }

  /** A project (and its ancestor groups). `emptyRepo`: no commits yet. Returns the numeric id. */
  addProject(fullPath: string, opts: { emptyRepo?: boolean } = {}): number {
    const segments = fullPath.split('/');
    if (segments.length < 2) throw new Error(`GitlabApiTestServer.addProject: ${fullPath} has no namespace`);
    this.addGroup(segments.slice(0, -1).join('/'));
    return this.ensureNamespace('project', fullPath, opts.emptyRepo ?? false).id;
  }

  /** Store a hook directly (as if made in the UI). Returns its id. */
  addHook(kind: HookKind, parent: string, seed: HookSeed): number {
    const ns = this.namespace(kind, parent);
    if (!ns) throw new Error(`GitlabApiTestServer.addHook: no ${kind} ${parent}`);
    const flags: Record<string, boolean> = {};
    for (const flag of FLAGS[kind])
      flags[flag] = seed.events ? seed.events.includes(flag) : DEFAULT_TRUE_FLAGS.has(flag);
    const hook: StoredHook = {
      id: this.nextHookId++,
      kind,
      parent: ns.fullPath,
      url: seed.url,
      token: seed.token ?? null,
      name: seed.name ?? null,
      description: seed.description ?? null,
      flags,
      enableSslVerification: seed.enableSslVerification ?? true,
      pushEventsBranchFilter: seed.pushEventsBranchFilter ?? null,
      branchFilterStrategy: seed.branchFilterStrategy ?? 'wildcard',
      recentFailures: 0,
      disabledUntil: null,
      createdAt: this.now(),
    };
    this.hooks.set(hook.id, hook);
    return hook.id;
  }

  /** A stored hook with its real token (which the API never returns). */
  hook(id: number): StoredHook | undefined {
    const hook = this.hooks.get(id);
    return hook ? structuredClone(hook) : undefined;
  }

  /** The stored hooks of a project or group, by id. */
  hooksOf(kind: HookKind, parent: string): StoredHook[] {
    const ns = this.namespace(kind, parent);
    return [...this.hooks.values()]
      .filter((h) => h.kind === kind && ns && h.parent === ns.fullPath)
      .map((h) => structuredClone(h));
  }

  /** The hook's real token: what GitLab would send as `X-Gitlab-Token`. */
  hookToken(id: number): string | null | undefined {
    return this.hooks.get(id)?.token;
  }

  /**
   * Put a hook into an auto-disabling state. `alertStatus` sets `recent_failures` to what GitLab would have
   * (`temporarily_disabled`: 4, and `disabled_until` one minute ahead unless given; `disabled`: 40; `executable`: 0);
   * `disabledUntil` (epoch ms or null) sets the column as is. `alert_status` is then derived as GitLab does.
   */
  setHookHealth(
    id: number,
    health: { alertStatus?: AlertStatus; disabledUntil?: number | null; recentFailures?: number },
  ): void {
    const hook = this.hooks.get(id);
    if (!hook) throw new Error(`GitlabApiTestServer.setHookHealth: no hook ${id}`);
    if (health.alertStatus === 'executable') {
      hook.recentFailures = 0;
      hook.disabledUntil = null;
    } else if (health.alertStatus === 'temporarily_disabled') {
      hook.recentFailures = TEMPORARILY_DISABLED_FAILURE_THRESHOLD + 1;
      hook.disabledUntil = this.now() + INITIAL_BACKOFF_MS;
    } else if (health.alertStatus === 'disabled') {
      hook.recentFailures = PERMANENTLY_DISABLED_FAILURE_THRESHOLD + 1;
    }
    if (health.recentFailures !== undefined) hook.recentFailures = health.recentFailures;
    if (health.disabledUntil !== undefined) hook.disabledUntil = health.disabledUntil;
  }

  /** `alert_status` as GitLab derives it now. */
  alertStatus(id: number): AlertStatus {
    const hook = this.hooks.get(id);
    if (!hook) throw new Error(`GitlabApiTestServer.alertStatus: no hook ${id}`);
    return this.deriveAlertStatus(hook);
  }

  /** Set (or clear, with undefined) the fault injected into matching requests. */
  fault(fault: GitlabFault | undefined): void {
    this.faults.set(fault);
  }

  /** Throttle every token (or, unauthenticated, the client) to `limit` requests per fixed window; undefined: off. */
  rateLimit(limit: { limit: number; windowSeconds: number } | undefined): void {
    this.limit = limit ? { limit: limit.limit, windowMs: limit.windowSeconds * 1000 } : undefined;
    this.rateCounts.clear();
  }

  clearRequests(): void {
    this.requests.length = 0;
  }

  async close(): Promise<void> {
    for (const socket of this.sockets) socket.destroy();
    await closeServer(this.server);
  }

  // -------------------------------------------------------------------------------------------------------------------

  private ensureNamespace(kind: HookKind, fullPath: string, emptyRepo: boolean): Namespace {
    const key = `${kind}:${fullPath.toLowerCase()}`;
    let ns = this.namespaces.get(key);
    if (!ns) this.namespaces.set(key, (ns = { id: this.nextNamespaceId++, kind, fullPath, emptyRepo }));
    return ns;
  }

  /** By full path (case-insensitive, like `find_by_full_path`) or numeric id. */
  private namespace(kind: HookKind, id: string): Namespace | undefined {
    if (/^[0-9]+$/.test(id))
      return [...this.namespaces.values()].find((ns) => ns.kind === kind && ns.id === Number(id));
    return this.namespaces.get(`${kind}:${id.toLowerCase()}`);
  }

  private role(user: User, ns: Namespace): number {
    if (user.admin) return ROLE_LEVEL.owner;
    const segments = ns.fullPath.toLowerCase().split('/');
    let best = 0;
    for (let i = 1; i <= segments.length; i++) {
      const role = user.access.get(segments.slice(0, i).join('/'));
      if (role) best = Math.max(best, ROLE_LEVEL[role]);
    }
    return best;
  }

  private deriveAlertStatus(hook: StoredHook): AlertStatus {
    if (this.options.autoDisabling === false) return 'executable';
    const failures = hook.recentFailures;
    if (
      hook.disabledUntil !== null &&
      hook.disabledUntil >= this.now() &&
      failures >= TEMPORARILY_DISABLED_FAILURE_THRESHOLD + 1 &&
      failures <= PERMANENTLY_DISABLED_FAILURE_THRESHOLD
    ) {
      return 'temporarily_disabled';
    }
    if (failures > PERMANENTLY_DISABLED_FAILURE_THRESHOLD) return 'disabled';
    return 'executable';
  }

  /** `WebHooks::AutoDisabling#backoff!`: only counts while the hook is executable. */
  private backoff(hook: StoredHook): void {
    if (this.options.autoDisabling === false || this.deriveAlertStatus(hook) !== 'executable') return;
    const next = Math.min(Math.max(hook.recentFailures + 1, 1), PERMANENTLY_DISABLED_FAILURE_THRESHOLD + 1);
    if (next > TEMPORARILY_DISABLED_FAILURE_THRESHOLD) {
      const backoffCount = hook.recentFailures - TEMPORARILY_DISABLED_FAILURE_THRESHOLD;
      hook.disabledUntil =
        this.now() + Math.min(MAX_BACKOFF_MS, Math.max(INITIAL_BACKOFF_MS, INITIAL_BACKOFF_MS * 2 ** backoffCount));
    }
    hook.recentFailures = next;
  }

  private entity(hook: StoredHook, ns: Namespace): Record<string, unknown> {
    const out: Record<string, unknown> = {
      id: hook.id,
      url: hook.url,
      name: hook.name,
      description: hook.description,
      created_at: new Date(hook.createdAt).toISOString(),
      push_events: hook.flags.push_events,
      tag_push_events: hook.flags.tag_push_events,
      merge_requests_events: hook.flags.merge_requests_events,
      repository_update_events: false,
      enable_ssl_verification: hook.enableSslVerification,
      alert_status: this.deriveAlertStatus(hook),
      disabled_until: hook.disabledUntil === null ? null : new Date(hook.disabledUntil).toISOString(),
      url_variables: [],
      push_events_branch_filter: hook.pushEventsBranchFilter,
      branch_filter_strategy: hook.branchFilterStrategy,
      custom_webhook_template: null,
      custom_headers: [],
      [hook.kind === 'project' ? 'project_id' : 'group_id']: ns.id,
    };
    for (const flag of FLAGS[hook.kind]) out[flag] = hook.flags[flag];
    for (const field of this.options.omitHookFields ?? []) delete out[field];
    return out;
  }

  /** Counts the request; returns the rate-limit headers, and whether it is over the limit. */
  private countRequest(key: string): { headers: Record<string, string>; throttled: boolean; retryAfter: number } {
    if (!this.limit) return { headers: {}, throttled: false, retryAfter: 0 };
    const { limit, windowMs } = this.limit;
    const now = this.now();
    const windowStart = Math.floor(now / windowMs) * windowMs;
    let entry = this.rateCounts.get(key);
    if (!entry || entry.windowStart !== windowStart) this.rateCounts.set(key, (entry = { windowStart, count: 0 }));
    entry.count += 1;
    const resetMs = windowStart + windowMs;
    const headers = {
      'RateLimit-Name': 'throttle_authenticated_api',
      'RateLimit-Limit': String(limit),
      'RateLimit-Observed': String(entry.count),
      'RateLimit-Remaining': String(Math.max(0, limit - entry.count)),
      'RateLimit-Reset': String(Math.ceil(resetMs / 1000)),
      'RateLimit-ResetTime': new Date(resetMs).toUTCString(),
    };
    return { headers, throttled: entry.count > limit, retryAfter: Math.max(1, Math.ceil((resetMs - now) / 1000)) };
  }

  private send(
    res: ServerResponse,
    rec: GitlabRecordedRequest | undefined,
    status: number,
    body: unknown,
    headers: Record<string, string> = {},
  ): void {
    if (rec) {
      rec.status = status;
      const requestBody =
        rec.contentType?.toLowerCase().startsWith('application/json') && typeof rec.body === 'object'
          ? rec.body
          : undefined;
      // Description paths carry the `/api/v4` prefix (no basePath), so the raw path is matched as it is.
      this.violations.push(
        ...DESCRIPTION.check({ method: rec.method, path: rec.rawPath, requestBody, status, responseBody: body }),
      );
    }
    const isText = typeof body === 'string';
    const text = body === undefined ? '' : isText ? body : JSON.stringify(body);
    res.writeHead(status, {
      ...(body === undefined ? {} : { 'Content-Type': isText ? 'text/plain' : 'application/json' }),
      'Content-Length': String(Buffer.byteLength(text)),
      'Cache-Control': 'no-cache',
      ...headers,
    });
    res.end(text);
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const method = req.method ?? 'GET';
    const target = req.url ?? '/';
    const queryStart = target.indexOf('?');
    const rawPath = queryStart === -1 ? target : target.slice(0, queryStart);
    const query: Record<string, string> = {};
    for (const [k, v] of new URLSearchParams(queryStart === -1 ? '' : target.slice(queryStart + 1)))
      if (!(k in query)) query[k] = v;

    const chunks: Buffer[] = [];
    let size = 0;
    for await (const chunk of req) {
      size += (chunk as Buffer).length;
      if (size <= MAX_BODY_BYTES) chunks.push(chunk as Buffer);
    }
    const rawBody = Buffer.concat(chunks).toString('utf8');
    let body: unknown;
    if (rawBody !== '') {
      try {
        body = JSON.parse(rawBody);
      } catch {
        body = rawBody;
      }
    }

    const privateToken = header(req, 'private-token');
    const bearer = /^bearer\s+(.+)$/i.exec(header(req, 'authorization') ?? '')?.[1]?.trim();
    const token = privateToken ?? bearer;
    const user = token !== undefined ? this.users.get(token) : undefined;
    const rec: GitlabRecordedRequest = {
      method,
      rawPath,
      query,
      auth: privateToken !== undefined ? 'private-token' : bearer !== undefined ? 'bearer' : 'none',
    };
    if (user) rec.user = user.name;
    const contentType = header(req, 'content-type');
    if (contentType !== undefined) rec.contentType = contentType;
    if (body !== undefined) rec.body = body;
    this.requests.push(rec);

    const rate = this.countRequest(user ? `user:${user.name}` : `ip:${req.socket.remoteAddress ?? ''}`);
    const fault = this.faults.take(rec);
    if (fault) {
      if (fault.location !== undefined) {
        this.send(
          res,
          rec,
          fault.status,
          { message: `${fault.status} Moved` },
          { ...rate.headers, Location: fault.location },
        );
      } else if (fault.status === 429) {
        const retryAfter = fault.retryAfter === undefined ? rate.retryAfter : fault.retryAfter;
        this.send(res, rec, 429, 'Retry later\n', {
          ...rate.headers,
          ...(retryAfter === null ? {} : { 'Retry-After': String(retryAfter) }),
        });
      } else {
        this.send(
          res,
          rec,
          fault.status,
          {
            message: `${fault.status} ${fault.status === 503 ? 'Service Unavailable' : fault.status === 502 ? 'Bad Gateway' : 'Internal Server Error'}`,
          },
          {
            ...rate.headers,
            ...(fault.retryAfter !== undefined && fault.retryAfter !== null
              ? { 'Retry-After': String(fault.retryAfter) }
              : {}),
          },
        );
      }
      return;
    }
    if (rate.throttled) {
      this.send(res, rec, 429, 'Retry later\n', { ...rate.headers, 'Retry-After': String(rate.retryAfter) });
      return;
    }

    try {
      const [status, out, headers] = this.route(method, rawPath, query, user, contentType, rawBody, body);
      this.send(res, rec, status, out, { ...rate.headers, ...headers });
    } catch (err) {
      if (err instanceof ApiFailure) this.send(res, rec, err.status, err.body, { ...rate.headers, ...err.headers });
      else this.send(res, rec, 500, { message: '500 Internal Server Error' }, rate.headers);
    }
  }

  private parseRoute(rawPath: string): Route | undefined {
    const segments = rawPath.split('/');
    // ['', 'api', 'v4', 'projects'|'groups', ':id', 'hooks', ...]
    if (segments[0] !== '' || segments[1] !== 'api' || segments[2] !== 'v4') return undefined;
    const [resource, id, hooks, hookId, test, trigger, ...rest] = segments.slice(3);
    if (
      (resource !== 'projects' && resource !== 'groups') ||
      id === undefined ||
      id === '' ||
      hooks !== 'hooks' ||
      rest.length > 0
    )
      return undefined;
    let decoded: string;
    try {
      decoded = decodeURIComponent(id);
    } catch {
      return undefined;
    }
    const route: Route = { kind: resource === 'projects' ? 'project' : 'group', id: decoded };
    if (hookId === undefined) return route;
    if (hookId === '') return undefined;
    route.hookId = hookId;
    if (test === undefined) return route;
    if (test !== 'test' || trigger === undefined || trigger === '') return undefined;
    route.trigger = trigger;
    return route;
  }

  private route(
    method: string,
    rawPath: string,
    query: Record<string, string>,
    user: User | undefined,
    contentType: string | undefined,
    rawBody: string,
    body: unknown,
  ): [number, unknown, Record<string, string>?] {
    const route = this.parseRoute(rawPath);
    if (!route || (route.kind === 'group' && this.options.groupHooks === false)) throw routeNotFound();
    const allowed =
      route.trigger !== undefined ? ['POST'] : route.hookId !== undefined ? ['GET', 'PUT', 'DELETE'] : ['GET', 'POST'];
    if (!allowed.includes(method))
      throw new ApiFailure(405, { error: '405 Not Allowed' }, { Allow: [...allowed, 'OPTIONS'].join(', ') });

    // before { authenticate! }
    if (!user) throw new ApiFailure(401, { message: '401 Unauthorized' });
    // before { authorize! ..., user_project / user_group }
    const ns = this.namespace(route.kind, route.id);
    const notFound = new ApiFailure(404, {
      message: route.kind === 'project' ? '404 Project Not Found' : '404 Group Not Found',
    });
    if (!ns) throw notFound;
    const level = this.role(user, ns);
    if (level === 0) throw notFound;
    if (level < ROLE_LEVEL[route.kind === 'project' ? 'maintainer' : 'owner'])
      throw new ApiFailure(403, { message: '403 Forbidden' });

    // Params (Grape validations).
    const params = method === 'POST' || method === 'PUT' ? this.bodyParams(contentType, rawBody, body) : {};
    if (route.hookId !== undefined && !/^[0-9]+$/.test(route.hookId))
      throw new ApiFailure(400, { error: 'hook_id is invalid' });
    const hook = route.hookId !== undefined ? this.hooks.get(Number(route.hookId)) : undefined;
    const hookHere = hook && hook.kind === route.kind && hook.parent === ns.fullPath ? hook : undefined;

    if (route.trigger !== undefined) {
      if (!ACCEPTED_TRIGGERS.has(route.trigger))
        throw new ApiFailure(400, { error: 'trigger does not have a valid value' });
      if (!hookHere) throw new ApiFailure(404, { message: '404 Not found' });
      return this.test(hookHere, ns, user, route.trigger);
    }
    if (route.hookId === undefined) {
      if (method === 'GET') return this.list(route.kind, ns, rawPath, query);
      return this.create(route.kind, ns, params);
    }
    if (method === 'PUT') {
      const errors = this.validateParams(route.kind, params, false);
      if (errors.length > 0) throw new ApiFailure(400, { error: errors.join(', ') });
      if (!hookHere) throw new ApiFailure(404, { message: '404 Not found' });
      return this.update(hookHere, ns, params);
    }
    if (!hookHere) throw new ApiFailure(404, { message: '404 Not found' });
    if (method === 'GET') return [200, this.entity(hookHere, ns)];
    this.hooks.delete(hookHere.id);
    return [204, undefined];
  }

  private bodyParams(contentType: string | undefined, rawBody: string, body: unknown): Record<string, unknown> {
    if (rawBody === '') return {};
    const media = contentType?.split(';')[0]?.trim().toLowerCase();
    if (media !== 'application/json')
      throw new ApiFailure(415, { error: `The provided content-type '${media ?? ''}' is not supported.` });
    if (typeof body !== 'object' || body === null || Array.isArray(body) || typeof body === 'string')
      throw new ApiFailure(400, { error: 'The request body is not valid JSON.' });
    return body as Record<string, unknown>;
  }

  /** Grape's `requires`/`optional` checks; returns `"<param> is missing"` / `"<param> is invalid"` messages. */
  private validateParams(kind: HookKind, params: Record<string, unknown>, create: boolean): string[] {
    const errors: string[] = [];
    if (create && params.url === undefined) errors.push('url is missing');
    for (const key of ['url', 'token', 'name', 'description', 'push_events_branch_filter', 'custom_webhook_template']) {
      if (params[key] !== undefined && params[key] !== null && typeof params[key] !== 'string')
        errors.push(`${key} is invalid`);
    }
    for (const key of [...FLAGS[kind], 'enable_ssl_verification']) {
      if (params[key] !== undefined && coerceBoolean(params[key]) === undefined) errors.push(`${key} is invalid`);
    }
    const strategy = params.branch_filter_strategy;
    if (strategy !== undefined && (typeof strategy !== 'string' || !BRANCH_FILTER_STRATEGIES.has(strategy)))
      errors.push('branch_filter_strategy does not have a valid value');
    return errors;
  }

  private urlAllowed(url: string): boolean {
    let parsed: URL;
    try {
      parsed = new URL(url);
    } catch {
      return false;
    }
    if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') return false;
    if (this.options.allowLocalRequests) return true;
    const host = parsed.hostname.replace(/^\[|\]$/g, '').toLowerCase();
    return !(
      host === 'localhost' ||
      host === '0.0.0.0' ||
      host === '::1' ||
      /^127\./.test(host) ||
      /^10\./.test(host) ||
      /^192\.168\./.test(host) ||
      /^172\.(1[6-9]|2[0-9]|3[01])\./.test(host) ||
      /^169\.254\./.test(host)
    );
  }

  private list(
    kind: HookKind,
    ns: Namespace,
    rawPath: string,
    query: Record<string, string>,
  ): [number, unknown, Record<string, string>] {
    for (const key of ['page', 'per_page']) {
      if (query[key] !== undefined && !/^-?[0-9]+$/.test(query[key]))
        throw new ApiFailure(400, { error: `${key} is invalid` });
    }
    const maxPerPage = this.options.maxPerPage ?? 100;
    const perPage = Math.min(Math.max(query.per_page !== undefined ? Number(query.per_page) : 20, 1), maxPerPage);
    const page = Math.max(query.page !== undefined ? Number(query.page) : 1, 1);
    const all = [...this.hooks.values()]
      .filter((h) => h.kind === kind && h.parent === ns.fullPath)
      .sort((a, b) => a.id - b.id);
    const totalPages = Math.max(1, Math.ceil(all.length / perPage));
    const items = all.slice((page - 1) * perPage, page * perPage).map((h) => this.entity(h, ns));
    const link = (p: number) => {
      const params = new URLSearchParams(query);
      params.set('page', String(p));
      params.set('per_page', String(perPage));
      // Gitlab::Pagination::OffsetHeaderBuilder#base_request_uri (gitlabhq/gitlabhq 8b573c94895dc0ac0e1d9d59cf3e8745e8b539ca,
      // lib/gitlab/pagination/offset_header_builder.rb): the request's URL with host and port replaced by
      // `Gitlab.config.gitlab.host` / `.port`, the scheme kept. Behind an internal name or a proxy that is not the
      // origin the client called.
      const at = new URL(`${this.url}${rawPath}`);
      if (this.options.externalUrl !== undefined) {
        const external = new URL(this.options.externalUrl);
        at.hostname = external.hostname;
        at.port = external.port === '' ? (external.protocol === 'https:' ? '443' : '80') : external.port;
      }
      return `${at.origin}${rawPath}?${params.toString()}`;
    };
    const links: string[] = [];
    if (page > 1) links.push(`<${link(page - 1)}>; rel="prev"`);
    if (page < totalPages) links.push(`<${link(page + 1)}>; rel="next"`);
    links.push(`<${link(1)}>; rel="first"`, `<${link(totalPages)}>; rel="last"`);
    const headers = {
      Link: links.join(', '),
      'X-Page': String(page),
      'X-Per-Page': String(perPage),
      'X-Total': String(all.length),
      'X-Total-Pages': String(totalPages),
      'X-Next-Page': page < totalPages ? String(page + 1) : '',
      'X-Prev-Page': page > 1 ? String(page - 1) : '',
    };
    return [200, items, headers];
  }

  private create(kind: HookKind, ns: Namespace, params: Record<string, unknown>): [number, unknown] {
    const errors = this.validateParams(kind, params, true);
    if (errors.length > 0) throw new ApiFailure(400, { error: errors.join(', ') });
    const url = params.url as string;
    if (!this.urlAllowed(url)) throw new ApiFailure(422, { message: 'Invalid url given' });
    if (typeof params.token === 'string' && params.token.includes('\n'))
      throw new ApiFailure(422, { message: 'Token is invalid' });
    const id = this.addHook(kind, ns.fullPath, { url });
    const hook = this.hooks.get(id) as StoredHook;
    this.assign(hook, params);
    return [201, this.entity(hook, ns)];
  }

  private update(hook: StoredHook, ns: Namespace, params: Record<string, unknown>): [number, unknown] {
    const declared = Object.keys(params).filter((key) => this.declared(hook.kind, key));
    if (declared.length === 0) throw new ApiFailure(400, { message: 'No parameters provided' });
    if (typeof params.url === 'string' && !this.urlAllowed(params.url))
      throw new ApiFailure(422, { message: 'Invalid url given' });
    if (typeof params.token === 'string' && params.token.includes('\n'))
      throw new ApiFailure(422, { message: { token: ['is invalid'] } });
    // `WebHooks::Hook#reset_token`: `self.token = nil if url_changed? && !encrypted_token_changed?`.
    const urlChanged = typeof params.url === 'string' && params.url !== hook.url;
    const tokenSent = params.token !== undefined;
    this.assign(hook, params);
    if (urlChanged && !tokenSent) hook.token = null;
    return [200, this.entity(hook, ns)];
  }

  private declared(kind: HookKind, key: string): boolean {
    return (
      FLAGS[kind].includes(key) ||
      [
        'url',
        'token',
        'name',
        'description',
        'enable_ssl_verification',
        'push_events_branch_filter',
        'branch_filter_strategy',
        'custom_webhook_template',
      ].includes(key)
    );
  }

  private assign(hook: StoredHook, params: Record<string, unknown>): void {
    if (typeof params.url === 'string') hook.url = params.url;
    if (params.token !== undefined)
      hook.token = typeof params.token === 'string' && params.token !== '' ? params.token : null;
    if (params.name !== undefined) hook.name = typeof params.name === 'string' ? params.name : null;
    if (params.description !== undefined)
      hook.description = typeof params.description === 'string' ? params.description : null;
    for (const flag of FLAGS[hook.kind]) {
      const value = coerceBoolean(params[flag]);
      if (value !== undefined) hook.flags[flag] = value;
    }
    const ssl = coerceBoolean(params.enable_ssl_verification);
    if (ssl !== undefined) hook.enableSslVerification = ssl;
    if (params.push_events_branch_filter !== undefined)
      hook.pushEventsBranchFilter =
        typeof params.push_events_branch_filter === 'string' ? params.push_events_branch_filter : null;
    if (typeof params.branch_filter_strategy === 'string')
      hook.branchFilterStrategy = params.branch_filter_strategy as StoredHook['branchFilterStrategy'];
    // `before_validation :set_branch_filter_nil, if: :branch_filter_strategy_all_branches?`
    if (hook.branchFilterStrategy === 'all_branches') hook.pushEventsBranchFilter = null;
  }

  private test(hook: StoredHook, ns: Namespace, user: User, trigger: string): [number, unknown] {
    const limit = this.options.testRequestsPerMinute ?? 5;
    if (limit > 0) {
      const key = `${ns.kind}:${ns.id}:${user.name}`;
      const now = this.now();
      const recent = (this.testRequests.get(key) ?? []).filter((at) => at > now - 60_000);
      if (recent.length >= limit) {
        this.testRequests.set(key, recent);
        throw new ApiFailure(429, {
          message: { error: 'This endpoint has been requested too many times. Try again later.' },
        });
      }
      this.testRequests.set(key, [...recent, now]);
    }
    // `TestHooks::BaseService#execute`: a trigger `TestHooks::ProjectService#data` builds no sample for is
    // "Testing not available for this hook", rendered as 422 by trigger_test.rb (gitlabhq
    // app/services/test_hooks/base_service.rb at 05f0ebba3a2c8ddf39e436f412dc2ab5bf1353b2, project_service.rb at
    // 54cee682d0c36ae3cbabf25d565803de142900f4).
    if (!TEST_TRIGGERS.has(trigger)) throw new ApiFailure(422, { message: 'Testing not available for this hook' });
    if (ns.kind === 'project' && ns.emptyRepo && (trigger === 'push_events' || trigger === 'tag_push_events')) {
      throw new ApiFailure(422, { message: 'Ensure the project has at least one commit.' });
    }
    const headers: Record<string, string> = {
      'Content-Type': 'application/json',
      'X-Gitlab-Event': TEST_EVENT_HEADER[trigger] ?? `${trigger.replace(/_events$/, '').replace(/_/g, ' ')} Hook`,
    };
    if (hook.token) headers['X-Gitlab-Token'] = hook.token;
    const delivery: Delivery = { hookId: hook.id, kind: hook.kind, url: hook.url, trigger, headers };
    this.deliveries.push(structuredClone(delivery));
    const outcome = this.options.deliver?.(delivery) ?? { status: 200 };
    if ('status' in outcome && outcome.status >= 200 && outcome.status <= 299) {
      // `WebHooks::AutoDisabling#enable!`
      hook.recentFailures = 0;
      hook.disabledUntil = null;
      return [201, { message: '201 Created' }];
    }
    this.backoff(hook);
    throw new ApiFailure(422, { message: 'error' in outcome ? outcome.error : (outcome.body ?? '') });
  }
}

function header(req: IncomingMessage, name: string): string | undefined {
  const value = req.headers[name];
  return Array.isArray(value) ? value[0] : value;
}

/** Grape's Boolean coercion. */
function coerceBoolean(value: unknown): boolean | undefined {
  if (typeof value === 'boolean') return value;
  if (value === 1 || value === 0) return value === 1;
  if (typeof value === 'string') {
    const v = value.toLowerCase();
    if (['true', 't', '1', 'yes', 'y', 'on'].includes(v)) return true;
    if (['false', 'f', '0', 'no', 'n', 'off'].includes(v)) return false;
  }
  return undefined;
}
