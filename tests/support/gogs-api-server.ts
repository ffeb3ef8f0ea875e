/**
 * A strict, in-memory Gogs `/api/v1` on 127.0.0.1 for tests: repository webhooks only.
 *
 * Modelled on gogs/gogs `internal/route/api/v1/repo_hook.go` (commit 3a28ecce3e8e116d1014ac273eb9d17d02e04aa4) and
 * https://github.com/gogs/docs-api/blob/master/Repositories/Webhooks.md:
 * - Auth, in the route order of `internal/route/api/v1/api.go` (gogs/gogs 04cd63300274387505114c39ab1a840577cf0a89):
 *   `reqToken` first (no or an unknown `Authorization: token <t>` → 401, empty body), then `repoAssignment` (unknown
 *   repository, or one the user cannot read → 404), then `reqRepoAdmin` (a reader → 403, empty body). There are no
 *   organisation hook routes. Other answers are JSON (`{"message"}` on errors).
 * - Create (`CreateHook`): `type` and `config` required (422), `Invalid hook type.`, `Missing config option: url|
 *   content_type`, `Invalid content type.` (422); `active` defaults to false, empty `events` to push. 201 with the hook.
 * - Edit (PATCH, `EditHook`): `config.url` / `config.content_type` applied, `config.secret` ignored; empty `events`
 *   become push; `active` only when given.
 * - Delete (`DeleteHook`): 204, also for an id that does not exist (`DeleteWebhookOfRepoByID` deletes by condition).
 * - List (`ListHooks`): every hook, no paging; the secret is never returned.
 * - Faults: `fault` answers matching requests with a status and raw body first (an HTML page, truncated JSON, ...).
 */
import { listenOnLoopback } from '../../dev/loopback';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { closeServer, readBoundedBody } from './http-body';
import { registerTestSecret } from './log-scan';

interface Hook {
  id: number;
  type: string;
  url: string;
  contentType: string;
  secret: string;
  events: string[];
  active: boolean;
}

export interface GogsRequest {
  method: string;
  path: string;
  authorization?: string;
  body?: unknown;
  status?: number;
}

export interface GogsFault {
  match: (req: GogsRequest) => boolean;
  status: number;
  contentType: string;
  body: string;
}

const HOOK_TYPES = ['gogs', 'slack', 'discord', 'dingtalk'];
const CONTENT_TYPES = ['json', 'form'];

export class GogsApiTestServer {
  readonly requests: GogsRequest[] = [];
  fault?: GogsFault;
  private readonly tokens = new Map<string, string>();
  private readonly repos = new Map<string, { admins: Set<string>; readers: Set<string>; hooks: Hook[] }>();
  private nextId = 1;

  private constructor(
    private readonly server: Server,
    readonly apiUrl: string,
  ) {}

  static async start(): Promise<GogsApiTestServer> {
    const holder: { instance?: GogsApiTestServer } = {};
    const server = createServer((req, res) => void holder.instance?.handle(req, res));
    const port = await listenOnLoopback(server);
    holder.instance = new GogsApiTestServer(server, `http://127.0.0.1:${port}/api/v1`);
    return holder.instance;
  }

  close(): Promise<void> {
    return closeServer(this.server);
  }

  addUser(name: string, token: string): void {
    registerTestSecret(token);
    this.tokens.set(token, name);
  }

  /** A repository: `admins` may manage its hooks, `readers` only see it (403 on hooks); anyone else gets 404. */
  addRepo(path: string, admins: string[], readers: string[] = []): void {
    this.repos.set(path, { admins: new Set(admins), readers: new Set(readers), hooks: [] });
  }

  seedHook(repo: string, hook: Partial<Omit<Hook, 'id'>> & { url: string }): number {
    const id = this.nextId++;
    if (hook.secret) registerTestSecret(hook.secret);
    this.repoOf(repo).hooks.push({
      id,
      type: 'gogs',
      contentType: 'json',
      secret: '',
      events: ['push'],
      active: true,
      ...hook,
    });
    return id;
  }

  hooks(repo: string): Readonly<Hook>[] {
    return this.repoOf(repo).hooks.map((h) => ({ ...h }));
  }

  private repoOf(path: string) {
    const repo = this.repos.get(path);
    if (!repo) throw new Error(`no repo ${path}`);
    return repo;
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://127.0.0.1');
    const raw = await readBoundedBody(req, 1 << 20, () => new Error('too large'));
    const record: GogsRequest = { method: req.method ?? 'GET', path: url.pathname };
    if (req.headers.authorization) record.authorization = req.headers.authorization;
    if (raw !== '') {
      try {
        record.body = JSON.parse(raw) as unknown;
      } catch {
        record.body = raw;
      }
    }
    this.requests.push(record);
    const send = (status: number, body?: unknown): void => {
      record.status = status;
      if (body === undefined) res.writeHead(status).end();
      else res.writeHead(status, { 'content-type': 'application/json; charset=UTF-8' }).end(JSON.stringify(body));
    };
    if (this.fault?.match(record)) {
      record.status = this.fault.status;
      res.writeHead(this.fault.status, { 'content-type': this.fault.contentType }).end(this.fault.body);
      return;
    }
    const route = /^\/api\/v1\/repos\/([^/]+)\/([^/]+)\/hooks(?:\/([0-9]+))?$/.exec(url.pathname);
    if (!route) return send(404, { message: 'Not Found' });
    const auth = /^token (.+)$/.exec(req.headers.authorization ?? '');
    const user = auth ? this.tokens.get(auth[1]!) : undefined;
    if (!user) return send(401);
    const repo = this.repos.get(`${route[1]}/${route[2]}`);
    if (!repo || !(repo.admins.has(user) || repo.readers.has(user))) return send(404, { message: 'Not Found' });
    if (!repo.admins.has(user)) return send(403);
    const id = route[3] === undefined ? undefined : Number(route[3]);
    const method = record.method;
    if (id === undefined && method === 'GET') return send(200, repo.hooks.map(toJson));
    if (id === undefined && method === 'POST') return this.create(repo.hooks, record.body, send);
    if (id !== undefined && method === 'DELETE') {
      repo.hooks = repo.hooks.filter((h) => h.id !== id);
      return send(204);
    }
    if (id !== undefined && method === 'PATCH') {
      const hook = repo.hooks.find((h) => h.id === id);
      if (!hook) return send(404, { message: 'Not Found' });
      const body = record.body as { config?: Record<string, string>; events?: string[]; active?: boolean };
      if (body.config?.content_type !== undefined && !CONTENT_TYPES.includes(body.config.content_type))
        return send(422, { message: 'Invalid content type.' });
      if (body.config?.url !== undefined) hook.url = body.config.url;
      if (body.config?.content_type !== undefined) hook.contentType = body.config.content_type;
      hook.events = body.events?.length ? [...body.events] : ['push'];
      if (typeof body.active === 'boolean') hook.active = body.active;
      return send(200, toJson(hook));
    }
    return send(405, { message: 'Method Not Allowed' });
  }

  private create(hooks: Hook[], body: unknown, send: (status: number, body?: unknown) => void): void {
    const form = body as { type?: unknown; config?: unknown; events?: unknown; active?: unknown } | null;
    if (typeof form !== 'object' || form === null || typeof form.type !== 'string' || form.type === '')
      return send(422, [{ fieldNames: ['Type'], classification: 'RequiredError', message: 'Required' }]);
    if (typeof form.config !== 'object' || form.config === null)
      return send(422, [{ fieldNames: ['Config'], classification: 'RequiredError', message: 'Required' }]);
    const config = form.config as Record<string, string>;
    if (!HOOK_TYPES.includes(form.type)) return send(422, { message: 'Invalid hook type.' });
    for (const name of ['url', 'content_type'])
      if (!(name in config)) return send(422, { message: `Missing config option: ${name}` });
    if (!CONTENT_TYPES.includes(config.content_type!)) return send(422, { message: 'Invalid content type.' });
    const events = Array.isArray(form.events) && form.events.length > 0 ? (form.events as string[]) : ['push'];
    if (config.secret) registerTestSecret(config.secret);
    const hook: Hook = {
      id: this.nextId++,
      type: form.type,
      url: config.url!,
      contentType: config.content_type!,
      secret: config.secret ?? '',
      events: [...events],
      active: form.active === true,
    };
    hooks.push(hook);
    send(201, toJson(hook));
  }
}

/** `toRepositoryHook`: config has url and content_type only, never the secret. */
function toJson(hook: Hook): Record<string, unknown> {
  return {
    id: hook.id,
    type: hook.type,
    url: `http://gogs.example.com/settings/hooks/${hook.id}`,
    config: { url: hook.url, content_type: hook.contentType },
    events: hook.events,
    active: hook.active,
    updated_at: '2026-01-01T00:00:00Z',
    created_at: '2026-01-01T00:00:00Z',
  };
}
