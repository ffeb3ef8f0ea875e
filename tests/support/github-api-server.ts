/**
 * A strict loopback GitHub REST API server for the webhook sync's tests: repository and organisation webhooks, their
 * configs, deliveries and redeliveries, over plain HTTP on 127.0.0.1 (the client takes `apiUrl`).
 *
 * What it holds the client to, as api.github.com does:
 * - bearer-token (or `token`) authentication: 401 "Bad credentials" without or with a wrong token; 404 (never 403)
 *   for a repository or organisation the token cannot see; a `User-Agent` is required; `X-GitHub-Api-Version`, when
 *   sent, must be a version GitHub serves;
 * - GitHub's request validation: 400 "Problems parsing JSON", 422 "Invalid request" for bodies that do not match the
 *   operation's schema, 422 "Validation Failed" with `errors[]` for hooks GitHub refuses (no URL, name not "web",
 *   unknown event or content type, a hook with the same URL and an overlapping event, more than 20 hooks per event);
 * - the secret is write-only: answers show `config.secret: "********"` when one is set, and `hookSecret()` is the
 *   test-only way to read it;
 * - the PATCH trap: a `PATCH .../hooks/{id}` whose body has no `config.secret` removes the secret (GitHub's OpenAPI
 *   description: "If you previously had a `secret` set, you must provide the same `secret` or set a new `secret` or
 *   the secret will be removed"). Modelled strictly: any such PATCH, with or without `config`. `PATCH .../config`
 *   keeps an omitted secret (GitHub's recommended way for config-only changes; unverified, section 1.3);
 * - `config.content_type` defaults to `form` on create when omitted; `insecure_ssl` to "0";
 * - `Link` pagination with `per_page` (max 100, and `maxPerPage` here so tests can page small) and `page` for hooks,
 *   an opaque `cursor` for deliveries (newest first). Repository links point at `/repositories/{id}/...` like
 *   GitHub's own, so a client must follow links rather than build page URLs (`repositoryIdLinks: false` to turn off);
 * - rate limits: `x-ratelimit-limit/remaining/reset/used/resource` on every authenticated answer, a per-token hourly
 *   budget (`rateLimit`) answered with 403 and remaining 0 once spent, a secondary limit (403 + `retry-after`) for a
 *   write less than `minWriteIntervalMs` after the token's previous one (GitHub asks for one second between writes);
 * - GitHub's documented secondary limits, per token over sliding windows (`secondaryLimits`): at most 900 points in
 *   any minute (GET 1 point, POST/PATCH/PUT/DELETE 5), 80 writes in any minute and 500 in any hour; a request past one
 *   is refused with 403 and a `retry-after` saying when the window has room, and is not served. `secondaryUse()` gives
 *   the peaks a token reached, for tests that must stay inside them;
 * - conditional requests: every 200 to a GET carries a weak `ETag` of its body and `Link`; a GET whose
 *   `If-None-Match` names it is answered 304 without a body, and the 304 is not counted against the primary budget
 *   (https://docs.github.com/en/rest/using-the-rest-api/best-practices-for-using-the-rest-api#use-conditional-requests-if-appropriate),
 *   though it counts as a point toward the secondary limit;
 * - faults on demand: primary limit (403 or 429, remaining 0, reset), secondary limit (403/429 + retry-after), any
 *   status (5xx), or a reset connection.
 * - GitHub App authentication (github-apps.ts, `apps`): the app JWT verified with the app's public key (RS256 only),
 *   `iat`/`exp` bounds and `iss`; installations per account (`/repos/{o}/{r}/installation`, `/orgs/{org}/installation`,
 *   `/users/{u}/installation`); installation tokens that expire by the server's clock (then 401) and reach only their
 *   installation's repositories with its permissions (403 "Resource not accessible by integration" otherwise). These
 *   endpoints are not in the hooks OpenAPI fixture: their answers follow https://docs.github.com/en/rest/apps/apps.
 *
 * Every request and answer is checked against GitHub's OpenAPI description of these endpoints
 * (tests/fixtures/github-openapi/hooks.json, extracted from @octokit/openapi by scripts/extract-github-openapi.mjs):
 * path and query parameters, request bodies and response bodies. Mismatches are collected in `violations` (a request
 * body that fails the schema is also answered 422, as GitHub does). Tests assert `violations` is empty.
 *
 * The server's clock is `now` (default Date.now): tests share one fake clock between client and server, so rate-limit
 * resets and write spacing work without real waiting.
 */
import { FaultSlot, listenOnLoopback } from '../../dev/loopback';
import { createHash, randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import http from 'node:http';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { join } from 'node:path';
import Ajv from 'ajv';
import type { ErrorObject, ValidateFunction } from 'ajv';
import addFormats from 'ajv-formats';
import { AppAuthError, GitHubApps, type Installation } from './github-apps';
import { closeServer } from './http-body';
import { registerTestSecret } from './log-scan';

// ---------------------------------------------------------------------------------------------------------------------
// Public types

/** Where hooks live (the same shape as the sync's HookTarget). */
export interface GitHubHookTarget {
  kind: 'repository' | 'organization';
  /** `owner/repo` or `org`; matched case-insensitively, as GitHub does. */
  path: string;
}

export interface TokenGrant {
  /** The user the token belongs to (default `relay-bot`). */
  login?: string;
  /** Repositories (`owner/repo`) the token administers; created when missing. */
  repos?: string[];
  /** Organisations the token administers; created when missing. */
  orgs?: string[];
}

export interface RecordedRequest {
  method: string;
  /** URL path without the query string, as sent. */
  path: string;
  query: Record<string, string>;
  /** Request headers, lower-case names; `authorization` keeps only its scheme. */
  headers: Record<string, string>;
  /** Parsed JSON body (raw text when it does not parse); undefined when empty. */
  body?: unknown;
  /** The OpenAPI operation served (e.g. `repos/create-webhook`), when the path and method are one. */
  operationId?: string;
  /** The token's login, when the token was known. */
  login?: string;
  status?: number;
  responseBody?: unknown;
  responseHeaders?: Record<string, string>;
}

export type GitHubFault = {
  /** Which requests to affect (default: all). */
  match?: (req: RecordedRequest) => boolean;
  /** Number of matching requests to affect; then the fault clears itself. Omitted = until replaced or cleared. */
  times?: number;
} & (
  | { kind: 'primary-rate-limit'; status?: 403 | 429; resetInSeconds?: number }
  | { kind: 'secondary-rate-limit'; status?: 403 | 429; retryAfterSeconds?: number }
  /** `message` may be built from the request (a server echoing what it was sent in its error). */
  | { kind: 'status'; status: number; message?: string | ((req: RecordedRequest) => string) }
  | { kind: 'destroy' }
);

export interface SeedHook {
  url: string;
  events?: string[];
  active?: boolean;
  contentType?: string;
  secret?: string;
  insecureSsl?: string;
}

export interface HookRecord {
  id: number;
  type: 'Repository' | 'Organization';
  name: 'web';
  active: boolean;
  events: string[];
  /** The real config, secret in clear (what GitHub stores, not what it answers). */
  config: { url: string; content_type: string; insecure_ssl: string; secret?: string };
  created_at: string;
  updated_at: string;
  last_response: { code: number | null; status: string | null; message: string | null };
}

export interface SeedDelivery {
  /** Status code the receiver answered (2xx = OK). Default 200. */
  statusCode?: number;
  /** Event name (default `push`). */
  event?: string;
  /** Shared by an event's original delivery and its redeliveries; a new one by default. */
  guid?: string;
  /** When it was delivered (epoch ms or ISO). Default: the server's now. */
  deliveredAt?: number | string;
  redelivery?: boolean;
}

export interface DeliveryRecord {
  id: number;
  guid: string;
  delivered_at: string;
  redelivery: boolean;
  duration: number;
  status: string;
  status_code: number;
  event: string;
  action: string | null;
  installation_id: number | null;
  repository_id: number | null;
  throttled_at: string | null;
}

export interface GitHubApiServerOptions {
  /** The server's clock (epoch ms); share it with the client under test. */
  now?: () => number;
  /** Largest page the server answers (GitHub: 100); smaller makes tests page. */
  maxPerPage?: number;
  /** Requests per token per hour (GitHub: 5000 for a PAT). */
  rateLimit?: number;
  /** A write sooner than this after the same token's previous write gets a secondary rate limit. Default 1000. */
  minWriteIntervalMs?: number;
  /** GitHub's secondary limits per token (defaults: 900 points a minute, 80 writes a minute, 500 an hour). */
  secondaryLimits?: Partial<SecondaryLimits>;
  /** Status code the receiver answers to a redelivery (default 200). */
  redeliveryStatusCode?: (original: DeliveryRecord) => number;
  /** Status code the receiver answers to pings and test pushes (default 200). */
  deliveryStatusCode?: number;
  /** Link headers of repository endpoints use `/repositories/{id}/...`, as GitHub's do. Default true. */
  repositoryIdLinks?: boolean;
  /** How long an installation access token is valid (GitHub: one hour). */
  installationTokenLifetimeMs?: number;
}

// ---------------------------------------------------------------------------------------------------------------------
// OpenAPI: GitHub's own description of these endpoints validates requests and responses.

interface OpenApiParameter {
  name: string;
  in: 'path' | 'query' | 'header';
  required?: boolean;
  schema: object;
}
interface OpenApiMedia {
  schema?: object;
}
interface OpenApiResponse {
  $ref?: string;
  content?: Record<string, OpenApiMedia>;
}
interface OpenApiOperation {
  operationId: string;
  parameters?: Array<OpenApiParameter | { $ref: string }>;
  requestBody?: { required?: boolean; content: Record<string, OpenApiMedia> };
  responses: Record<string, OpenApiResponse>;
  externalDocs?: { url: string };
}
interface OpenApiDocument {
  source: { package: string; version: string; file: string };
  paths: Record<string, Record<string, OpenApiOperation>>;
  components: {
    parameters: Record<string, OpenApiParameter>;
    responses: Record<string, OpenApiResponse>;
    schemas: Record<string, object>;
  };
}

export const githubOpenApi = JSON.parse(
  readFileSync(join(__dirname, '..', 'fixtures', 'github-openapi', 'hooks.json'), 'utf8'),
) as OpenApiDocument;

const SCHEMA_ROOT = 'https://github-openapi.test/hooks.json';
// Strict, except for types: GitHub's description puts `additionalProperties` on a string (hook-delivery payload).
const ajv = new Ajv({ strict: true, strictTypes: false, allErrors: true });
addFormats(ajv);
// OpenAPI 3.0 schema keywords JSON Schema does not have (`nullable` is built into Ajv 8).
ajv.addKeyword('example');
ajv.addKeyword({ keyword: 'components' });
ajv.addFormat('int64', { type: 'number', validate: (n: number) => Number.isSafeInteger(n) });
ajv.addSchema({ $id: SCHEMA_ROOT, components: githubOpenApi.components });

/** `#/components/...` references made absolute, so that operation schemas compile on their own. */
function rebase(node: unknown): unknown {
  if (Array.isArray(node)) return node.map(rebase);
  if (!isObject(node)) return node;
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(node))
    out[key] =
      key === '$ref' && typeof value === 'string' && value.startsWith('#/') ? `${SCHEMA_ROOT}${value}` : rebase(value);
  return out;
}

const compiled = new Map<object, ValidateFunction>();
function validator(schema: object): ValidateFunction {
  let v = compiled.get(schema);
  if (!v) compiled.set(schema, (v = ajv.compile(rebase(schema) as object)));
  return v;
}

function resolveRef<T>(node: T | { $ref: string }): T {
  if (isObject(node) && typeof node.$ref === 'string') {
    const [, section, name] = /^#\/components\/([^/]+)\/([^/]+)$/.exec(node.$ref) ?? [];
    const target = (githubOpenApi.components as unknown as Record<string, Record<string, unknown>>)[section ?? '']?.[
      name ?? ''
    ];
    if (target === undefined) throw new Error(`github-openapi: dangling ${node.$ref}`);
    return target as T;
  }
  return node as T;
}

function describeErrors(errors: ErrorObject[] | null | undefined): string {
  return (errors ?? [])
    .map(
      (e) =>
        `${e.instancePath || '/'} ${e.message ?? 'is invalid'}${e.params && 'additionalProperty' in e.params ? ` (${String(e.params.additionalProperty)})` : ''}`,
    )
    .join('; ');
}

// Compile every request and response schema now: a description Ajv cannot read fails loudly, not mid-test.
for (const methods of Object.values(githubOpenApi.paths)) {
  for (const op of Object.values(methods)) {
    const body = op.requestBody?.content['application/json']?.schema;
    if (body) validator(body);
    for (const response of Object.values(op.responses)) {
      const schema = resolveRef<OpenApiResponse>(response).content?.['application/json']?.schema;
      if (schema) validator(schema);
    }
    for (const p of op.parameters ?? []) validator(resolveRef<OpenApiParameter>(p).schema);
  }
}

interface Route {
  template: string;
  pattern: RegExp;
  names: string[];
  methods: Record<string, OpenApiOperation>;
}

const ROUTES: Route[] = Object.entries(githubOpenApi.paths).map(([template, methods]) => {
  const names: string[] = [];
  const pattern = new RegExp(
    `^${template.replace(/\{([^}]+)\}/g, (_, name: string) => (names.push(name), '([^/]+)'))}$`,
  );
  return { template, pattern, names, methods };
});

/** Statuses GitHub can answer on any endpoint, described or not: bodies are `basic-error`. */
const GENERIC_STATUSES = new Set([400, 401, 403, 404, 429, 500, 502, 503, 504]);
const BASIC_ERROR = { $ref: '#/components/schemas/basic-error' };
const VALIDATION_ERROR = { $ref: '#/components/schemas/validation-error' };

// ---------------------------------------------------------------------------------------------------------------------
// GitHub's answers

const DOCS = 'https://docs.github.com/rest';
const RATE_LIMIT_DOCS = 'https://docs.github.com/rest/overview/rate-limits-for-the-rest-api';
const SUPPORTED_API_VERSIONS = new Set(['2022-11-28', '2026-03-10']);
const MAX_BODY_BYTES = 1024 * 1024;

/** Webhook event names GitHub accepts (a subset of its list: enough to tell a typo from an event). */
const KNOWN_EVENTS = new Set([
  '*',
  'branch_protection_rule',
  'check_run',
  'check_suite',
  'code_scanning_alert',
  'commit_comment',
  'create',
  'delete',
  'deployment',
  'deployment_status',
  'discussion',
  'discussion_comment',
  'fork',
  'gollum',
  'issue_comment',
  'issues',
  'label',
  'member',
  'meta',
  'milestone',
  'package',
  'page_build',
  'ping',
  'public',
  'pull_request',
  'pull_request_review',
  'pull_request_review_comment',
  'pull_request_review_thread',
  'push',
  'registry_package',
  'release',
  'repository',
  'repository_dispatch',
  'star',
  'status',
  'watch',
  'workflow_dispatch',
  'workflow_job',
  'workflow_run',
]);

class HttpError extends Error {
  constructor(
    readonly status: number,
    readonly body: Record<string, unknown>,
    readonly headers: Record<string, string> = {},
  ) {
    super(String(body.message));
  }
}

function errorBody(
  status: number,
  message: string,
  documentationUrl = DOCS,
  extra: Record<string, unknown> = {},
): Record<string, unknown> {
  return { message, documentation_url: documentationUrl, status: String(status), ...extra };
}

function validationFailed(documentationUrl: string, errors: Array<Record<string, unknown>>): HttpError {
  return new HttpError(422, errorBody(422, 'Validation Failed', documentationUrl, { errors }));
}

// ---------------------------------------------------------------------------------------------------------------------
// Storage

type StoredDelivery = DeliveryRecord;

interface StoredHook extends HookRecord {
  deliveries: StoredDelivery[];
}

interface Owner {
  kind: 'repository' | 'organization';
  /** Canonical spelling (`Owner/Repo`, `Org`). */
  name: string;
  id: number;
  hooks: Map<number, StoredHook>;
}

interface Token {
  login: string;
  userId: number;
  owners: Set<string>;
  windowStart: number;
  used: number;
  lastWrite?: number;
  /** An installation token's: what the app may do (github-apps.ts). A personal token has no such limit here. */
  permissions?: Installation['permissions'];
  /** Requests served (not refused by a secondary limit), oldest first: what the secondary windows count. */
  served: Array<{ at: number; points: number; write: boolean }>;
  /** The writes among them. */
  servedWrites: Array<{ at: number }>;
  /** Requests refused by a secondary limit. */
  secondaryRefusals: number;
}

/** GitHub's documented secondary limits for the REST API (docs.github.com, "About secondary rate limits"). */
export interface SecondaryLimits {
  pointsPerMinute: number;
  writesPerMinute: number;
  writesPerHour: number;
}

const DEFAULT_SECONDARY: SecondaryLimits = { pointsPerMinute: 900, writesPerMinute: 80, writesPerHour: 500 };

/** What a token did against the secondary limits: the most any sliding window held, and how often it was refused. */
export interface SecondaryUse {
  peakPointsPerMinute: number;
  peakWritesPerMinute: number;
  peakWritesPerHour: number;
  refusals: number;
}

const WRITE_METHODS = new Set(['POST', 'PATCH', 'PUT', 'DELETE']);

function ownerKey(kind: 'repository' | 'organization', path: string): string {
  return `${kind}:${path.toLowerCase()}`;
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function isoSeconds(ms: number): string {
  return new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z');
}

// ---------------------------------------------------------------------------------------------------------------------
// The server

interface Context {
  rec: RecordedRequest;
  token: Token;
  owner: Owner;
  /** API path prefix of this owner as the client addressed it (`/repos/o/r` or `/orgs/o`). */
  base: string;
  /** Prefix links use (`/repositories/{id}` for repositories unless turned off). */
  linkBase: string;
  op: OpenApiOperation;
  params: Record<string, string>;
  query: Record<string, string>;
  body: unknown;
}

interface Answer {
  status: number;
  body?: unknown;
  headers?: Record<string, string>;
}

export class GitHubApiServer {
  readonly url: string;
  readonly requests: RecordedRequest[] = [];
  /** OpenAPI mismatches of requests and responses; tests expect none. */
  readonly violations: string[] = [];
  /** GitHub Apps: their keys, installations and installation tokens (github-apps.ts). */
  readonly apps: GitHubApps;

  private readonly now: () => number;
  private readonly tokens = new Map<string, Token>();
  /** Installation tokens in use, each with its own rate-limit state. */
  private readonly installationTokens = new Map<string, Token>();
  private readonly owners = new Map<string, Owner>();
  private readonly sockets = new Set<Socket>();
  /** The operation each recorded request was routed to. */
  private readonly operations = new WeakMap<RecordedRequest, OpenApiOperation>();
  private readonly faults = new FaultSlot<GitHubFault, RecordedRequest>();
  private nextId = 1_000_001;
  private nextDeliveryId = 90_000_000_001;
  private closed = false;

  private constructor(
    private readonly server: http.Server,
    private readonly options: GitHubApiServerOptions,
  ) {
    const { port } = server.address() as AddressInfo;
    this.url = `http://127.0.0.1:${port}`;
    this.now = options.now ?? Date.now;
    this.apps = new GitHubApps(this.now, options.installationTokenLifetimeMs);
    server.on('connection', (socket: Socket) => {
      this.sockets.add(socket);
      socket.on('close', () => this.sockets.delete(socket));
    });
    server.on('request', (req: IncomingMessage, res: ServerResponse) => {
      this.handle(req, res).catch((err: unknown) => {
        if (!res.headersSent && !res.destroyed)
          this.write(res, undefined, { status: 500, body: errorBody(500, `test server error: ${String(err)}`) });
      });
    });
  }

  static async start(options: GitHubApiServerOptions = {}): Promise<GitHubApiServer> {
    const server = http.createServer();
    await listenOnLoopback(server);
    return new GitHubApiServer(server, options);
  }

  // --- test set-up and inspection ------------------------------------------------------------------------------------

  /** A token that administers the given repositories and organisations (and nothing else). */
  addToken(token: string, grant: TokenGrant = {}): void {
    const owners = new Set<string>();
    for (const repo of grant.repos ?? []) owners.add(this.ensureOwner('repository', repo).name.toLowerCase());
    for (const org of grant.orgs ?? []) owners.add(`org:${this.ensureOwner('organization', org).name.toLowerCase()}`);
    registerTestSecret(token, 'github-api-server token');
    this.tokens.set(token, {
      login: grant.login ?? 'relay-bot',
      userId: 4_000_000 + this.tokens.size,
      owners,
      windowStart: this.now(),
      used: 0,
      served: [],
      servedWrites: [],
      secondaryRefusals: 0,
    });
  }

  /** A repository (`owner/repo`) or organisation that exists; no token sees it unless granted. */
  addRepository(fullName: string): void {
    this.ensureOwner('repository', fullName);
  }

  addOrganization(name: string): void {
    this.ensureOwner('organization', name);
  }

  /** Seed a hook as if created earlier (no request, no ping); returns its id. */
  addHook(target: GitHubHookTarget, seed: SeedHook): string {
    const owner = this.ensureOwner(target.kind, target.path);
    const hook = this.newHook(owner, {
      url: seed.url,
      content_type: seed.contentType ?? 'form',
      insecure_ssl: seed.insecureSsl ?? '0',
      ...(seed.secret !== undefined ? { secret: seed.secret } : {}),
    });
    hook.events = [...(seed.events ?? ['push'])];
    hook.active = seed.active ?? true;
    return String(hook.id);
  }

  /** The stored hooks of a target, with their real secrets. */
  hooks(target: GitHubHookTarget): HookRecord[] {
    const owner = this.owners.get(ownerKey(target.kind, target.path));
    return owner ? [...owner.hooks.values()].map(({ deliveries: _d, ...hook }) => structuredClone(hook)) : [];
  }

  /** Every hook the server holds, on every repository and organisation (the benches count an estate's). */
  hooksCount(): number {
    let count = 0;
    for (const owner of this.owners.values()) count += owner.hooks.size;
    return count;
  }

  /** Test-only: the secret GitHub would sign with (the API only ever answers "********"). */
  hookSecret(target: GitHubHookTarget, id: string | number): string | undefined {
    return this.storedHook(target, id).config.secret;
  }

  /** Record a delivery of a hook (as if GitHub had sent an event); returns the delivery id. */
  addDelivery(target: GitHubHookTarget, hookId: string | number, seed: SeedDelivery = {}): number {
    const owner = this.ensureOwner(target.kind, target.path);
    const hook = this.storedHook(target, hookId);
    const at =
      seed.deliveredAt === undefined
        ? this.now()
        : typeof seed.deliveredAt === 'number'
          ? seed.deliveredAt
          : Date.parse(seed.deliveredAt);
    return this.deliver(owner, hook, {
      event: seed.event ?? 'push',
      guid: seed.guid ?? randomUUID(),
      at,
      statusCode: seed.statusCode ?? 200,
      redelivery: seed.redelivery ?? false,
    }).id;
  }

  /** A hook's deliveries, oldest first. */
  deliveries(target: GitHubHookTarget, hookId: string | number): DeliveryRecord[] {
    return structuredClone(this.storedHook(target, hookId).deliveries);
  }

  /** Write requests received (POST, PATCH, PUT, DELETE), whatever they were answered. */
  get writeCount(): number {
    return this.requests.filter((r) => WRITE_METHODS.has(r.method)).length;
  }

  /** The token's primary rate-limit state. */
  rateLimit(token: string): { limit: number; remaining: number; used: number; reset: number } {
    const t = this.tokens.get(token);
    if (!t) throw new Error('GitHubApiServer: unknown token');
    return this.rateState(t);
  }

  /** The token's use against the secondary limits since it was added. */
  secondaryUse(token: string): SecondaryUse {
    const t = this.tokens.get(token);
    if (!t) throw new Error('GitHubApiServer: unknown token');
    return {
      peakPointsPerMinute: peakInWindow(t.served, 60_000, (e) => e.points),
      peakWritesPerMinute: peakInWindow(t.servedWrites, 60_000, () => 1),
      peakWritesPerHour: peakInWindow(t.servedWrites, 3_600_000, () => 1),
      refusals: t.secondaryRefusals,
    };
  }

  clearRequests(): void {
    this.requests.length = 0;
  }

  /** Set (or clear, with undefined) the fault injected into matching requests. */
  fault(f: GitHubFault | undefined): void {
    this.faults.set(f);
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    for (const s of this.sockets) s.destroy();
    await closeServer(this.server);
  }

  // --- storage -------------------------------------------------------------------------------------------------------

  private ensureOwner(kind: 'repository' | 'organization', path: string): Owner {
    const segments = path.split('/');
    if (kind === 'repository' ? segments.length !== 2 : segments.length !== 1)
      throw new Error(`GitHubApiServer: bad ${kind} "${path}"`);
    const key = ownerKey(kind, path);
    let owner = this.owners.get(key);
    if (!owner) this.owners.set(key, (owner = { kind, name: path, id: 700_000 + this.owners.size, hooks: new Map() }));
    return owner;
  }

  private storedHook(target: GitHubHookTarget, id: string | number): StoredHook {
    const hook = this.owners.get(ownerKey(target.kind, target.path))?.hooks.get(Number(id));
    if (!hook) throw new Error(`GitHubApiServer: no hook ${id} on ${target.path}`);
    return hook;
  }

  private newHook(owner: Owner, config: HookRecord['config']): StoredHook {
    const at = isoSeconds(this.now());
    const hook: StoredHook = {
      id: this.nextId++,
      type: owner.kind === 'repository' ? 'Repository' : 'Organization',
      name: 'web',
      active: true,
      events: ['push'],
      config,
      created_at: at,
      updated_at: at,
      last_response: { code: null, status: 'unused', message: null },
      deliveries: [],
    };
    owner.hooks.set(hook.id, hook);
    return hook;
  }

  private deliver(
    owner: Owner,
    hook: StoredHook,
    d: { event: string; guid: string; at: number; statusCode: number; redelivery: boolean },
  ): StoredDelivery {
    const ok = d.statusCode >= 200 && d.statusCode < 300;
    const delivery: StoredDelivery = {
      id: this.nextDeliveryId++,
      guid: d.guid,
      delivered_at: isoSeconds(d.at),
      redelivery: d.redelivery,
      duration: 0.05,
      status: ok ? 'OK' : d.statusCode === 0 ? 'failed to connect' : `Invalid HTTP Response: ${d.statusCode}`,
      status_code: d.statusCode,
      event: d.event,
      action: null,
      installation_id: null,
      repository_id: owner.kind === 'repository' ? owner.id : null,
      throttled_at: null,
    };
    hook.deliveries.push(delivery);
    hook.deliveries.sort((a, b) => Date.parse(a.delivered_at) - Date.parse(b.delivered_at) || a.id - b.id);
    const newest = hook.deliveries[hook.deliveries.length - 1] as StoredDelivery;
    hook.last_response = {
      code: newest.status_code === 0 ? null : newest.status_code,
      status: newest.status_code === 0 ? 'failed' : 'active',
      message: newest.status,
    };
    return delivery;
  }

  /**
   * GitHub's documented secondary limits over sliding windows: a request that would take a window past its limit is
   * refused with 403 and `retry-after` (seconds until that window has room for it), and is not counted as served.
   */
  private enforceSecondary(token: Token, method: string): void {
    const limits = { ...DEFAULT_SECONDARY, ...this.options.secondaryLimits };
    const now = this.now();
    const write = WRITE_METHODS.has(method);
    const points = write ? 5 : 1;
    const waits: number[] = [];
    const pointsWait = waitForRoom(token.served, 60_000, limits.pointsPerMinute - points, now, (e) => e.points);
    if (pointsWait > 0) waits.push(pointsWait);
    if (write) {
      const writes = token.servedWrites;
      const minute = waitForRoom(writes, 60_000, limits.writesPerMinute - 1, now, () => 1);
      const hour = waitForRoom(writes, 3_600_000, limits.writesPerHour - 1, now, () => 1);
      if (minute > 0) waits.push(minute);
      if (hour > 0) waits.push(hour);
    }
    if (waits.length > 0) {
      token.secondaryRefusals += 1;
      throw secondaryLimit(403, Math.max(1, Math.ceil(Math.max(...waits) / 1000)));
    }
    token.served.push({ at: now, points, write });
    if (write) token.servedWrites.push({ at: now });
  }

  private rollWindow(t: Token): void {
    if (this.now() >= t.windowStart + 3_600_000) {
      t.windowStart = this.now();
      t.used = 0;
    }
  }

  private rateState(t: Token): { limit: number; remaining: number; used: number; reset: number } {
    this.rollWindow(t);
    const limit = this.options.rateLimit ?? 5000;
    return {
      limit,
      remaining: Math.max(0, limit - t.used),
      used: t.used,
      reset: Math.ceil((t.windowStart + 3_600_000) / 1000),
    };
  }

  private rateHeaders(t: Token): Record<string, string> {
    const { limit, remaining, used, reset } = this.rateState(t);
    return {
      'x-ratelimit-limit': String(limit),
      'x-ratelimit-remaining': String(remaining),
      'x-ratelimit-reset': String(reset),
      'x-ratelimit-used': String(used),
      'x-ratelimit-resource': 'core',
    };
  }

  // --- HTTP ----------------------------------------------------------------------------------------------------------

  private write(res: ServerResponse, rec: RecordedRequest | undefined, answer: Answer): void {
    const text = answer.body === undefined ? '' : JSON.stringify(answer.body);
    const headers: Record<string, string> = {
      'x-github-api-version-selected': '2022-11-28',
      'x-github-media-type': 'github.v3; format=json',
      'x-github-request-id': randomUUID().toUpperCase().slice(0, 23),
      ...(text !== '' ? { 'content-type': 'application/json; charset=utf-8' } : {}),
      'content-length': String(Buffer.byteLength(text)),
      ...answer.headers,
    };
    if (rec) {
      rec.status = answer.status;
      if (answer.body !== undefined) rec.responseBody = structuredClone(answer.body);
      rec.responseHeaders = headers;
    }
    res.writeHead(answer.status, headers);
    res.end(text);
  }

  private async readBody(req: IncomingMessage): Promise<Buffer | 'too-large'> {
    const chunks: Buffer[] = [];
    let size = 0;
    for await (const chunk of req) {
      size += (chunk as Buffer).length;
      if (size > MAX_BODY_BYTES) return 'too-large';
      chunks.push(chunk as Buffer);
    }
    return Buffer.concat(chunks);
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const method = req.method ?? 'GET';
    const url = new URL(req.url ?? '/', this.url);
    const query: Record<string, string> = {};
    for (const [k, v] of url.searchParams) if (!(k in query)) query[k] = v;
    const headers: Record<string, string> = {};
    for (const [k, v] of Object.entries(req.headers))
      if (typeof v === 'string') headers[k] = k === 'authorization' ? (v.split(' ')[0] ?? '') : v;
    const raw = await this.readBody(req);
    const text = raw === 'too-large' ? '' : raw.toString('utf8');
    let body: unknown;
    let unparsable = false;
    if (text !== '') {
      try {
        body = JSON.parse(text);
      } catch {
        body = text;
        unparsable = true;
      }
    }
    const rec: RecordedRequest = { method, path: url.pathname, query, headers };
    if (body !== undefined) rec.body = body;
    this.requests.push(rec);

    // Authentication first, as GitHub does: a bad token never learns whether a repository exists.
    const credentials = /^(?:bearer|token)\s+(\S+)\s*$/i.exec(req.headers.authorization ?? '')?.[1];
    if (isAppEndpoint(url.pathname)) {
      const fault = this.faults.take(rec);
      if (fault?.kind === 'destroy') {
        req.socket.destroy();
        return;
      }
      this.write(res, rec, this.serveApp(req, method, url.pathname, credentials, fault));
      return;
    }
    const token =
      credentials !== undefined ? (this.tokens.get(credentials) ?? this.installationToken(credentials)) : undefined;
    if (token) rec.login = token.login;

    let answer: Answer;
    const fault = this.faults.take(rec);
    if (fault?.kind === 'destroy') {
      req.socket.destroy();
      return;
    }
    try {
      if (!req.headers['user-agent']) {
        throw new HttpError(
          403,
          errorBody(
            403,
            'Request forbidden by administrative rules. Please make sure your request has a User-Agent header (https://docs.github.com/rest/overview/resources-in-the-rest-api#user-agent-required).',
          ),
        );
      }
      if (!token) throw new HttpError(401, errorBody(401, 'Bad credentials'));
      const version = req.headers['x-github-api-version'];
      if (typeof version === 'string' && !SUPPORTED_API_VERSIONS.has(version)) {
        throw new HttpError(
          400,
          errorBody(
            400,
            `API version ${version} is not supported.`,
            'https://docs.github.com/rest/about-the-rest-api/api-versions',
          ),
        );
      }
      answer = this.serve(rec, token, fault, method, url.pathname, query, body, unparsable, raw === 'too-large');
    } catch (err) {
      if (!(err instanceof HttpError)) throw err;
      answer = { status: err.status, body: err.body, headers: err.headers };
    }
    if (token && method === 'GET' && answer.status === 200) answer = this.conditional(req, token, answer);
    if (token) answer.headers = { ...this.rateHeaders(token), ...answer.headers };
    this.checkResponse(rec, answer);
    this.write(res, rec, answer);
  }

  private serve(
    rec: RecordedRequest,
    token: Token,
    fault: GitHubFault | undefined,
    method: string,
    pathname: string,
    query: Record<string, string>,
    body: unknown,
    unparsable: boolean,
    tooLarge: boolean,
  ): Answer {
    this.rollWindow(token);
    const limit = this.options.rateLimit ?? 5000;
    const resetSeconds = Math.ceil((token.windowStart + 3_600_000) / 1000);
    if (fault?.kind === 'primary-rate-limit') {
      const reset = Math.ceil(this.now() / 1000) + (fault.resetInSeconds ?? 60);
      const status = fault.status ?? 403;
      throw new HttpError(
        status,
        errorBody(status, `API rate limit exceeded for user ID ${token.userId}.`, RATE_LIMIT_DOCS),
        {
          'x-ratelimit-limit': String(limit),
          'x-ratelimit-remaining': '0',
          'x-ratelimit-reset': String(reset),
          'x-ratelimit-used': String(limit),
          'x-ratelimit-resource': 'core',
        },
      );
    }
    if (token.used >= limit) {
      throw new HttpError(
        403,
        errorBody(403, `API rate limit exceeded for user ID ${token.userId}.`, RATE_LIMIT_DOCS),
        {
          'x-ratelimit-remaining': '0',
          'x-ratelimit-reset': String(resetSeconds),
        },
      );
    }
    token.used += 1;
    if (fault?.kind === 'secondary-rate-limit') throw secondaryLimit(fault.status ?? 403, fault.retryAfterSeconds);
    this.enforceSecondary(token, method);
    if (fault?.kind === 'status') {
      const message = typeof fault.message === 'function' ? fault.message(rec) : fault.message;
      throw new HttpError(
        fault.status,
        errorBody(fault.status, message ?? (fault.status >= 500 ? 'Server Error' : 'injected fault')),
      );
    }

    const spacing = this.options.minWriteIntervalMs ?? 1000;
    if (WRITE_METHODS.has(method)) {
      const previous = token.lastWrite;
      token.lastWrite = this.now();
      if (previous !== undefined && this.now() - previous < spacing) {
        throw secondaryLimit(403, Math.max(1, Math.ceil((previous + spacing - this.now()) / 1000)));
      }
    }

    // `/repositories/{id}/...` (GitHub's own link form) is the same resource as `/repos/{owner}/{repo}/...`.
    let path = pathname;
    let linkBase: string | undefined;
    const byId = /^\/repositories\/([0-9]+)(\/.*)$/.exec(pathname);
    if (byId) {
      const owner = [...this.owners.values()].find((o) => o.kind === 'repository' && String(o.id) === byId[1]);
      if (!owner) throw new HttpError(404, errorBody(404, 'Not Found'));
      path = `/repos/${owner.name}${byId[2]}`;
      linkBase = `/repositories/${owner.id}`;
    }
    const route = ROUTES.find((r) => r.pattern.test(path));
    const op = route?.methods[method.toLowerCase()];
    if (!route || !op) throw new HttpError(404, errorBody(404, 'Not Found'));
    rec.operationId = op.operationId;
    this.operations.set(rec, op);
    const docs = op.externalDocs?.url ?? DOCS;
    let values: string[];
    try {
      values = (route.pattern.exec(path) ?? []).slice(1).map((v) => decodeURIComponent(v));
    } catch {
      throw new HttpError(404, errorBody(404, 'Not Found', docs));
    }
    const params = Object.fromEntries(route.names.map((n, i) => [n, values[i] as string]));

    // Parameters, as the description types them.
    for (const p of (op.parameters ?? []).map((x) => resolveRef<OpenApiParameter>(x))) {
      const value = p.in === 'path' ? params[p.name] : p.in === 'query' ? query[p.name] : undefined;
      if (value === undefined) continue;
      const v = validator(p.schema);
      const typed =
        (p.schema as { type?: string }).type === 'integer' && /^-?[0-9]+$/.test(value) ? Number(value) : value;
      if (!v(typed)) {
        if (p.in === 'path') throw new HttpError(404, errorBody(404, 'Not Found', docs));
        this.violations.push(`${method} ${pathname}: query ${p.name}=${value}: ${describeErrors(v.errors)}`);
        throw validationFailed(docs, [{ resource: 'Hook', field: p.name, code: 'invalid' }]);
      }
    }
    const known = new Set(
      (op.parameters ?? [])
        .map((x) => resolveRef<OpenApiParameter>(x))
        .filter((p) => p.in === 'query')
        .map((p) => p.name),
    );
    for (const name of Object.keys(query))
      if (!known.has(name))
        this.violations.push(`${method} ${pathname}: query parameter ${name} is not in the description`);

    // Visibility: what the token cannot administer does not exist.
    const ownerPath = 'org' in params ? (params.org as string) : `${params.owner}/${params.repo}`;
    const kind = 'org' in params ? 'organization' : 'repository';
    const owner = this.owners.get(ownerKey(kind, ownerPath));
    const grantKey = kind === 'organization' ? `org:${ownerPath.toLowerCase()}` : ownerPath.toLowerCase();
    if (!owner || !token.owners.has(grantKey)) throw new HttpError(404, errorBody(404, 'Not Found', docs));
    // An app's token also needs the installation's permission for the hooks (GitHub: "Webhooks" for a repository's,
    // "Organization hooks" for an organisation's); read suffices for GET.
    if (token.permissions) {
      const granted = token.permissions[kind === 'organization' ? 'organization_hooks' : 'repository_hooks'];
      if (!granted || (method !== 'GET' && granted !== 'write'))
        throw new HttpError(403, errorBody(403, 'Resource not accessible by integration', docs));
    }

    // The body: JSON, and of the operation's schema.
    if (tooLarge) throw new HttpError(413, errorBody(413, 'Payload too large'));
    if (unparsable) throw new HttpError(400, errorBody(400, 'Problems parsing JSON', docs));
    const schema = op.requestBody?.content['application/json']?.schema;
    if (op.requestBody) {
      if (body === undefined && op.requestBody.required) {
        this.violations.push(`${method} ${pathname}: request body required`);
        throw new HttpError(400, errorBody(400, 'Problems parsing JSON', docs));
      }
      if (body !== undefined && schema) {
        const v = validator(schema);
        if (!v(body)) {
          const why = describeErrors(v.errors);
          this.violations.push(`${method} ${pathname}: request body: ${why}`);
          throw new HttpError(422, errorBody(422, `Invalid request.\n\n${why}`, docs));
        }
      }
    } else if (body !== undefined) {
      this.violations.push(`${method} ${pathname}: a body was sent to an operation that takes none`);
    }

    const base = kind === 'organization' ? `/orgs/${owner.name}` : `/repos/${owner.name}`;
    const ctx: Context = {
      rec,
      token,
      owner,
      base,
      linkBase:
        linkBase ??
        (kind === 'repository' && this.options.repositoryIdLinks !== false ? `/repositories/${owner.id}` : base),
      op,
      params,
      query,
      body,
    };
    return this.route(route.template.replace(/^\/(orgs\/\{org\}|repos\/\{owner\}\/\{repo\})/, ''), method, ctx, docs);
  }

  private route(rest: string, method: string, ctx: Context, docs: string): Answer {
    const hook = (): StoredHook => {
      const found = ctx.owner.hooks.get(Number(ctx.params.hook_id));
      if (!found) throw new HttpError(404, errorBody(404, 'Not Found', docs));
      return found;
    };
    switch (`${method} ${rest}`) {
      case 'GET /hooks':
        return this.listHooks(ctx);
      case 'POST /hooks':
        return this.createHook(ctx, docs);
      case 'GET /hooks/{hook_id}':
        return { status: 200, body: this.present(ctx.owner, hook()) };
      case 'PATCH /hooks/{hook_id}':
        return this.updateHook(ctx, hook(), docs);
      case 'DELETE /hooks/{hook_id}':
        ctx.owner.hooks.delete(hook().id);
        return { status: 204 };
      case 'GET /hooks/{hook_id}/config':
        return { status: 200, body: presentConfig(hook().config) };
      case 'PATCH /hooks/{hook_id}/config':
        return this.updateConfig(ctx, hook(), docs);
      case 'POST /hooks/{hook_id}/pings': {
        const h = hook();
        this.deliver(ctx.owner, h, {
          event: 'ping',
          guid: randomUUID(),
          at: this.now(),
          statusCode: this.options.deliveryStatusCode ?? 200,
          redelivery: false,
        });
        return { status: 204 };
      }
      case 'POST /hooks/{hook_id}/tests': {
        const h = hook();
        if (h.events.includes('push') || h.events.includes('*')) {
          this.deliver(ctx.owner, h, {
            event: 'push',
            guid: randomUUID(),
            at: this.now(),
            statusCode: this.options.deliveryStatusCode ?? 200,
            redelivery: false,
          });
        }
        return { status: 204 };
      }
      case 'GET /hooks/{hook_id}/deliveries':
        return this.listDeliveries(ctx, hook(), docs);
      case 'GET /hooks/{hook_id}/deliveries/{delivery_id}': {
        const d = hook().deliveries.find((x) => x.id === Number(ctx.params.delivery_id));
        if (!d) throw new HttpError(404, errorBody(404, 'Not Found', docs));
        return {
          status: 200,
          body: {
            ...d,
            url: `${this.url}${ctx.base}/hooks/${ctx.params.hook_id}/deliveries/${d.id}`,
            request: { headers: { 'X-GitHub-Delivery': d.guid, 'X-GitHub-Event': d.event }, payload: {} },
            response: { headers: {}, payload: null },
          },
        };
      }
      case 'POST /hooks/{hook_id}/deliveries/{delivery_id}/attempts': {
        const h = hook();
        const d = h.deliveries.find((x) => x.id === Number(ctx.params.delivery_id));
        if (!d) throw new HttpError(404, errorBody(404, 'Not Found', docs));
        if (this.now() - Date.parse(d.delivered_at) > 30 * 24 * 3_600_000) {
          throw validationFailed(docs, [
            {
              resource: 'HookDelivery',
              code: 'custom',
              message: 'Deliveries older than 30 days cannot be redelivered',
            },
          ]);
        }
        const statusCode = this.options.redeliveryStatusCode?.(structuredClone(d)) ?? 200;
        this.deliver(ctx.owner, h, { event: d.event, guid: d.guid, at: this.now(), statusCode, redelivery: true });
        return { status: 202, body: {} };
      }
      default:
        throw new HttpError(404, errorBody(404, 'Not Found', docs));
    }
  }

  private present(owner: Owner, hook: StoredHook): Record<string, unknown> {
    const self = `${this.url}${owner.kind === 'organization' ? `/orgs/${owner.name}` : `/repos/${owner.name}`}/hooks/${hook.id}`;
    const common = {
      type: hook.type,
      id: hook.id,
      name: hook.name,
      active: hook.active,
      events: [...hook.events],
      config: presentConfig(hook.config),
      updated_at: hook.updated_at,
      created_at: hook.created_at,
      url: self,
      ping_url: `${self}/pings`,
      deliveries_url: `${self}/deliveries`,
    };
    return owner.kind === 'repository'
      ? { ...common, test_url: `${self}/test`, last_response: { ...hook.last_response } }
      : common;
  }

  private page(ctx: Context): { perPage: number; page: number } {
    const requested = ctx.query.per_page !== undefined ? Number(ctx.query.per_page) : 30;
    const perPage = Math.max(1, Math.min(requested > 0 ? requested : 30, 100, this.options.maxPerPage ?? 100));
    const page = Math.max(1, Number(ctx.query.page ?? 1) || 1);
    return { perPage, page };
  }

  private listHooks(ctx: Context): Answer {
    const { perPage, page } = this.page(ctx);
    const all = [...ctx.owner.hooks.values()].sort((a, b) => a.id - b.id);
    const last = Math.max(1, Math.ceil(all.length / perPage));
    const items = all.slice((page - 1) * perPage, page * perPage).map((h) => this.present(ctx.owner, h));
    const link = (p: number) => `${this.url}${ctx.linkBase}/hooks?per_page=${ctx.query.per_page ?? perPage}&page=${p}`;
    const rels: string[] = [];
    if (page > 1) rels.push(`<${link(page - 1)}>; rel="prev"`);
    if (page < last) rels.push(`<${link(page + 1)}>; rel="next"`, `<${link(last)}>; rel="last"`);
    if (page > 1) rels.push(`<${link(1)}>; rel="first"`);
    return { status: 200, body: items, headers: rels.length > 0 ? { link: rels.join(', ') } : {} };
  }

  private listDeliveries(ctx: Context, hook: StoredHook, docs: string): Answer {
    const { perPage } = this.page(ctx);
    let newestFirst = [...hook.deliveries].reverse();
    if (ctx.query.status === 'success')
      newestFirst = newestFirst.filter((d) => d.status_code >= 200 && d.status_code < 300);
    if (ctx.query.status === 'failure')
      newestFirst = newestFirst.filter((d) => !(d.status_code >= 200 && d.status_code < 300));
    let start = 0;
    if (ctx.query.cursor !== undefined) {
      const m = /^v1_([0-9]+)$/.exec(ctx.query.cursor);
      if (!m) throw new HttpError(400, errorBody(400, 'Invalid cursor', docs));
      start = newestFirst.findIndex((d) => d.id === Number(m[1])) + 1;
      if (start === 0) throw new HttpError(400, errorBody(400, 'Invalid cursor', docs));
    }
    const items = newestFirst.slice(start, start + perPage);
    const headers: Record<string, string> = {};
    const lastItem = items[items.length - 1];
    if (lastItem && start + perPage < newestFirst.length) {
      const q = new URLSearchParams({ per_page: String(ctx.query.per_page ?? perPage), cursor: `v1_${lastItem.id}` });
      if (ctx.query.status !== undefined) q.set('status', ctx.query.status);
      headers.link = `<${this.url}${ctx.linkBase}/hooks/${hook.id}/deliveries?${q}>; rel="next"`;
    }
    return { status: 200, body: items, headers };
  }

  /** Checks GitHub applies beyond the schema, to a hook as it would be stored. */
  private checkHook(
    ctx: Context,
    docs: string,
    candidate: { config: Record<string, unknown>; events: string[] },
    self?: StoredHook,
  ): void {
    const resource = 'Hook';
    const url = candidate.config.url;
    if (typeof url !== 'string' || url === '')
      throw validationFailed(docs, [{ resource, code: 'missing_field', field: 'url' }]);
    let parsed: URL | undefined;
    try {
      parsed = new URL(url);
    } catch {
      parsed = undefined;
    }
    if (!parsed || (parsed.protocol !== 'https:' && parsed.protocol !== 'http:')) {
      throw validationFailed(docs, [
        { resource, code: 'custom', field: 'url', message: "The URL you've entered is not valid." },
      ]);
    }
    const contentType = candidate.config.content_type;
    if (contentType !== 'json' && contentType !== 'form')
      throw validationFailed(docs, [{ resource, code: 'invalid', field: 'content_type' }]);
    const insecure = candidate.config.insecure_ssl;
    if (insecure !== '0' && insecure !== '1')
      throw validationFailed(docs, [{ resource, code: 'invalid', field: 'insecure_ssl' }]);
    for (const event of candidate.events) {
      if (!KNOWN_EVENTS.has(event)) {
        throw validationFailed(docs, [
          { resource, code: 'invalid', field: 'events', message: `Invalid event: "${event}"` },
        ]);
      }
    }
    const others = [...ctx.owner.hooks.values()].filter((h) => h !== self);
    const where = ctx.owner.kind === 'repository' ? 'repository' : 'organization';
    if (
      others.some(
        (h) =>
          h.config.url === url &&
          h.events.some((e) => candidate.events.includes(e) || e === '*' || candidate.events.includes('*')),
      )
    ) {
      throw validationFailed(docs, [{ resource, code: 'custom', message: `Hook already exists on this ${where}` }]);
    }
    for (const event of candidate.events) {
      if (others.filter((h) => h.events.includes(event)).length >= 20) {
        throw validationFailed(docs, [
          { resource, code: 'custom', message: `The "${event}" event cannot have more than 20 hooks` },
        ]);
      }
    }
  }

  private createHook(ctx: Context, docs: string): Answer {
    const body = isObject(ctx.body) ? ctx.body : {};
    if (body.name !== undefined && body.name !== 'web')
      throw validationFailed(docs, [{ resource: 'Hook', code: 'invalid', field: 'name' }]);
    const config = isObject(body.config) ? body.config : {};
    const stored = {
      url: config.url as string,
      content_type: (config.content_type as string | undefined) ?? 'form',
      insecure_ssl: config.insecure_ssl === undefined ? '0' : String(config.insecure_ssl),
      ...(typeof config.secret === 'string' && config.secret !== '' ? { secret: config.secret } : {}),
    };
    const events = Array.isArray(body.events) ? (body.events as string[]) : ['push'];
    this.checkHook(ctx, docs, { config: stored, events });
    const hook = this.newHook(ctx.owner, stored);
    hook.events = [...new Set(events)];
    hook.active = body.active !== false;
    // GitHub pings a new hook.
    this.deliver(ctx.owner, hook, {
      event: 'ping',
      guid: randomUUID(),
      at: this.now(),
      statusCode: this.options.deliveryStatusCode ?? 200,
      redelivery: false,
    });
    const presented = this.present(ctx.owner, hook);
    return { status: 201, body: presented, headers: { location: String(presented.url) } };
  }

  private updateHook(ctx: Context, hook: StoredHook, docs: string): Answer {
    const body = isObject(ctx.body) ? ctx.body : {};
    const config = isObject(body.config) ? body.config : {};
    const next: HookRecord['config'] = {
      url: typeof config.url === 'string' ? config.url : hook.config.url,
      content_type: typeof config.content_type === 'string' ? config.content_type : hook.config.content_type,
      insecure_ssl: config.insecure_ssl !== undefined ? String(config.insecure_ssl) : hook.config.insecure_ssl,
    };
    // The trap: no `config.secret` in the PATCH, no secret afterwards.
    if (typeof config.secret === 'string' && config.secret !== '') next.secret = config.secret;
    let events = Array.isArray(body.events) ? [...(body.events as string[])] : [...hook.events];
    if (Array.isArray(body.add_events)) events.push(...(body.add_events as string[]));
    if (Array.isArray(body.remove_events)) events = events.filter((e) => !(body.remove_events as string[]).includes(e));
    events = [...new Set(events)];
    this.checkHook(ctx, docs, { config: next, events }, hook);
    hook.config = next;
    hook.events = events;
    if (typeof body.active === 'boolean') hook.active = body.active;
    hook.updated_at = isoSeconds(this.now());
    return { status: 200, body: this.present(ctx.owner, hook) };
  }

  private updateConfig(ctx: Context, hook: StoredHook, docs: string): Answer {
    const config = isObject(ctx.body) ? ctx.body : {};
    const next: HookRecord['config'] = {
      url: typeof config.url === 'string' ? config.url : hook.config.url,
      content_type: typeof config.content_type === 'string' ? config.content_type : hook.config.content_type,
      insecure_ssl: config.insecure_ssl !== undefined ? String(config.insecure_ssl) : hook.config.insecure_ssl,
    };
    const secret = typeof config.secret === 'string' ? config.secret : hook.config.secret;
    if (secret !== undefined && secret !== '') next.secret = secret;
    this.checkHook(ctx, docs, { config: next, events: hook.events }, hook);
    hook.config = next;
    hook.updated_at = isoSeconds(this.now());
    return { status: 200, body: presentConfig(next) };
  }

  // --- GitHub Apps ---------------------------------------------------------------------------------------------------

  /**
   * The endpoints that take the app's JWT (github-apps.ts verifies it): an account's or repository's installation, and
   * an installation's access token. Not in the hooks OpenAPI fixture, so shaped after GitHub's documentation:
   * https://docs.github.com/en/rest/apps/apps.
   */
  private serveApp(
    req: IncomingMessage,
    method: string,
    pathname: string,
    credentials: string | undefined,
    fault: GitHubFault | undefined,
  ): Answer {
    const docs = 'https://docs.github.com/rest/apps/apps';
    try {
      if (!req.headers['user-agent']) throw new HttpError(403, errorBody(403, 'User-Agent required'));
      if (fault?.kind === 'status') {
        const message = typeof fault.message === 'function' ? undefined : fault.message;
        throw new HttpError(fault.status, errorBody(fault.status, message ?? 'injected fault'));
      }
      if (credentials === undefined)
        throw new HttpError(401, errorBody(401, 'A JSON web token could not be decoded', docs));
      let app;
      try {
        app = this.apps.verifyJwt(credentials);
      } catch (error) {
        if (error instanceof AppAuthError)
          throw new HttpError(error.status, errorBody(error.status, error.message, docs));
        throw error;
      }
      const tokenRoute = /^\/app\/installations\/([0-9]+)\/access_tokens$/.exec(pathname);
      if (tokenRoute) {
        if (method !== 'POST') throw new HttpError(404, errorBody(404, 'Not Found', docs));
        const installation = this.apps.installation(app, Number(tokenRoute[1]));
        if (!installation) throw new HttpError(404, errorBody(404, 'Not Found', docs));
        const issued = this.apps.issue(installation);
        return {
          status: 201,
          body: {
            token: issued.token,
            expires_at: isoSeconds(issued.expiresAt),
            permissions: installation.permissions,
            repository_selection: installation.repositories ? 'selected' : 'all',
          },
        };
      }
      if (method !== 'GET') throw new HttpError(404, errorBody(404, 'Not Found', docs));
      const [, kind, first, second] =
        /^\/(repos|orgs|users)\/([^/]+)(?:\/([^/]+))?\/installation$/.exec(pathname) ?? [];
      let installation: Installation | undefined;
      if (kind === 'repos') {
        const fullName = `${decodeURIComponent(first!)}/${decodeURIComponent(second!)}`;
        if (this.owners.has(ownerKey('repository', fullName)))
          installation = this.apps.installationOnRepository(app, fullName);
      } else if (kind === 'orgs') {
        if (this.owners.has(ownerKey('organization', decodeURIComponent(first!))))
          installation = this.apps.installationOnAccount(app, decodeURIComponent(first!));
      } else if (kind === 'users') {
        installation = this.apps.installationOnAccount(app, decodeURIComponent(first!));
      }
      if (!installation) throw new HttpError(404, errorBody(404, 'Not Found', docs));
      return { status: 200, body: this.presentInstallation(installation) };
    } catch (err) {
      if (!(err instanceof HttpError)) throw err;
      return { status: err.status, body: err.body, headers: err.headers };
    }
  }

  private presentInstallation(installation: Installation): Record<string, unknown> {
    const app = this.apps.appOf(installation);
    const isOrg = this.owners.has(ownerKey('organization', installation.account));
    const at = isoSeconds(this.now());
    return {
      id: installation.id,
      account: {
        login: installation.account,
        id: 800_000 + (installation.id % 1000),
        type: isOrg ? 'Organization' : 'User',
      },
      repository_selection: installation.repositories ? 'selected' : 'all',
      access_tokens_url: `${this.url}/app/installations/${installation.id}/access_tokens`,
      repositories_url: `${this.url}/installation/repositories`,
      html_url: `https://github.com/settings/installations/${installation.id}`,
      app_id: app.id,
      app_slug: app.slug,
      client_id: app.clientId,
      target_id: 800_000 + (installation.id % 1000),
      target_type: isOrg ? 'Organization' : 'User',
      permissions: installation.permissions,
      events: [],
      created_at: at,
      updated_at: at,
      single_file_name: null,
    };
  }

  /**
   * The rate-limit and grant state of an installation token still valid, made when first used: the installation's
   * repositories (all of its account's, or the selected ones) and, on an organisation, the organisation's hooks.
   */
  private installationToken(credential: string): Token | undefined {
    const installation = this.apps.tokenInstallation(credential);
    if (installation === undefined || installation === 'expired') return undefined;
    let token = this.installationTokens.get(credential);
    if (!token) {
      const account = installation.account.toLowerCase();
      const owners = new Set<string>();
      for (const owner of this.owners.values()) {
        const name = owner.name.toLowerCase();
        if (owner.kind === 'repository' && name.startsWith(`${account}/`)) {
          if (!installation.repositories || installation.repositories.includes(name)) owners.add(name);
        } else if (owner.kind === 'organization' && name === account) owners.add(`org:${name}`);
      }
      token = {
        login: `${this.apps.appOf(installation).slug}[bot]`,
        userId: 9_000_000 + (installation.id % 1_000_000),
        owners,
        windowStart: this.now(),
        used: 0,
        permissions: installation.permissions,
        served: [],
        servedWrites: [],
        secondaryRefusals: 0,
      };
      this.installationTokens.set(credential, token);
    }
    return token;
  }

  /**
   * A weak ETag for a GET's 200 (its body and Link header), and a 304 without a body when `If-None-Match` names it:
   * a conditional request answered 304 is not counted against the primary budget, so its point is given back.
   */
  private conditional(req: IncomingMessage, token: Token, answer: Answer): Answer {
    const digest = createHash('sha256')
      .update(JSON.stringify(answer.body ?? null))
      .update('\n')
      .update(answer.headers?.link ?? '')
      .digest('hex')
      .slice(0, 32);
    const etag = `W/"${digest}"`;
    const sent = req.headers['if-none-match'];
    const matches =
      typeof sent === 'string' &&
      sent.split(',').some((tag) => tag.trim() === '*' || tag.trim().replace(/^W\//, '') === `"${digest}"`);
    if (!matches) return { ...answer, headers: { ...answer.headers, etag } };
    token.used = Math.max(0, token.used - 1);
    return { status: 304, headers: { etag } };
  }

  /** The answer against the operation's documented responses (generic errors against `basic-error`). */
  private checkResponse(rec: RecordedRequest, answer: Answer): void {
    const where = `${rec.method} ${rec.path} -> ${answer.status}`;
    if (answer.status === 304) {
      // Not in the description of these operations, but what any GET answers to a matching If-None-Match.
      if (rec.method !== 'GET' || rec.headers['if-none-match'] === undefined)
        this.violations.push(`${where}: a 304 to a request that was not a conditional GET`);
      if (answer.body !== undefined) this.violations.push(`${where}: a 304 with a body`);
      return;
    }
    const op = this.operations.get(rec);
    const documented = op?.responses[String(answer.status)];
    let schema: object | undefined;
    if (documented) {
      const response = resolveRef<OpenApiResponse>(documented);
      schema = response.content?.['application/json']?.schema;
      if (!response.content && answer.body !== undefined)
        this.violations.push(`${where}: a body where the description has none`);
    } else if (answer.status === 422) {
      schema = VALIDATION_ERROR;
      if (op) this.violations.push(`${where}: status not in the description`);
    } else if (GENERIC_STATUSES.has(answer.status) || answer.status === 413) {
      schema = BASIC_ERROR;
    } else {
      this.violations.push(`${where}: status not in the description`);
    }
    if (schema) {
      const v = validator(schema);
      if (!v(answer.body)) this.violations.push(`${where}: response body: ${describeErrors(v.errors)}`);
    }
  }
}

/** Paths that take a GitHub App's JWT (github-apps.ts), served by `serveApp`. */
function isAppEndpoint(pathname: string): boolean {
  return (
    /^\/app(\/|$)/.test(pathname) || /^\/(repos\/[^/]+\/[^/]+|orgs\/[^/]+|users\/[^/]+)\/installation$/.test(pathname)
  );
}

function presentConfig(config: HookRecord['config']): Record<string, string> {
  return {
    content_type: config.content_type,
    insecure_ssl: config.insecure_ssl,
    ...(config.secret !== undefined ? { secret: '********' } : {}),
    url: config.url,
  };
}

/**
 * Milliseconds from `now` until the events inside a sliding window of `windowMs` weigh at most `room` (0 when they
 * already do). Events are oldest first.
 */
function waitForRoom<E extends { at: number }>(
  events: readonly E[],
  windowMs: number,
  room: number,
  now: number,
  weight: (e: E) => number,
): number {
  // Oldest first: the window starts at the first event after now - windowMs.
  let lo = 0;
  let hi = events.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (events[mid]!.at > now - windowMs) hi = mid;
    else lo = mid + 1;
  }
  let total = 0;
  for (let i = lo; i < events.length; i += 1) total += weight(events[i]!);
  if (total <= room) return 0;
  for (let i = lo; i < events.length; i += 1) {
    total -= weight(events[i]!);
    if (total <= room) return events[i]!.at + windowMs - now;
  }
  return windowMs;
}

/** The most weight any sliding window of `windowMs` ending at an event held (events oldest first). */
function peakInWindow<E extends { at: number }>(
  events: readonly E[],
  windowMs: number,
  weight: (e: E) => number,
): number {
  let peak = 0;
  let total = 0;
  let start = 0;
  for (const e of events) {
    total += weight(e);
    while (events[start]!.at <= e.at - windowMs) total -= weight(events[start++]!);
    peak = Math.max(peak, total);
  }
  return peak;
}

function secondaryLimit(status: number, retryAfterSeconds: number | undefined): HttpError {
  return new HttpError(
    status,
    errorBody(
      status,
      'You have exceeded a secondary rate limit. Please wait a few minutes before you try again.',
      'https://docs.github.com/rest/overview/rate-limits-for-the-rest-api#about-secondary-rate-limits',
    ),
    retryAfterSeconds !== undefined ? { 'retry-after': String(retryAfterSeconds) } : {},
  );
}
