/**
 * A strict loopback Bitbucket Cloud REST 2.0 server (webhooks only) for tests, over plain HTTP on 127.0.0.1.
 *
 * Served, under `/2.0` as on api.bitbucket.org:
 *   GET/POST   /repositories/{workspace}/{repo_slug}/hooks        GET/PUT/DELETE .../hooks/{uid}
 *   GET/POST   /workspaces/{workspace}/hooks                      GET/PUT/DELETE .../hooks/{uid}
 * `{uid}` is the hook uuid with its braces (`{...}`, raw or percent-encoded), as the real API takes it.
 *
 * What it enforces, after Atlassian's REST reference (https://developer.atlassian.com/cloud/bitbucket/rest/api-group-repositories/
 * "Webhooks" and api-group-workspaces/ "Webhooks"):
 * - Authentication: `Authorization: Bearer <access token>` or Basic `user:secret`, both registered with `addToken` /
 *   `addBasicUser`; anything else is 401. Errors use Cloud's shape `{"type":"error","error":{"message":...}}`.
 * - Authorization: a credential sees the repositories and workspaces it was given; it needs the `webhook` scope
 *   (403 "Your credentials lack one or more required privilege scopes." otherwise); workspace hooks need a workspace
 *   credential with `owner` ("only owners can install webhooks on workspaces").
 * - 404 for unknown repositories, workspaces and hooks, 405 for other methods, 415 for a body that is not JSON.
 * - Validation (400, `error.fields`): `url` an absolute http(s) URL, `events` a non-empty list of known event keys,
 *   `description` a string, `active` a boolean, `secret` a string or null. Unknown fields are refused too (stricter
 *   than Bitbucket, which ignores them: a typo in a client's field name should fail a test, not pass silently).
 * - Secrets are never returned: responses carry `secret_set`. PUT: an omitted `secret` keeps the secret, `null` or
 *   `""` removes it, a string replaces it. A secret over 128 characters is refused (400, `error.fields.secret`): the
 *   cap is Bitbucket Cloud's own (its UI's secret field holds at most 128) and not in the OpenAPI description, which
 *   gives `secret` no `maxLength`.
 * - Pagination: `page` (from 1) and `pagelen` (default 10; above `maxPagelen`, default 100, is a 400); each page
 *   holds at most `pageSize` values (default unlimited) so tests get several pages; `next` is an absolute URL on this
 *   server carrying `page` and `pagelen`.
 * - Fault injection: answer 429 (Cloud's "Rate limit for this resource has been exceeded", no Retry-After unless
 *   given), 5xx or anything else for matching requests, a number of times.
 * Every request is recorded, rejected ones included. Every answer is checked against Atlassian's OpenAPI description
 * (tests/fixtures/bitbucket-cloud-openapi): disagreements go to `violations`. The description has no request body for
 * these operations, so requests are held to the reference pages' fields above instead.
 */
import { FaultSlot, listenOnLoopback } from '../../dev/loopback';
import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { ApiDescription } from './api-description';
import { closeServer, readBoundedBody } from './http-body';
import { registerTestSecret } from './log-scan';

export interface CloudRecordedRequest {
  method: string;
  /** Path without the query string, percent-decoding left as received. */
  path: string;
  query: Record<string, string>;
  /** The raw Authorization header, if any. */
  authorization?: string;
  contentType?: string;
  /** Parsed JSON when it parses, else the raw text; undefined when empty. */
  body?: unknown;
  status?: number;
}

export interface CloudAccess {
  /** `workspace/repo_slug` the credential may manage hooks of (a repository access token has exactly one). */
  repositories?: string[];
  /** Workspaces whose repositories the credential covers (a workspace access token). */
  workspaces?: string[];
  /** Whether the credential acts as an owner of `workspaces` (needed for workspace hooks). */
  owner?: boolean;
  /** Granted scopes; default `webhook` and `repository`. */
  scopes?: string[];
}

export interface CloudFault {
  /** Which requests to affect (default all), after authentication was evaluated. */
  match?: (req: CloudRecordedRequest) => boolean;
  status: number;
  message?: string;
  headers?: Record<string, string>;
  /** How many matching requests to answer; then the fault clears itself. Omitted: until replaced. */
  times?: number;
}

export interface CloudServerOptions {
  /** Largest `pagelen` accepted (default 100); above it the request is refused with 400. */
  maxPagelen?: number;
  /** Most values one page holds whatever `pagelen` asked (default no limit). */
  pageSize?: number;
}

/** A stored hook, secret included (test-only view). */
export interface CloudStoredHook {
  uuid: string;
  subjectType: 'repository' | 'workspace';
  /** `workspace/repo_slug` or `workspace`. */
  subject: string;
  url: string;
  description: string;
  active: boolean;
  events: string[];
  secret: string | null;
  createdAt: string;
}

/** Event keys Bitbucket Cloud knows (GET /hook_events/repository), enough to refuse made-up ones. */
const KNOWN_EVENTS = new Set([
  'repo:push',
  'repo:fork',
  'repo:updated',
  'repo:commit_comment_created',
  'repo:commit_status_created',
  'repo:commit_status_updated',
  'issue:created',
  'issue:updated',
  'issue:comment_created',
  'pullrequest:created',
  'pullrequest:updated',
  'pullrequest:approved',
  'pullrequest:unapproved',
  'pullrequest:fulfilled',
  'pullrequest:rejected',
  'pullrequest:comment_created',
  'pullrequest:comment_updated',
  'pullrequest:comment_deleted',
  'pullrequest:changes_request_created',
  'pullrequest:changes_request_removed',
]);
const WRITABLE_FIELDS = new Set(['description', 'url', 'active', 'events', 'secret']);
const SECRET_MAX = 128;
/** Atlassian's Bitbucket Cloud OpenAPI description of the hook endpoints (scripts/extract-bitbucket-openapi.mjs). */
const DESCRIPTION = ApiDescription.load('bitbucket-cloud-openapi');
const UUID_PARAM = /^\{[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\}$/;
const MAX_BODY_BYTES = 1024 * 1024;
const RATE_LIMITED = 'Rate limit for this resource has been exceeded';
const NO_REPOSITORY =
  'You may not have access to this repository or it no longer exists in this workspace. If you think this repository exists and you have access, make sure you are authenticated.';

class CloudError extends Error {
  constructor(
    readonly status: number,
    message: string,
    readonly extra: Record<string, unknown> = {},
    readonly headers: Record<string, string> = {},
  ) {
    super(message);
  }
}

type Credential = Required<Pick<CloudAccess, 'repositories' | 'workspaces' | 'owner' | 'scopes'>>;

export class BitbucketCloudTestServer {
  readonly url: string;
  /** The API root to give a client: `<url>/2.0`. */
  readonly apiUrl: string;
  readonly requests: CloudRecordedRequest[] = [];
  /** Where an answer disagrees with Atlassian's OpenAPI description (tests/fixtures/bitbucket-cloud-openapi); tests assert []. */
  readonly violations: string[] = [];

  private readonly tokens = new Map<string, Credential>();
  private readonly basicUsers = new Map<string, Credential>();
  private readonly repositories = new Set<string>();
  private readonly workspaces = new Set<string>();
  private readonly hooks: CloudStoredHook[] = [];
  private readonly faults = new FaultSlot<CloudFault, CloudRecordedRequest>();
  private clock = Date.parse('2025-01-01T00:00:00Z');

  private constructor(
    private readonly server: Server,
    private readonly options: CloudServerOptions,
  ) {
    const { port } = server.address() as AddressInfo;
    this.url = `http://127.0.0.1:${port}`;
    this.apiUrl = `${this.url}/2.0`;
    server.on('request', (req: IncomingMessage, res: ServerResponse) => {
      this.handle(req, res).catch((err: unknown) => {
        if (!res.headersSent)
          this.send(res, undefined, 500, { type: 'error', error: { message: `Internal error: ${String(err)}` } });
      });
    });
  }

  static async start(options: CloudServerOptions = {}): Promise<BitbucketCloudTestServer> {
    const server = createServer();
    await listenOnLoopback(server);
    return new BitbucketCloudTestServer(server, options);
  }

  addRepository(fullName: string): void {
    const [workspace] = fullName.split('/');
    this.workspaces.add(workspace as string);
    this.repositories.add(fullName);
  }

  addToken(token: string, access: CloudAccess): void {
    // A `user:secret` credential: its secret part alone is as secret.
    for (const value of [token, token.slice(token.indexOf(':') + 1)])
      registerTestSecret(value, 'bitbucket-cloud-api-server token');
    this.tokens.set(token, credential(access));
  }

  addBasicUser(user: string, secret: string, access: CloudAccess): void {
    this.basicUsers.set(`${user}:${secret}`, credential(access));
  }

  /** Seed a hook as if created through the UI; returns its uuid. */
  addHook(
    subject: string,
    hook: { url: string; description?: string; events?: string[]; active?: boolean; secret?: string | null },
  ): string {
    const subjectType = subject.includes('/') ? 'repository' : 'workspace';
    if (subjectType === 'repository' ? !this.repositories.has(subject) : !this.workspaces.has(subject))
      throw new Error(`addHook: unknown ${subjectType} ${subject}`);
    const stored: CloudStoredHook = {
      uuid: `{${randomUUID()}}`,
      subjectType,
      subject,
      url: hook.url,
      description: hook.description ?? '',
      active: hook.active ?? true,
      events: hook.events ?? ['repo:push'],
      secret: hook.secret ?? null,
      createdAt: this.timestamp(),
    };
    this.hooks.push(stored);
    return stored.uuid;
  }

  /** Test-only: the stored hooks of a repository (`ws/repo`) or workspace (`ws`), secrets included. */
  storedHooks(subject: string): CloudStoredHook[] {
    return this.hooks.filter((hook) => hook.subject === subject).map((hook) => structuredClone(hook));
  }

  /** Test-only: a hook's real secret (null when it has none); throws for an unknown uuid. */
  secretOf(uuid: string): string | null {
    const hook = this.hooks.find((h) => h.uuid === uuid);
    if (!hook) throw new Error(`secretOf: no hook ${uuid}`);
    return hook.secret;
  }

  /** Set (or clear with undefined) the fault injected into matching requests. */
  fault(fault: CloudFault | undefined): void {
    this.faults.set(fault);
  }

  clearRequests(): void {
    this.requests.length = 0;
  }

  close(): Promise<void> {
    return closeServer(this.server);
  }

  // -------------------------------------------------------------------------------------------------------------------

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', this.url);
    const rec: CloudRecordedRequest = {
      method: req.method ?? 'GET',
      path: url.pathname,
      query: Object.fromEntries(url.searchParams),
    };
    if (req.headers.authorization !== undefined) rec.authorization = req.headers.authorization;
    if (req.headers['content-type'] !== undefined) rec.contentType = req.headers['content-type'];
    this.requests.push(rec);
    let raw: string;
    try {
      raw = await readBody(req);
    } catch (error) {
      return this.fail(res, rec, error);
    }
    if (raw !== '') rec.body = parseJson(raw) ?? raw;

    try {
      const who = this.authenticate(req.headers.authorization);
      const fault = this.faults.take(rec);
      if (fault)
        throw new CloudError(
          fault.status,
          fault.message ?? (fault.status === 429 ? RATE_LIMITED : `Injected fault ${fault.status}`),
          {},
          fault.headers ?? {},
        );
      const { status, body, headers } = this.route(rec, url, raw, who);
      this.send(res, rec, status, body, headers);
    } catch (error) {
      this.fail(res, rec, error);
    }
  }

  private fail(res: ServerResponse, rec: CloudRecordedRequest, error: unknown): void {
    if (!(error instanceof CloudError)) throw error;
    this.send(
      res,
      rec,
      error.status,
      { type: 'error', error: { message: error.message, ...error.extra } },
      error.headers,
    );
  }

  private authenticate(header: string | undefined): Credential {
    const bearer = /^Bearer (.+)$/.exec(header ?? '');
    const basic = /^Basic ([A-Za-z0-9+/=]+)$/.exec(header ?? '');
    const who = bearer
      ? this.tokens.get(bearer[1] as string)
      : basic
        ? this.basicUsers.get(Buffer.from(basic[1] as string, 'base64').toString('utf8'))
        : undefined;
    if (!who)
      throw new CloudError(
        401,
        header
          ? 'Token is invalid, expired, or not supported for this endpoint.'
          : 'This API is only accessible with the following authentication types: session, password, apppassword, api_token, repository_access_token, workspace_access_token, project_access_token',
      );
    return who;
  }

  private route(
    rec: CloudRecordedRequest,
    url: URL,
    raw: string,
    who: Credential,
  ): { status: number; body?: unknown; headers?: Record<string, string> } {
    const segments = rec.path
      .split('/')
      .slice(1)
      .map((segment) => safeDecode(segment));
    if (segments[0] !== '2.0') throw new CloudError(404, 'Resource not found');
    let subject: string;
    let subjectType: 'repository' | 'workspace';
    let rest: string[];
    if (segments[1] === 'repositories' && segments.length >= 5 && segments[4] === 'hooks') {
      subject = `${segments[2]}/${segments[3]}`;
      subjectType = 'repository';
      rest = segments.slice(5);
      if (!this.repositories.has(subject)) throw new CloudError(404, NO_REPOSITORY);
      if (!who.repositories.includes(subject) && !who.workspaces.includes(segments[2] as string))
        throw new CloudError(403, 'Access denied. You must have write or admin access.');
    } else if (segments[1] === 'workspaces' && segments.length >= 4 && segments[3] === 'hooks') {
      subject = segments[2] as string;
      subjectType = 'workspace';
      rest = segments.slice(4);
      if (!this.workspaces.has(subject)) throw new CloudError(404, `No workspace with identifier '${subject}'.`);
      if (!who.workspaces.includes(subject) || !who.owner)
        throw new CloudError(403, 'Only workspace owners can manage workspace webhooks.');
    } else {
      throw new CloudError(404, 'Resource not found');
    }
    if (!who.scopes.includes('webhook')) {
      throw new CloudError(403, 'Your credentials lack one or more required privilege scopes.', {
        detail: { granted: who.scopes, required: ['webhook'] },
      });
    }
    if (rest.length > 1) throw new CloudError(404, 'Resource not found');

    const method = rec.method;
    if (rest.length === 0) {
      if (method === 'GET') return { status: 200, body: this.page(rec, url, subject) };
      if (method === 'POST') {
        const fields = this.writeBody(rec, raw, true);
        const stored: CloudStoredHook = {
          uuid: `{${randomUUID()}}`,
          subjectType,
          subject,
          url: fields.url as string,
          description: (fields.description as string | undefined) ?? '',
          active: (fields.active as boolean | undefined) ?? true,
          events: [...new Set(fields.events as string[])],
          secret: typeof fields.secret === 'string' && fields.secret !== '' ? fields.secret : null,
          createdAt: this.timestamp(),
        };
        this.hooks.push(stored);
        const body = this.view(stored);
        return { status: 201, body, headers: { location: `${this.apiUrl}${hookSelf(stored)}` } };
      }
      throw new CloudError(405, `Method ${method} not allowed`);
    }

    const uid = rest[0] as string;
    const hook = UUID_PARAM.test(uid) ? this.hooks.find((h) => h.subject === subject && h.uuid === uid) : undefined;
    if (!hook) throw new CloudError(404, 'Webhook not found');
    if (method === 'GET') return { status: 200, body: this.view(hook) };
    if (method === 'DELETE') {
      this.hooks.splice(this.hooks.indexOf(hook), 1);
      return { status: 204 };
    }
    if (method === 'PUT') {
      const fields = this.writeBody(rec, raw, false);
      if (fields.url !== undefined) hook.url = fields.url as string;
      if (fields.description !== undefined) hook.description = fields.description as string;
      if (fields.active !== undefined) hook.active = fields.active as boolean;
      if (fields.events !== undefined) hook.events = [...new Set(fields.events as string[])];
      // "Leaving out the secret field during updates will leave the secret unchanged"; null or "" removes it.
      if ('secret' in fields)
        hook.secret = typeof fields.secret === 'string' && fields.secret !== '' ? fields.secret : null;
      return { status: 200, body: this.view(hook) };
    }
    throw new CloudError(405, `Method ${method} not allowed`);
  }

  private page(rec: CloudRecordedRequest, url: URL, subject: string): Record<string, unknown> {
    const pagelen = integerParam(url, 'pagelen', 10);
    const page = integerParam(url, 'page', 1);
    const max = this.options.maxPagelen ?? 100;
    if (pagelen < 1 || pagelen > max)
      throw new CloudError(400, `Invalid pagelen: must be between 1 and ${max}`, {
        fields: { pagelen: [`Ensure this value is less than or equal to ${max}.`] },
      });
    if (page < 1)
      throw new CloudError(400, 'Invalid page', {
        fields: { page: ['Ensure this value is greater than or equal to 1.'] },
      });
    const size = Math.min(pagelen, this.options.pageSize ?? pagelen);
    const all = this.hooks.filter((hook) => hook.subject === subject);
    const values = all.slice((page - 1) * size, page * size).map((hook) => this.view(hook));
    const body: Record<string, unknown> = { pagelen: size, size: all.length, page, values };
    if (page * size < all.length) {
      const next = new URL(`${this.url}${rec.path}`);
      next.searchParams.set('pagelen', String(pagelen));
      next.searchParams.set('page', String(page + 1));
      body.next = next.toString();
    }
    return body;
  }

  /** Validates a POST (all required) or PUT (all optional) body; returns its fields. */
  private writeBody(rec: CloudRecordedRequest, raw: string, create: boolean): Record<string, unknown> {
    if (!/^application\/json\b/i.test(rec.contentType ?? ''))
      throw new CloudError(415, 'Unsupported Media Type: expected application/json');
    const body = parseJson(raw);
    if (typeof body !== 'object' || body === null || Array.isArray(body))
      throw new CloudError(400, 'Bad request: the body must be a JSON object');
    const fields = body as Record<string, unknown>;
    const errors: Record<string, string[]> = {};
    for (const key of Object.keys(fields)) if (!WRITABLE_FIELDS.has(key)) errors[key] = ['Unknown field.'];
    const present = (key: string) => fields[key] !== undefined;
    if (create || present('url')) {
      const u = fields.url;
      if (typeof u !== 'string' || u === '') errors.url = ['This field is required.'];
      else if (!URL.canParse(u) || !/^https?:$/.test(new URL(u).protocol)) errors.url = ['Enter a valid URL.'];
    }
    if (create || present('events')) {
      const events = fields.events;
      if (!Array.isArray(events) || events.length === 0) errors.events = ['This field is required.'];
      else {
        const unknown = events.filter((e) => typeof e !== 'string' || !KNOWN_EVENTS.has(e));
        if (unknown.length > 0) errors.events = unknown.map((e) => `"${String(e)}" is not a valid choice.`);
      }
    }
    if (create && !present('description')) errors.description = ['This field is required.'];
    if (present('description') && typeof fields.description !== 'string') errors.description = ['Not a valid string.'];
    if (present('active') && typeof fields.active !== 'boolean') errors.active = ['Must be a valid boolean.'];
    if ('secret' in fields && fields.secret !== null && typeof fields.secret !== 'string')
      errors.secret = ['Not a valid string.'];
    // Bitbucket Cloud refuses a secret over 128 characters (a cap its OpenAPI does not state; see the file comment).
    else if (typeof fields.secret === 'string' && [...fields.secret].length > SECRET_MAX)
      errors.secret = [`Ensure this value has at most ${SECRET_MAX} characters.`];
    if (Object.keys(errors).length > 0) throw new CloudError(400, 'Bad request', { fields: errors });
    return fields;
  }

  /** The `webhook_subscription` a client sees: never the secret, only `secret_set`. */
  private view(hook: CloudStoredHook): Record<string, unknown> {
    return {
      type: 'webhook_subscription',
      uuid: hook.uuid,
      url: hook.url,
      description: hook.description,
      subject_type: hook.subjectType,
      subject:
        hook.subjectType === 'repository'
          ? { type: 'repository', full_name: hook.subject }
          : { type: 'workspace', slug: hook.subject },
      active: hook.active,
      created_at: hook.createdAt,
      events: [...hook.events],
      secret_set: hook.secret !== null,
      links: { self: { href: `${this.apiUrl}${hookSelf(hook)}` } },
    };
  }

  private timestamp(): string {
    this.clock += 1000;
    return new Date(this.clock).toISOString().replace('Z', '+00:00');
  }

  private send(
    res: ServerResponse,
    rec: CloudRecordedRequest | undefined,
    status: number,
    body?: unknown,
    headers: Record<string, string> = {},
  ): void {
    if (rec) rec.status = status;
    if (rec?.path.startsWith('/2.0/')) {
      // The description documents no request body for these operations (only responses), so only answers are checked.
      this.violations.push(
        ...DESCRIPTION.check({ method: rec.method, path: rec.path.slice('/2.0'.length), status, responseBody: body }),
      );
    }
    const text = body === undefined ? '' : JSON.stringify(body);
    res.writeHead(status, {
      ...(text !== '' ? { 'content-type': 'application/json; charset=utf-8' } : {}),
      ...headers,
    });
    res.end(text);
  }
}

function credential(access: CloudAccess): Credential {
  return {
    repositories: access.repositories ?? [],
    workspaces: access.workspaces ?? [],
    owner: access.owner ?? false,
    scopes: access.scopes ?? ['webhook', 'repository'],
  };
}

function hookSelf(hook: CloudStoredHook): string {
  const [ws, repo] = hook.subject.split('/');
  const base = hook.subjectType === 'repository' ? `/repositories/${ws}/${repo}` : `/workspaces/${ws}`;
  return `${base}/hooks/${encodeURIComponent(hook.uuid)}`;
}

function integerParam(url: URL, name: string, fallback: number): number {
  const value = url.searchParams.get(name);
  if (value === null) return fallback;
  if (!/^-?[0-9]+$/.test(value))
    throw new CloudError(400, `Invalid ${name}`, { fields: { [name]: ['A valid integer is required.'] } });
  return Number(value);
}

function safeDecode(segment: string): string {
  try {
    return decodeURIComponent(segment);
  } catch {
    return segment;
  }
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

function readBody(req: IncomingMessage): Promise<string> {
  return readBoundedBody(req, MAX_BODY_BYTES, () => new CloudError(413, 'Request body too large'));
}
