/**
 * A strict loopback Bitbucket Data Center REST server (webhooks, plus the project and repository lists a client needs
 * to resolve a key) for tests, over plain HTTP on 127.0.0.1, optionally under a context path (`/bitbucket`).
 *
 * Served under `<context>/rest/api/latest` (and the `/rest/api/1.0` alias):
 *   GET        /projects                                     GET /projects/{projectKey}/repos
 *   GET/POST   /projects/{projectKey}/webhooks               GET/PUT/DELETE .../webhooks/{webhookId}
 *   GET/POST   /projects/{projectKey}/repos/{slug}/webhooks  GET/PUT/DELETE .../webhooks/{webhookId}
 *
 * What it enforces, after Atlassian's Data Center REST reference
 * (https://developer.atlassian.com/server/bitbucket/rest/, OpenAPI "Bitbucket Data Center" 9.2: `RestWebhook`, `RestErrors`):
 * - Authentication: `Authorization: Bearer <HTTP access token>` registered with `addToken`; otherwise 401. Every
 *   error uses Data Center's shape `{"errors":[{"context":...,"message":...,"exceptionName":...}]}`.
 * - Authorization: repository hooks need REPO_ADMIN (a token given the repository, or its project), project hooks
 *   PROJECT_ADMIN (a token given the project); 403 otherwise. `GET /projects` lists only projects the token can see.
 * - 404 for unknown projects (NoSuchProjectException), repositories (NoSuchRepositoryException) and webhooks;
 *   405 for other methods; 415 for a body that is not `application/json`.
 * - Project keys compare exactly unless `caseInsensitiveKeys` is set. Atlassian does not document either way; exact
 *   is the stricter model, and the option models the behaviour the UI shows (see lib/sync/providers/bitbucket-server.ts).
 * - Validation (400, ArgumentValidationException with `context` = the field): `name` non-blank, `url` an absolute
 *   http(s) URL, `events` a non-empty list of known event keys, `active` and `sslVerificationRequired` booleans,
 *   `configuration` a string map, `credentials` `{username, password}`. Unknown fields are refused too (stricter than
 *   Data Center, so a misspelt field fails a test). An empty `configuration.secret` answers 500, as argo-events
 *   reports of Data Center (pkg/eventsources/sources/bitbucketserver/start.go).
 * - The secret: returned in `configuration.secret` in clear by default, as argo-events relies on; `echoSecret: false`
 *   leaves it out instead. PUT replaces the fields it names (an omitted field keeps its value; `configuration`, when
 *   given, replaces the whole map); Data Center's exact PUT semantics are not documented.
 * - Pagination: `start`/`limit` (default 25); a page holds at most `pageSize` values (default 1000);
 *   `{size, limit, isLastPage, start, nextPageStart, values}`.
 * - Fault injection: answer 429 (with `Retry-After`, 1 second unless given), 5xx or anything else for matching
 *   requests, a number of times.
 * Every request is recorded, rejected ones included. Every request body taken and every answer given is checked against
 * Atlassian's Data Center OpenAPI description (tests/fixtures/bitbucket-server-openapi): disagreements go to
 * `violations`. Held to it: create answers 200 (not 201), and error messages leave out a `context` or
 * `exceptionName` they do not have (the description types both as strings).
 */
import { FaultSlot, listenOnLoopback } from '../../dev/loopback';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { ApiDescription } from './api-description';
import { closeServer, readBoundedBody } from './http-body';
import { registerTestSecret } from './log-scan';

export interface DcRecordedRequest {
  method: string;
  /** Path without the query string, as received. */
  path: string;
  query: Record<string, string>;
  authorization?: string;
  contentType?: string;
  body?: unknown;
  status?: number;
}

export interface DcAccess {
  /** Project keys the token administers (PROJECT_ADMIN, which includes REPO_ADMIN on their repositories). */
  projects?: string[];
  /** `KEY/slug` repositories the token administers (REPO_ADMIN). */
  repositories?: string[];
}

export interface DcFault {
  match?: (req: DcRecordedRequest) => boolean;
  status: number;
  message?: string;
  /** Extra headers; a 429 gets `Retry-After: 1` unless this sets one. */
  headers?: Record<string, string>;
  times?: number;
}

export interface DcServerOptions {
  /** Context path the server is deployed under, e.g. `/bitbucket` (default none). */
  contextPath?: string;
  /** Resolve project keys and slugs ignoring case (default false: exact). */
  caseInsensitiveKeys?: boolean;
  /** Most values one page holds whatever `limit` asked (default 1000). */
  pageSize?: number;
  /** Return `configuration.secret` in responses (default true). */
  echoSecret?: boolean;
}

/** A stored webhook, secret included (test-only view). */
export interface DcStoredHook {
  id: number;
  scopeType: 'project' | 'repository';
  projectKey: string;
  slug?: string;
  name: string;
  url: string;
  events: string[];
  active: boolean;
  configuration: Record<string, string>;
  sslVerificationRequired: boolean;
  credentials?: { username: string; password: string };
  createdDate: number;
  updatedDate: number;
}

/** `RestErrorMessage`: the description types `context` and `exceptionName` as strings, so absent ones are left out. */
interface DcErrorMessage {
  context?: string;
  message: string;
  exceptionName?: string;
}

/** Data Center webhook event keys (Atlassian "Event payload"), enough to refuse made-up ones. */
const KNOWN_EVENTS = new Set([
  'repo:refs_changed',
  'repo:modified',
  'repo:forked',
  'repo:comment:added',
  'repo:comment:edited',
  'repo:comment:deleted',
  'repo:secret_detected',
  'mirror:repo_synchronized',
  'project:modified',
  'pr:opened',
  'pr:from_ref_updated',
  'pr:to_ref_updated',
  'pr:modified',
  'pr:reviewer:updated',
  'pr:reviewer:approved',
  'pr:reviewer:unapproved',
  'pr:reviewer:needs_work',
  'pr:merged',
  'pr:declined',
  'pr:deleted',
  'pr:comment:added',
  'pr:comment:edited',
  'pr:comment:deleted',
]);
const WRITABLE_FIELDS = new Set([
  'name',
  'url',
  'events',
  'active',
  'configuration',
  'sslVerificationRequired',
  'credentials',
]);
/** Atlassian's Bitbucket Data Center OpenAPI description of the webhook endpoints (scripts/extract-bitbucket-openapi.mjs). */
const DESCRIPTION = ApiDescription.load('bitbucket-server-openapi');
const MAX_BODY_BYTES = 1024 * 1024;
const EXC = 'com.atlassian.bitbucket';

class DcError extends Error {
  readonly errors: DcErrorMessage[];
  constructor(
    readonly status: number,
    message: string,
    exceptionName: string | null = null,
    readonly headers: Record<string, string> = {},
    errors?: DcErrorMessage[],
  ) {
    super(message);
    this.errors = errors ?? [{ message, ...(exceptionName !== null ? { exceptionName } : {}) }];
  }
}

interface Project {
  key: string;
  id: number;
  name: string;
  repos: string[];
}

export class BitbucketServerTestServer {
  readonly url: string;
  /** The API root to give a client: `<url><contextPath>`. */
  readonly apiUrl: string;
  readonly requests: DcRecordedRequest[] = [];
  /** Where a request body taken or an answer given disagrees with the Data Center OpenAPI description; tests assert []. */
  readonly violations: string[] = [];

  private readonly tokens = new Map<string, { projects: string[]; repositories: string[] }>();
  private readonly projects: Project[] = [];
  private readonly hooks: DcStoredHook[] = [];
  private readonly contextPath: string;
  private nextId = 1;
  private clock = Date.parse('2025-01-01T00:00:00Z');
  private readonly faults = new FaultSlot<DcFault, DcRecordedRequest>();

  private constructor(
    private readonly server: Server,
    private readonly options: DcServerOptions,
  ) {
    const { port } = server.address() as AddressInfo;
    this.url = `http://127.0.0.1:${port}`;
    this.contextPath = (options.contextPath ?? '').replace(/\/+$/, '');
    this.apiUrl = `${this.url}${this.contextPath}`;
    server.on('request', (req: IncomingMessage, res: ServerResponse) => {
      this.handle(req, res).catch((err: unknown) => {
        if (!res.headersSent) this.send(res, undefined, 500, { errors: [{ message: String(err) }] });
      });
    });
  }

  static async start(options: DcServerOptions = {}): Promise<BitbucketServerTestServer> {
    const server = createServer();
    await listenOnLoopback(server);
    return new BitbucketServerTestServer(server, options);
  }

  /** A project with the key exactly as given (Data Center shows keys upper-case; a test may store another case). */
  addProject(key: string): void {
    if (this.projects.some((p) => p.key === key)) return;
    this.projects.push({ key, id: this.projects.length + 1, name: `Project ${key}`, repos: [] });
  }

  addRepository(key: string, slug: string): void {
    this.addProject(key);
    const project = this.projects.find((p) => p.key === key) as Project;
    if (!project.repos.includes(slug)) project.repos.push(slug);
  }

  addToken(token: string, access: DcAccess): void {
    registerTestSecret(token, 'bitbucket-server-api-server token');
    this.tokens.set(token, { projects: access.projects ?? [], repositories: access.repositories ?? [] });
  }

  /** Seed a webhook; `place` is `KEY` (project hook) or `KEY/slug`. Returns its id. */
  addHook(
    place: string,
    hook: {
      name?: string;
      url: string;
      events?: string[];
      active?: boolean;
      secret?: string;
      sslVerificationRequired?: boolean;
    },
  ): number {
    const [key, slug] = place.split('/') as [string, string | undefined];
    const stored = this.store({
      scopeType: slug === undefined ? 'project' : 'repository',
      projectKey: key,
      name: hook.name ?? 'seeded',
      url: hook.url,
      events: hook.events ?? ['repo:refs_changed'],
      active: hook.active ?? true,
      configuration: hook.secret === undefined ? {} : { secret: hook.secret },
      sslVerificationRequired: hook.sslVerificationRequired ?? true,
      ...(slug === undefined ? {} : { slug }),
    });
    return stored.id;
  }

  /** Test-only: the stored webhooks of `KEY` (project scope) or `KEY/slug`, secrets included. */
  storedHooks(place: string): DcStoredHook[] {
    const [key, slug] = place.split('/');
    return this.hooks.filter((h) => h.projectKey === key && h.slug === slug).map((h) => structuredClone(h));
  }

  /** Test-only: a webhook's real secret (undefined when it has none). */
  secretOf(id: number): string | undefined {
    const hook = this.hooks.find((h) => h.id === id);
    if (!hook) throw new Error(`secretOf: no webhook ${id}`);
    return hook.configuration.secret;
  }

  fault(fault: DcFault | undefined): void {
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
    const rec: DcRecordedRequest = {
      method: req.method ?? 'GET',
      path: url.pathname,
      query: Object.fromEntries(url.searchParams),
    };
    if (req.headers.authorization !== undefined) rec.authorization = req.headers.authorization;
    if (req.headers['content-type'] !== undefined) rec.contentType = req.headers['content-type'];
    this.requests.push(rec);
    try {
      const raw = await readBody(req);
      if (raw !== '') rec.body = parseJson(raw) ?? raw;
      const who = this.authenticate(req.headers.authorization);
      const fault = this.faults.take(rec);
      if (fault) {
        const headers = { ...(fault.status === 429 ? { 'retry-after': '1' } : {}), ...lowerKeys(fault.headers ?? {}) };
        const message =
          fault.message ??
          (fault.status === 429
            ? 'You have been rate limited. Please try again later.'
            : `Injected fault ${fault.status}`);
        throw new DcError(fault.status, message, null, headers);
      }
      const { status, body } = this.route(rec, url, raw, who);
      this.send(res, rec, status, body);
    } catch (error) {
      if (!(error instanceof DcError)) throw error;
      this.send(res, rec, error.status, { errors: error.errors }, error.headers);
    }
  }

  private authenticate(header: string | undefined): { projects: string[]; repositories: string[] } {
    if (header === undefined)
      throw new DcError(401, 'You are not permitted to access this resource', `${EXC}.AuthorisationException`);
    const bearer = /^Bearer (.+)$/.exec(header);
    const who = bearer ? this.tokens.get(bearer[1] as string) : undefined;
    if (!who)
      throw new DcError(
        401,
        'Authentication failed. Please check your credentials and try again.',
        `${EXC}.auth.IncorrectPasswordAuthenticationException`,
      );
    return who;
  }

  private route(
    rec: DcRecordedRequest,
    url: URL,
    raw: string,
    who: { projects: string[]; repositories: string[] },
  ): { status: number; body?: unknown } {
    const prefixes = [`${this.contextPath}/rest/api/latest/`, `${this.contextPath}/rest/api/1.0/`];
    const prefix = prefixes.find((p) => rec.path.startsWith(p));
    if (!prefix) throw new DcError(404, `Not found: ${rec.path}`);
    const segments = rec.path
      .slice(prefix.length)
      .split('/')
      .map((segment) => safeDecode(segment));
    const method = rec.method;
    const visible = (project: Project) =>
      who.projects.includes(project.key) || who.repositories.some((repo) => repo.split('/')[0] === project.key);

    if (segments.length === 1 && segments[0] === 'projects') {
      if (method !== 'GET') throw methodNotAllowed(method);
      return {
        status: 200,
        body: this.page(
          url,
          this.projects
            .filter(visible)
            .map((p) => ({ key: p.key, id: p.id, name: p.name, public: false, type: 'NORMAL' })),
        ),
      };
    }
    if (segments[0] !== 'projects' || segments.length < 3) throw new DcError(404, `Not found: ${rec.path}`);
    const project = this.findProject(segments[1] as string);
    const rest = segments.slice(2);

    if (rest[0] === 'repos' && rest.length === 1) {
      if (method !== 'GET') throw methodNotAllowed(method);
      if (!visible(project))
        throw new DcError(404, `Project ${segments[1]} does not exist.`, `${EXC}.project.NoSuchProjectException`);
      return {
        status: 200,
        body: this.page(
          url,
          project.repos.map((slug) => ({ slug, name: slug, project: { key: project.key }, scmId: 'git' })),
        ),
      };
    }

    let slug: string | undefined;
    let hookPath: string[];
    if (rest[0] === 'webhooks') {
      hookPath = rest.slice(1);
      if (!who.projects.includes(project.key)) throw forbidden();
    } else if (rest[0] === 'repos' && rest[2] === 'webhooks') {
      slug = this.findSlug(project, rest[1] as string);
      hookPath = rest.slice(3);
      if (!who.projects.includes(project.key) && !who.repositories.includes(`${project.key}/${slug}`))
        throw forbidden();
    } else {
      throw new DcError(404, `Not found: ${rec.path}`);
    }
    if (hookPath.length > 1) throw new DcError(404, `Not found: ${rec.path}`);

    if (hookPath.length === 0) {
      if (method === 'GET')
        return {
          status: 200,
          body: this.page(
            url,
            this.hooks.filter((h) => h.projectKey === project.key && h.slug === slug).map((h) => this.view(h)),
          ),
        };
      if (method === 'POST') {
        const fields = this.writeBody(rec, raw, true);
        const stored = this.store({
          scopeType: slug === undefined ? 'project' : 'repository',
          projectKey: project.key,
          name: fields.name as string,
          url: fields.url as string,
          events: [...new Set(fields.events as string[])],
          active: (fields.active as boolean | undefined) ?? true,
          configuration: { ...((fields.configuration as Record<string, string> | undefined) ?? {}) },
          sslVerificationRequired: (fields.sslVerificationRequired as boolean | undefined) ?? true,
          ...(fields.credentials ? { credentials: fields.credentials as { username: string; password: string } } : {}),
          ...(slug === undefined ? {} : { slug }),
        });
        // "Create webhook" answers 200 "A created webhook." (the Data Center OpenAPI description), not 201.
        return { status: 200, body: this.view(stored) };
      }
      throw methodNotAllowed(method);
    }

    const idText = hookPath[0] as string;
    const hook = /^[0-9]+$/.test(idText)
      ? this.hooks.find((h) => h.id === Number(idText) && h.projectKey === project.key && h.slug === slug)
      : undefined;
    if (!hook) throw new DcError(404, `No webhook with id ${idText} exists.`, `${EXC}.webhook.NoSuchWebhookException`);
    if (method === 'GET') return { status: 200, body: this.view(hook) };
    if (method === 'DELETE') {
      this.hooks.splice(this.hooks.indexOf(hook), 1);
      return { status: 204 };
    }
    if (method === 'PUT') {
      const fields = this.writeBody(rec, raw, false);
      if (fields.name !== undefined) hook.name = fields.name as string;
      if (fields.url !== undefined) hook.url = fields.url as string;
      if (fields.events !== undefined) hook.events = [...new Set(fields.events as string[])];
      if (fields.active !== undefined) hook.active = fields.active as boolean;
      if (fields.configuration !== undefined)
        hook.configuration = { ...(fields.configuration as Record<string, string>) };
      if (fields.sslVerificationRequired !== undefined)
        hook.sslVerificationRequired = fields.sslVerificationRequired as boolean;
      if (fields.credentials !== undefined)
        hook.credentials = fields.credentials as { username: string; password: string };
      hook.updatedDate = this.tick();
      return { status: 200, body: this.view(hook) };
    }
    throw methodNotAllowed(method);
  }

  private findProject(key: string): Project {
    const project = this.projects.find((p) =>
      this.options.caseInsensitiveKeys ? p.key.toUpperCase() === key.toUpperCase() : p.key === key,
    );
    if (!project) throw new DcError(404, `Project ${key} does not exist.`, `${EXC}.project.NoSuchProjectException`);
    return project;
  }

  private findSlug(project: Project, slug: string): string {
    const found = project.repos.find((s) =>
      this.options.caseInsensitiveKeys ? s.toLowerCase() === slug.toLowerCase() : s === slug,
    );
    if (found === undefined)
      throw new DcError(
        404,
        `Repository ${project.key}/${slug} does not exist.`,
        `${EXC}.repository.NoSuchRepositoryException`,
      );
    return found;
  }

  private page(url: URL, all: unknown[]): Record<string, unknown> {
    const start = integerParam(url, 'start', 0);
    const asked = integerParam(url, 'limit', 25);
    if (start < 0 || asked < 1)
      throw new DcError(400, 'start must be >= 0 and limit >= 1', `${EXC}.validation.ArgumentValidationException`);
    const limit = Math.min(asked, this.options.pageSize ?? 1000);
    const values = all.slice(start, start + limit);
    const isLastPage = start + values.length >= all.length;
    return {
      size: values.length,
      limit,
      isLastPage,
      values,
      start,
      ...(isLastPage ? {} : { nextPageStart: start + values.length }),
    };
  }

  private writeBody(rec: DcRecordedRequest, raw: string, create: boolean): Record<string, unknown> {
    if (!/^application\/json\b/i.test(rec.contentType ?? '')) throw new DcError(415, 'Unsupported Media Type', null);
    const body = parseJson(raw);
    if (typeof body !== 'object' || body === null || Array.isArray(body))
      throw new DcError(
        400,
        'The request body must be a JSON object.',
        `${EXC}.validation.ArgumentValidationException`,
      );
    const fields = body as Record<string, unknown>;
    const errors: DcErrorMessage[] = [];
    const invalid = (context: string, message: string) => errors.push({ context, message });
    for (const key of Object.keys(fields)) if (!WRITABLE_FIELDS.has(key)) invalid(key, `Unrecognized field "${key}".`);
    const present = (key: string) => fields[key] !== undefined;
    if (create || present('name')) {
      if (typeof fields.name !== 'string' || fields.name.trim() === '') invalid('name', 'Name must not be blank.');
      else if (fields.name.length > 255) invalid('name', 'Name must be 255 characters or fewer.');
    }
    if (create || present('url')) {
      const u = fields.url;
      if (typeof u !== 'string' || u === '') invalid('url', 'URL must not be blank.');
      else if (!URL.canParse(u) || !/^https?:$/.test(new URL(u).protocol)) invalid('url', `"${u}" is not a valid URL.`);
    }
    if (create || present('events')) {
      const events = fields.events;
      if (!Array.isArray(events) || events.length === 0) invalid('events', 'At least one event must be selected.');
      else
        for (const e of events)
          if (typeof e !== 'string' || !KNOWN_EVENTS.has(e)) invalid('events', `"${String(e)}" is not a valid event.`);
    }
    if (present('active') && typeof fields.active !== 'boolean') invalid('active', 'active must be a boolean.');
    if (present('sslVerificationRequired') && typeof fields.sslVerificationRequired !== 'boolean')
      invalid('sslVerificationRequired', 'sslVerificationRequired must be a boolean.');
    if (present('configuration')) {
      const c = fields.configuration;
      if (
        typeof c !== 'object' ||
        c === null ||
        Array.isArray(c) ||
        !Object.values(c).every((v) => typeof v === 'string')
      )
        invalid('configuration', 'configuration must map names to strings.');
    }
    if (present('credentials')) {
      const c = fields.credentials as { username?: unknown; password?: unknown } | null;
      if (typeof c !== 'object' || c === null || typeof c.username !== 'string' || typeof c.password !== 'string')
        invalid('credentials', 'credentials must have a username and a password.');
    }
    if (errors.length > 0)
      throw new DcError(
        400,
        errors[0]!.message,
        null,
        {},
        errors.map((e) => ({ ...e, exceptionName: `${EXC}.validation.ArgumentValidationException` })),
      );
    // argo-events: "Bitbucket Server sends 500 response because of empty string value in the hook.Configuration.Secret".
    if ((fields.configuration as Record<string, string> | undefined)?.secret === '')
      throw new DcError(
        500,
        'An error occurred while processing the request. Check the server logs for more information.',
        null,
      );
    return fields;
  }

  private store(hook: Omit<DcStoredHook, 'id' | 'createdDate' | 'updatedDate'>): DcStoredHook {
    const now = this.tick();
    const stored: DcStoredHook = { id: this.nextId++, createdDate: now, updatedDate: now, ...hook };
    this.hooks.push(stored);
    return stored;
  }

  /** The `RestWebhook` a client sees. */
  private view(hook: DcStoredHook): Record<string, unknown> {
    const configuration = { ...hook.configuration };
    if (this.options.echoSecret === false) delete configuration.secret;
    return {
      id: hook.id,
      name: hook.name,
      createdDate: hook.createdDate,
      updatedDate: hook.updatedDate,
      events: [...hook.events],
      configuration,
      url: hook.url,
      active: hook.active,
      scopeType: hook.scopeType,
      sslVerificationRequired: hook.sslVerificationRequired,
    };
  }

  private tick(): number {
    this.clock += 1000;
    return this.clock;
  }

  private send(
    res: ServerResponse,
    rec: DcRecordedRequest | undefined,
    status: number,
    body?: unknown,
    headers: Record<string, string> = {},
  ): void {
    if (rec) rec.status = status;
    const rest = `${this.contextPath}/rest`;
    if (rec?.path.startsWith(`${rest}/`)) {
      const requestBody =
        rec.contentType?.startsWith('application/json') && typeof rec.body === 'object' ? rec.body : undefined;
      this.violations.push(
        ...DESCRIPTION.check({
          method: rec.method,
          path: rec.path.slice(rest.length),
          requestBody,
          status,
          responseBody: body,
        }),
      );
    }
    const text = body === undefined ? '' : JSON.stringify(body);
    res.writeHead(status, { ...(text !== '' ? { 'content-type': 'application/json;charset=UTF-8' } : {}), ...headers });
    res.end(text);
  }
}

function forbidden(): DcError {
  return new DcError(403, 'You are not permitted to access this resource', `${EXC}.AuthorisationException`);
}

function methodNotAllowed(method: string): DcError {
  return new DcError(405, `Method ${method} is not allowed here.`, null);
}

function integerParam(url: URL, name: string, fallback: number): number {
  const value = url.searchParams.get(name);
  if (value === null) return fallback;
  if (!/^-?[0-9]+$/.test(value))
    throw new DcError(400, `${name} must be an integer`, `${EXC}.validation.ArgumentValidationException`);
  return Number(value);
}

function lowerKeys(headers: Record<string, string>): Record<string, string> {
  return Object.fromEntries(Object.entries(headers).map(([k, v]) => [k.toLowerCase(), v]));
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
  return readBoundedBody(req, MAX_BODY_BYTES, () => new DcError(413, 'Request body too large'));
}
