/**
 * A strict, in-memory Gitea (or Forgejo) `/api/v1` on 127.0.0.1 for tests: repository and organisation webhooks.
 *
 * Modelled on the servers' source (go-gitea/gitea `routers/api/v1/api.go`, `routers/api/v1/{repo,org}/hook.go`,
 * `routers/api/v1/utils/hook.go`, `services/webhook/general.go` `ToHook`, `services/context/api.go`; Forgejo the same
 * files in creator-signal/fork-forgejo-forgejo 61789862), with these behaviours:
 *
 * - Routing order as in `api.go`: the repository / organisation must exist (404, whatever the credentials), then a
 *   token is required (401 "token is required"), then repository admin / organisation owner rights (403).
 * - Auth: `Authorization: token <t>` or `Bearer <t>`; an unknown token is anonymous.
 * - Create: binding errors (missing `type` / `config`, wrong JSON types, non-JSON body) answer 422 with Gitea's
 *   binding error array; then `Invalid hook type: X`, `Missing config option: url|content_type`,
 *   `Invalid content type`, `Invalid url` (422, `{"message","url"}`). `active` defaults to false, `events` to push.
 *   Types: Gitea's list, plus `forgejo` and `sourcehut_builds` in Forgejo mode.
 * - Update (PATCH): `config.url` / `config.content_type` are validated and applied; `config.secret` is ignored (both
 *   servers' `editHook` never read it); `branch_filter` and `authorization_header` are overwritten, "" when omitted;
 *   `active` only when given; empty `events` become push.
 * - The secret is never returned (`secretOf` reads it for tests). `authorization_header`: Forgejo returns it
 *   decrypted (`ToHook`: `w.HeaderAuthorization()`); Gitea main returns "" ("the stored authorization header is a
 *   secret and must never be returned by the API", `ToHook` as read in the fork hanzoai/git 61fc4c71, which follows
 *   main), so nothing may compare it. `branch_filter` is returned by both (`BranchFilter: w.BranchFilter`, go-gitea
 *   6bf8b891 `services/webhook/general.go`), and a non-matching push is not delivered (`checkBranch`).
 * - Lists: `page` (<= 0 → 1) and `limit` (<= 0 → DEFAULT_PAGING_NUM, > MAX_RESPONSE_ITEMS → MAX_RESPONSE_ITEMS),
 *   `X-Total-Count` always; `Link` (next/last/first/prev, built on ROOT_URL = `appUrl`) only where the real server sets
 *   one: Gitea on organisation lists, Forgejo on repository lists.
 * - Events are simplified: known event names are kept as given (Gitea expands `issues` / `pull_request` into their
 *   sub-events; not modelled), unknown ones dropped.
 * - Faults: an injected status (429 with `Retry-After`, 5xx) answers matching requests before anything else, like a
 *   proxy in front of the server. Every request is recorded.
 * - Every request body the server takes and every answer it gives is checked against the flavour's own swagger
 *   (tests/fixtures/gitea-openapi, forgejo-openapi); disagreements are collected in `violations`.
 */
import { FaultSlot, listenOnLoopback } from '../../dev/loopback';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { ApiDescription } from './api-description';
import { closeServer } from './http-body';
import { registerTestSecret } from './log-scan';

export type GiteaFlavor = 'gitea' | 'forgejo';

export interface GiteaServerOptions {
  flavor?: GiteaFlavor;
  /** `[api] MAX_RESPONSE_ITEMS` (default 50). */
  maxResponseItems?: number;
  /** `[api] DEFAULT_PAGING_NUM` (default 30). */
  defaultPagingNum?: number;
  /** `[server] ROOT_URL`, which `Link` headers are built on (default: this server's own URL). */
  appUrl?: string;
}

export interface RecordedRequest {
  method: string;
  /** URL path without the query string. */
  path: string;
  query: Record<string, string>;
  /** The raw `Authorization` header, if any. */
  authorization?: string;
  contentType?: string;
  /** Parsed JSON when it parses, else the raw text; undefined when empty. */
  body?: unknown;
  /** Status answered. */
  status?: number;
  /** `Link` header answered, if any. */
  link?: string;
  /** `X-Total-Count` header answered, if any. */
  totalCount?: string;
}

export interface GiteaFault {
  /** Which requests to affect (default: all). */
  match?: (req: RecordedRequest) => boolean;
  status: number;
  /** Sent as `Retry-After`. */
  retryAfter?: string;
  message?: string;
  /** How many matching requests to affect before the fault clears itself; unlimited when omitted. */
  times?: number;
}

export interface HookOwner {
  kind: 'repository' | 'organization';
  /** `owner/repo` or the organisation name, as created (case preserved). */
  path: string;
}

export interface StoredHook {
  id: number;
  owner: HookOwner;
  type: string;
  url: string;
  contentType: 'json' | 'form';
  secret: string;
  events: string[];
  branchFilter: string;
  authorizationHeader: string;
  active: boolean;
  /** Gitea (PR #37040) only. */
  name: string;
  /** Slack's channel, username, icon_url, color. */
  meta?: Record<string, string>;
  createdAt: string;
  updatedAt: string;
}

interface User {
  name: string;
  siteAdmin: boolean;
}

interface Repo {
  owner: string;
  name: string;
  private: boolean;
  /** Users with admin rights besides the owner (collaborators with admin access). */
  admins: Set<string>;
}

interface Org {
  name: string;
  owners: Set<string>;
}

class HttpError extends Error {
  constructor(
    readonly status: number,
    readonly body: unknown,
    readonly headers: Record<string, string> = {},
  ) {
    super(
      typeof body === 'object' && body !== null && 'message' in body
        ? String((body as { message: unknown }).message)
        : `HTTP ${status}`,
    );
  }
}

const GITEA_TYPES = [
  'dingtalk',
  'discord',
  'gitea',
  'gogs',
  'msteams',
  'slack',
  'telegram',
  'feishu',
  'matrix',
  'wechatwork',
  'packagist',
];
const FORGEJO_TYPES = ['forgejo', ...GITEA_TYPES, 'sourcehut_builds'];
const KNOWN_EVENTS = new Set([
  'create',
  'delete',
  'fork',
  'push',
  'issues',
  'issues_only',
  'issue_assign',
  'issue_label',
  'issue_milestone',
  'issue_comment',
  'pull_request',
  'pull_request_only',
  'pull_request_assign',
  'pull_request_label',
  'pull_request_milestone',
  'pull_request_comment',
  'pull_request_review',
  'pull_request_review_approved',
  'pull_request_review_rejected',
  'pull_request_review_comment',
  'pull_request_review_request',
  'pull_request_sync',
  'wiki',
  'repository',
  'release',
  'package',
  'status',
  'workflow_run',
  'workflow_job',
]);
const SWAGGER_URL = '/api/swagger';
/**
 * The servers' own API descriptions of the hook endpoints (Gitea's templates/swagger/v1_json.tmpl, Forgejo 11.0.3's
 * served swagger.v1.json), extracted into tests/fixtures/{gitea,forgejo}-openapi by scripts/extract-gitea-swagger.mjs.
 */
const DESCRIPTIONS: Record<GiteaFlavor, ApiDescription> = {
  gitea: ApiDescription.load('gitea-openapi'),
  forgejo: ApiDescription.load('forgejo-openapi'),
};
const MAX_BODY_BYTES = 1024 * 1024;

export class GiteaApiTestServer {
  /** Origin, e.g. `http://127.0.0.1:12345`. */
  readonly url: string;
  /** What a client is configured with: `<url>/api/v1`. */
  readonly apiUrl: string;
  readonly flavor: GiteaFlavor;
  readonly requests: RecordedRequest[] = [];
  /** Where a request body the server took, or an answer it gave, disagrees with the API description; tests assert []. */
  readonly violations: string[] = [];

  private readonly users = new Map<string, User>();
  private readonly tokens = new Map<string, string>();
  private readonly repos = new Map<string, Repo>();
  private readonly orgs = new Map<string, Org>();
  private readonly hooksById = new Map<number, StoredHook>();
  private readonly maxResponseItems: number;
  private readonly defaultPagingNum: number;
  private readonly appUrl: string;
  private nextId = 1;
  private clock = Date.parse('2026-01-01T00:00:00Z');
  private readonly faults = new FaultSlot<GiteaFault, RecordedRequest>();

  private constructor(
    private readonly server: Server,
    options: GiteaServerOptions,
  ) {
    const { port } = server.address() as AddressInfo;
    this.url = `http://127.0.0.1:${port}`;
    this.apiUrl = `${this.url}/api/v1`;
    this.flavor = options.flavor ?? 'gitea';
    this.maxResponseItems = options.maxResponseItems ?? 50;
    this.defaultPagingNum = options.defaultPagingNum ?? 30;
    // setting.AppURL always ends in a slash.
    this.appUrl = `${(options.appUrl ?? this.url).replace(/\/+$/, '')}/`;
    server.on('request', (req: IncomingMessage, res: ServerResponse) => {
      this.handle(req, res).catch((err: unknown) => {
        if (!res.headersSent) this.send(res, undefined, 500, { message: String(err), url: SWAGGER_URL });
      });
    });
  }

  static async start(options: GiteaServerOptions = {}): Promise<GiteaApiTestServer> {
    const server = createServer();
    await listenOnLoopback(server);
    return new GiteaApiTestServer(server, options);
  }

  /** A user, with an API token when `token` is given. */
  addUser(name: string, options: { token?: string; siteAdmin?: boolean } = {}): void {
    this.users.set(name.toLowerCase(), { name, siteAdmin: options.siteAdmin ?? false });
    if (options.token !== undefined) {
      registerTestSecret(options.token, 'gitea-api-server token');
      this.tokens.set(options.token, name.toLowerCase());
    }
  }

  /** A repository `owner/name`; its owner (a user or an organisation's owners) and `admins` may manage its hooks. */
  addRepo(fullName: string, options: { private?: boolean; admins?: string[] } = {}): void {
    const [owner, name, ...rest] = fullName.split('/');
    if (!owner || !name || rest.length > 0)
      throw new Error(`GiteaApiTestServer.addRepo: "${fullName}" is not owner/name`);
    this.repos.set(fullName.toLowerCase(), {
      owner,
      name,
      private: options.private ?? false,
      admins: new Set((options.admins ?? []).map((a) => a.toLowerCase())),
    });
  }

  addOrg(name: string, options: { owners?: string[] } = {}): void {
    this.orgs.set(name.toLowerCase(), { name, owners: new Set((options.owners ?? []).map((o) => o.toLowerCase())) });
  }

  /** Store a hook directly (as if made in the web UI); missing fields get the web UI's defaults. */
  seedHook(owner: HookOwner, hook: Partial<Omit<StoredHook, 'id' | 'owner'>> & { url: string }): StoredHook {
    this.ownerOrThrow(owner);
    const at = this.tick();
    const stored: StoredHook = {
      id: this.nextId++,
      owner: { ...owner },
      type: hook.type ?? this.flavor,
      url: hook.url,
      contentType: hook.contentType ?? 'json',
      secret: hook.secret ?? '',
      events: hook.events ?? ['push'],
      branchFilter: hook.branchFilter ?? '*',
      authorizationHeader: hook.authorizationHeader ?? '',
      active: hook.active ?? true,
      name: hook.name ?? '',
      ...(hook.meta ? { meta: { ...hook.meta } } : {}),
      createdAt: at,
      updatedAt: at,
    };
    this.hooksById.set(stored.id, stored);
    return structuredClone(stored);
  }

  /** The hooks of a repository or organisation, in id order (internal view, secret included). */
  hooks(owner: HookOwner): StoredHook[] {
    const key = owner.path.toLowerCase();
    return [...this.hooksById.values()]
      .filter((h) => h.owner.kind === owner.kind && h.owner.path.toLowerCase() === key)
      .map((h) => structuredClone(h));
  }

  /** A hook's secret, which the API never returns; undefined for an unknown id. */
  secretOf(id: number | string): string | undefined {
    return this.hooksById.get(Number(id))?.secret;
  }

  clearRequests(): void {
    this.requests.length = 0;
  }

  /** Set (or clear, with undefined) the fault answered to matching requests. */
  fault(f: GiteaFault | undefined): void {
    this.faults.set(f);
  }

  close(): Promise<void> {
    return closeServer(this.server);
  }

  // -------------------------------------------------------------------------------------------------------------------

  private tick(): string {
    this.clock += 1000;
    return new Date(this.clock).toISOString().replace('.000Z', 'Z');
  }

  private ownerOrThrow(owner: HookOwner): void {
    const exists =
      owner.kind === 'repository' ? this.repos.has(owner.path.toLowerCase()) : this.orgs.has(owner.path.toLowerCase());
    if (!exists) throw new Error(`GiteaApiTestServer: no ${owner.kind} ${owner.path}`);
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', this.url);
    const raw = await readBody(req);
    const rec: RecordedRequest = {
      method: req.method ?? 'GET',
      path: url.pathname,
      query: Object.fromEntries(url.searchParams),
    };
    if (req.headers.authorization !== undefined) rec.authorization = req.headers.authorization;
    if (req.headers['content-type'] !== undefined) rec.contentType = req.headers['content-type'];
    if (raw !== '') rec.body = parseJson(raw);
    this.requests.push(rec);

    const fault = this.faults.take(rec);
    if (fault) {
      const headers: Record<string, string> = fault.retryAfter !== undefined ? { 'Retry-After': fault.retryAfter } : {};
      this.send(
        res,
        rec,
        fault.status,
        { message: fault.message ?? (fault.status === 429 ? 'Too Many Requests' : 'injected fault'), url: SWAGGER_URL },
        headers,
      );
      return;
    }

    try {
      const { status, body, headers } = this.route(rec, url, raw, req.headers['content-type']);
      this.send(res, rec, status, body, headers);
    } catch (err) {
      if (!(err instanceof HttpError)) throw err;
      this.send(res, rec, err.status, err.body, err.headers);
    }
  }

  private route(
    rec: RecordedRequest,
    url: URL,
    raw: string,
    contentType: string | undefined,
  ): { status: number; body?: unknown; headers?: Record<string, string> } {
    const m = /^\/api\/v1\/(?:repos\/([^/]+)\/([^/]+)|orgs\/([^/]+))\/hooks(?:\/([^/]+))?\/?$/.exec(url.pathname);
    if (!m) throw notFound();
    const [, ownerSeg, repoSeg, orgSeg, idSeg] = m;
    const user = this.authenticate(rec.authorization);

    let owner: HookOwner;
    if (orgSeg !== undefined) {
      // orgAssignment(true), then reqToken(), reqOrgOwnership().
      const org = this.orgs.get(decodeURIComponent(orgSeg).toLowerCase());
      if (!org) throw notFound();
      if (!user) throw unauthorized();
      if (!user.siteAdmin && !org.owners.has(user.name.toLowerCase())) throw forbidden('must be an organization owner');
      owner = { kind: 'organization', path: org.name };
    } else {
      // repoAssignment(), then reqToken(), reqAdmin().
      const repo = this.repos.get(`${decodeURIComponent(ownerSeg!)}/${decodeURIComponent(repoSeg!)}`.toLowerCase());
      if (!repo || (repo.private && !this.canRead(user, repo))) throw notFound();
      if (!user) throw unauthorized();
      if (!this.isRepoAdmin(user, repo))
        throw forbidden('user should be an owner or a collaborator with admin write of a repository');
      owner = { kind: 'repository', path: `${repo.owner}/${repo.name}` };
    }

    if (idSeg === undefined) {
      if (rec.method === 'GET') return this.list(owner, url);
      if (rec.method === 'POST')
        return { status: 201, body: this.toApi(this.create(owner, jsonForm(raw, contentType))) };
      throw methodNotAllowed();
    }
    // The id is an int64 path parameter (`ctx.PathParamInt64`): anything else is 0, which matches no hook.
    const id = /^[0-9]+$/.test(idSeg) ? Number(idSeg) : 0;
    const hook = this.hooksById.get(id);
    const owned =
      hook && hook.owner.kind === owner.kind && hook.owner.path.toLowerCase() === owner.path.toLowerCase()
        ? hook
        : undefined;
    switch (rec.method) {
      case 'GET':
        if (!owned) throw notFound();
        return { status: 200, body: this.toApi(owned) };
      case 'PATCH':
        if (!owned) throw notFound();
        this.edit(owned, jsonForm(raw, contentType));
        return { status: 200, body: this.toApi(owned) };
      case 'DELETE':
        if (!owned) throw notFound();
        this.hooksById.delete(owned.id);
        return { status: 204 };
      default:
        throw methodNotAllowed();
    }
  }

  private authenticate(authorization: string | undefined): User | undefined {
    const m = /^(?:token|bearer)\s+(\S+)\s*$/i.exec(authorization ?? '');
    const name = m ? this.tokens.get(m[1]!) : undefined;
    return name === undefined ? undefined : this.users.get(name);
  }

  private canRead(user: User | undefined, repo: Repo): boolean {
    return user !== undefined && this.isRepoAdmin(user, repo);
  }

  private isRepoAdmin(user: User, repo: Repo): boolean {
    const name = user.name.toLowerCase();
    if (user.siteAdmin || repo.owner.toLowerCase() === name || repo.admins.has(name)) return true;
    return this.orgs.get(repo.owner.toLowerCase())?.owners.has(name) ?? false;
  }

  private list(owner: HookOwner, url: URL): { status: number; body: unknown; headers: Record<string, string> } {
    // utils.GetListOptions: page <= 0 is page 1; convert.ToCorrectPageSize clamps the limit.
    const page = Math.max(1, formInt(url.searchParams.get('page')));
    let limit = formInt(url.searchParams.get('limit'));
    if (limit <= 0) limit = this.defaultPagingNum;
    else if (limit > this.maxResponseItems) limit = this.maxResponseItems;
    const all = [...this.hooksById.values()].filter(
      (h) => h.owner.kind === owner.kind && h.owner.path.toLowerCase() === owner.path.toLowerCase(),
    );
    const slice = all.slice((page - 1) * limit, page * limit);
    const headers: Record<string, string> = { 'X-Total-Count': String(all.length) };
    // Gitea: repo ListHooks sets the total only, ListOwnerHooks both. Forgejo: repo ListHooks both
    // (utils.SetPaginationHeaders), ListOwnerHooks the total only.
    const withLink = (this.flavor === 'gitea') === (owner.kind === 'organization');
    if (withLink) {
      const link = this.linkHeader(url, all.length, limit, page);
      if (link) headers.Link = link;
    }
    return { status: 200, body: slice.map((h) => this.toApi(h)), headers };
  }

  /** genAPILinks: next, last, first, prev, on ROOT_URL, keeping the request's other query parameters. */
  private linkHeader(url: URL, total: number, pageSize: number, page: number): string | undefined {
    const totalPages = Math.max(1, Math.ceil(total / pageSize));
    const at = (p: number) => {
      const u = new URL(url.toString());
      u.searchParams.set('page', String(p));
      return `${this.appUrl}${`${u.pathname}${u.search}`.slice(1)}`;
    };
    const links: string[] = [];
    if (page < totalPages) links.push(`<${at(page + 1)}>; rel="next"`);
    if (page < totalPages) links.push(`<${at(totalPages)}>; rel="last"`);
    if (page > 1) links.push(`<${at(1)}>; rel="first"`);
    if (page > 1) links.push(`<${at(page - 1)}>; rel="prev"`);
    return links.length > 0 ? links.join(',') : undefined;
  }

  /** utils.addHook with checkCreateHookOption. */
  private create(owner: HookOwner, form: Record<string, unknown>): StoredHook {
    const binding: BindingError[] = [];
    if (typeof form.type !== 'string' || form.type === '')
      binding.push({ fieldNames: ['Type'], classification: 'RequiredError', message: 'Required' });
    if (!isObject(form.config))
      binding.push({ fieldNames: ['Config'], classification: 'RequiredError', message: 'Required' });
    if (binding.length > 0) throw new HttpError(422, binding);
    const type = form.type as string;
    const config = stringMap(form.config, 'config');
    const events = stringList(form.events, 'events');
    const branchFilter = optionalString(form.branch_filter, 'branch_filter');
    const authorizationHeader = optionalString(form.authorization_header, 'authorization_header');
    const name = optionalString(form.name, 'name');
    if (form.active !== undefined && form.active !== null && typeof form.active !== 'boolean')
      throw deserialization('active');
    if (!validGlob(branchFilter))
      throw new HttpError(422, [
        { fieldNames: ['BranchFilter'], classification: 'GlobPatternError', message: 'GlobPattern' },
      ]);

    if (!(this.flavor === 'gitea' ? GITEA_TYPES : FORGEJO_TYPES).includes(type))
      throw unprocessable(`Invalid hook type: ${type}`);
    for (const key of ['url', 'content_type'])
      if (!(key in config)) throw unprocessable(`Missing config option: ${key}`);
    if (config.content_type !== 'json' && config.content_type !== 'form') throw unprocessable('Invalid content type');
    if (!validUrl(config.url!)) throw unprocessable('Invalid url');
    let meta: Record<string, string> | undefined;
    if (type === 'slack') {
      if (!('channel' in config)) throw unprocessable('Missing config option: channel');
      const channel = config.channel!.trim();
      if (!/^#?[^\s#]+$/.test(channel))
        throw new HttpError(400, { message: 'Invalid slack channel name', url: SWAGGER_URL });
      meta = { channel, username: config.username ?? '', icon_url: config.icon_url ?? '', color: config.color ?? '' };
    }

    const at = this.tick();
    const hook: StoredHook = {
      id: this.nextId++,
      owner: { ...owner },
      type,
      url: config.url!,
      contentType: config.content_type,
      secret: config.secret ?? '',
      events: normaliseEvents(events),
      branchFilter,
      authorizationHeader,
      // IsActive: form.Active, a plain bool: false when omitted.
      active: form.active === true,
      name: this.flavor === 'gitea' ? name.trim() : '',
      ...(meta ? { meta } : {}),
      createdAt: at,
      updatedAt: at,
    };
    this.hooksById.set(hook.id, hook);
    return hook;
  }

  /** utils.editHook. */
  private edit(hook: StoredHook, form: Record<string, unknown>): void {
    const config = form.config === undefined || form.config === null ? undefined : stringMap(form.config, 'config');
    const events = stringList(form.events, 'events');
    const branchFilter = optionalString(form.branch_filter, 'branch_filter');
    const authorizationHeader = optionalString(form.authorization_header, 'authorization_header');
    if (form.active !== undefined && form.active !== null && typeof form.active !== 'boolean')
      throw deserialization('active');
    if (form.name !== undefined && form.name !== null && typeof form.name !== 'string') throw deserialization('name');
    if (!validGlob(branchFilter))
      throw new HttpError(422, [
        { fieldNames: ['BranchFilter'], classification: 'GlobPatternError', message: 'GlobPattern' },
      ]);

    if (config) {
      if (config.url !== undefined) {
        if (!validUrl(config.url)) throw unprocessable('Invalid url');
        hook.url = config.url;
      }
      if (config.content_type !== undefined) {
        if (config.content_type !== 'json' && config.content_type !== 'form')
          throw unprocessable('Invalid content type');
        hook.contentType = config.content_type;
      }
      // config.secret: never read by editHook.
      if (hook.type === 'slack' && config.channel !== undefined) {
        hook.meta = {
          channel: config.channel,
          username: config.username ?? '',
          icon_url: config.icon_url ?? '',
          color: config.color ?? '',
        };
      }
    }
    hook.events = normaliseEvents(events);
    // Overwritten unconditionally: "" when the request leaves them out.
    hook.branchFilter = branchFilter;
    hook.authorizationHeader = authorizationHeader;
    if (typeof form.active === 'boolean') hook.active = form.active;
    if (this.flavor === 'gitea' && typeof form.name === 'string') hook.name = form.name.trim();
    hook.updatedAt = this.tick();
  }

  /** webhook_service.ToHook. */
  private toApi(hook: StoredHook): Record<string, unknown> {
    const config: Record<string, string> = {
      url: hook.url,
      content_type: hook.contentType,
      ...(hook.type === 'slack' && hook.meta ? hook.meta : {}),
    };
    if (this.flavor === 'forgejo') {
      return {
        id: hook.id,
        type: hook.type,
        branch_filter: hook.branchFilter,
        url: hook.url,
        config,
        events: [...hook.events],
        authorization_header: hook.authorizationHeader,
        content_type: hook.contentType,
        metadata: hook.type === 'slack' && hook.meta ? { ...hook.meta } : null,
        active: hook.active,
        updated_at: hook.updatedAt,
        created_at: hook.createdAt,
      };
    }
    return {
      id: hook.id,
      type: hook.type,
      name: hook.name,
      branch_filter: hook.branchFilter,
      config,
      events: [...hook.events],
      // Gitea main blanks it (see the file comment); Forgejo above returns it.
      authorization_header: '',
      active: hook.active,
      updated_at: hook.updatedAt,
      created_at: hook.createdAt,
    };
  }

  private send(
    res: ServerResponse,
    rec: RecordedRequest | undefined,
    status: number,
    body: unknown,
    headers: Record<string, string> = {},
  ): void {
    if (rec) {
      rec.status = status;
      if (headers.Link !== undefined) rec.link = headers.Link;
      if (headers['X-Total-Count'] !== undefined) rec.totalCount = headers['X-Total-Count'];
    }
    const description = DESCRIPTIONS[this.flavor];
    if (rec && rec.path.startsWith('/api/v1/')) {
      const requestBody =
        rec.contentType?.startsWith('application/json') && typeof rec.body === 'object' ? rec.body : undefined;
      this.violations.push(
        ...description.check({
          method: rec.method,
          path: rec.path.slice('/api/v1'.length),
          requestBody,
          status,
          responseBody: body,
        }),
      );
    }
    const text = body === undefined ? '' : JSON.stringify(body);
    res.writeHead(status, { ...(text !== '' ? { 'Content-Type': 'application/json;charset=utf-8' } : {}), ...headers });
    res.end(text);
  }
}

interface BindingError {
  fieldNames?: string[];
  classification: string;
  message: string;
}

function notFound(): HttpError {
  // APIContext.NotFound: the locale's error.not_found, the swagger URL and an error list.
  return new HttpError(404, { errors: [], message: "The target couldn't be found.", url: SWAGGER_URL });
}

function unauthorized(): HttpError {
  return new HttpError(401, { message: 'token is required', url: SWAGGER_URL });
}

function forbidden(message: string): HttpError {
  return new HttpError(403, { message, url: SWAGGER_URL });
}

function unprocessable(message: string): HttpError {
  return new HttpError(422, { message, url: SWAGGER_URL });
}

function methodNotAllowed(): HttpError {
  return new HttpError(405, undefined);
}

function deserialization(field: string): HttpError {
  return new HttpError(422, [{ classification: 'DeserializationError', message: `json: cannot unmarshal ${field}` }]);
}

/** The JSON binding: a JSON object body with a JSON content type, else a 422 binding error. */
function jsonForm(raw: string, contentType: string | undefined): Record<string, unknown> {
  if (!/^application\/json\b/i.test(contentType ?? ''))
    throw new HttpError(422, [{ classification: 'ContentTypeError', message: 'Unsupported Content-Type' }]);
  const parsed = parseJson(raw);
  if (!isObject(parsed))
    throw new HttpError(422, [{ classification: 'DeserializationError', message: 'invalid JSON object' }]);
  return parsed;
}

function stringMap(value: unknown, field: string): Record<string, string> {
  if (!isObject(value) || !Object.values(value).every((v) => typeof v === 'string')) throw deserialization(field);
  return value as Record<string, string>;
}

function stringList(value: unknown, field: string): string[] {
  if (value === undefined || value === null) return [];
  if (!Array.isArray(value) || !value.every((v) => typeof v === 'string')) throw deserialization(field);
  return value as string[];
}

function optionalString(value: unknown, field: string): string {
  if (value === undefined || value === null) return '';
  if (typeof value !== 'string') throw deserialization(field);
  return value;
}

/** Empty events mean push; unknown names are dropped; the order is the server's, not the request's. */
function normaliseEvents(events: string[]): string[] {
  const given = events.length === 0 ? ['push'] : events.map((e) => e.toLowerCase());
  return [...KNOWN_EVENTS].filter((e) => given.includes(e));
}

/** validation.IsValidURL: an absolute http(s) URL. */
function validUrl(value: string): boolean {
  try {
    const u = new URL(value);
    return (u.protocol === 'http:' || u.protocol === 'https:') && u.host !== '';
  } catch {
    return false;
  }
}

/** The GlobPattern binding, roughly: balanced brackets and braces. */
function validGlob(pattern: string): boolean {
  let square = 0;
  let curly = 0;
  for (const ch of pattern) {
    if (ch === '[') square++;
    if (ch === ']') square--;
    if (ch === '{') curly++;
    if (ch === '}') curly--;
    if (square < 0 || curly < 0) return false;
  }
  return square === 0 && curly === 0;
}

function formInt(value: string | null): number {
  const n = Number(value ?? '');
  return value !== null && /^-?[0-9]+$/.test(value) && Number.isSafeInteger(n) ? n : 0;
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}

async function readBody(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    const buf = chunk as Buffer;
    size += buf.length;
    if (size > MAX_BODY_BYTES) throw new Error('request body too large');
    chunks.push(buf);
  }
  return Buffer.concat(chunks).toString('utf8');
}
