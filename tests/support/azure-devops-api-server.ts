/**
 * A strict, in-memory Azure DevOps organization on 127.0.0.1 for tests: service hook subscriptions, and the project and
 * repository lookups a client needs for their ids.
 *
 * Modelled on the REST reference (api-version 7.1): Subscriptions - List/Create/Get/Replace Subscription/Delete
 * (https://learn.microsoft.com/en-us/rest/api/azure/devops/hooks/subscriptions?view=azure-devops-rest-7.1), Git
 * Repositories - Get (https://learn.microsoft.com/en-us/rest/api/azure/devops/git/repositories/get-repository) and
 * Projects - Get (https://learn.microsoft.com/en-us/rest/api/azure/devops/core/projects/get):
 * - Auth: a personal access token as Basic with any user name (`base64(":" + PAT)`); none or another is a 401 with a
 *   sign-in page (HTML), as Azure DevOps answers an unauthenticated REST call.
 * - `api-version` is required on every call (400 `VssVersionNotSpecifiedException` without it); writes need
 *   `Content-Type: application/json` (415 otherwise). Errors are JSON `{ "$id", "message", "typeKey", ... }`.
 * - Routes under `/<organization>`: `GET|POST _apis/hooks/subscriptions` (the list filtered by `publisherId`,
 *   `eventType`, `consumerId`, `consumerActionId`; `{count, value}`, no paging), `GET|PUT|DELETE
 *   _apis/hooks/subscriptions/{id}`, `GET <project>/_apis/git/repositories/<repo>`, `GET _apis/projects/<project>`;
 *   names compare case-insensitively, ids are GUIDs.
 * - Create/replace check what the service checks for a Web Hooks `git.push` subscription: the publisher, event and
 *   consumer ids, `publisherInputs.projectId` an existing project and `repository` one of its repositories or empty,
 *   `consumerInputs.url` an absolute URL, and Basic credentials only with an https URL. `basicAuthPassword` is stored
 *   and answered as `********`; a replace that sends `********` keeps the stored one. New subscriptions are `enabled`;
 *   a replace takes the `status` it is given.
 * - Every exchange on the subscription endpoints is checked against Microsoft's own description of them
 *   (tests/fixtures/azure-devops-openapi); disagreements are collected in `violations`.
 */
import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { listenOnLoopback } from '../../dev/loopback';
import { ApiDescription } from './api-description';
import { closeServer, readBoundedBody } from './http-body';
import { registerTestSecret } from './log-scan';

export interface StoredSubscription {
  id: string;
  status: string;
  publisherId: string;
  eventType: string;
  resourceVersion: string;
  consumerId: string;
  consumerActionId: string;
  publisherInputs: Record<string, string>;
  /** With the real password. */
  consumerInputs: Record<string, string>;
  modifiedDate: string;
}

export interface AzureRequest {
  method: string;
  path: string;
  query: Record<string, string>;
  body?: unknown;
  status?: number;
}

export interface AzureFault {
  match: (req: AzureRequest) => boolean;
  status: number;
  contentType: string;
  body: string;
}

const mask = '********';
const statuses = ['enabled', 'onProbation', 'disabledByUser', 'disabledBySystem', 'disabledByInactiveIdentity'];

class HttpError extends Error {
  constructor(
    readonly status: number,
    readonly typeKey: string,
    message: string,
  ) {
    super(message);
  }
}

/** Microsoft's description of the subscription endpoints (tests/fixtures/azure-devops-openapi/SOURCE.md). */
const description = ApiDescription.load('azure-devops-openapi');

export class AzureDevOpsApiTestServer {
  readonly requests: AzureRequest[] = [];
  /** Where a request body the server took, or an answer it gave, disagrees with the description; tests assert []. */
  readonly violations: string[] = [];
  fault?: AzureFault;
  private readonly tokens = new Set<string>();
  private readonly projects = new Map<
    string,
    { id: string; name: string; repos: Map<string, { id: string; name: string }> }
  >();
  private readonly subscriptions = new Map<string, StoredSubscription>();

  private constructor(
    private readonly server: Server,
    readonly origin: string,
    readonly organization: string,
  ) {}

  /** The organization's URL, what a registration's `apiUrl` names. */
  get apiUrl(): string {
    return `${this.origin}/${this.organization}`;
  }

  static async start(organization = 'acme'): Promise<AzureDevOpsApiTestServer> {
    const holder: { instance?: AzureDevOpsApiTestServer } = {};
    const server = createServer((req, res) => void holder.instance?.handle(req, res));
    const port = await listenOnLoopback(server);
    holder.instance = new AzureDevOpsApiTestServer(server, `http://127.0.0.1:${port}`, organization);
    return holder.instance;
  }

  close(): Promise<void> {
    return closeServer(this.server);
  }

  addToken(pat: string): void {
    registerTestSecret(pat, 'azure-devops-api-server PAT');
    this.tokens.add(pat);
  }

  /** A repository `project/repo` (the project made when missing); returns the ids. */
  addRepository(path: string): { projectId: string; repositoryId: string } {
    const [projectName, repoName] = path.split('/') as [string, string];
    let project = this.projects.get(projectName.toLowerCase());
    if (!project) {
      project = { id: randomUUID(), name: projectName, repos: new Map() };
      this.projects.set(projectName.toLowerCase(), project);
    }
    let repo = project.repos.get(repoName.toLowerCase());
    if (!repo) {
      repo = { id: randomUUID(), name: repoName };
      project.repos.set(repoName.toLowerCase(), repo);
    }
    return { projectId: project.id, repositoryId: repo.id };
  }

  /** A subscription someone else made (or one a test changes later); returns its id. */
  addSubscription(seed: Partial<Omit<StoredSubscription, 'id'>> & { publisherInputs: Record<string, string> }): string {
    const id = randomUUID();
    this.subscriptions.set(id, {
      id,
      status: 'enabled',
      publisherId: 'tfs',
      eventType: 'git.push',
      resourceVersion: '1.0',
      consumerId: 'webHooks',
      consumerActionId: 'httpRequest',
      consumerInputs: { url: 'https://ci.example/hook' },
      modifiedDate: new Date().toISOString(),
      ...seed,
    });
    return id;
  }

  /** Every stored subscription, passwords in clear. */
  stored(): StoredSubscription[] {
    return [...this.subscriptions.values()].map((s) => structuredClone(s));
  }

  /** What Azure DevOps does after failed deliveries (`onProbation`, then `disabledBySystem`), or a user in the portal. */
  setStatus(id: string, status: string): void {
    this.subscriptions.get(id)!.status = status;
  }

  /** A change made in the portal (a branch filter, another URL, less resource detail). */
  edit(id: string, change: (s: StoredSubscription) => void): void {
    change(this.subscriptions.get(id)!);
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', this.origin);
    const record: AzureRequest = {
      method: req.method ?? 'GET',
      path: url.pathname,
      query: Object.fromEntries(url.searchParams),
    };
    this.requests.push(record);
    // An injected fault is what the service would not answer: not checked against its description.
    const send = (status: number, body: unknown, contentType = 'application/json; charset=utf-8', fault = false) => {
      record.status = status;
      if (contentType.startsWith('application/json') && !fault)
        this.violations.push(
          ...description.check({
            method: record.method,
            path: url.pathname,
            ...(typeof record.body === 'object' ? { requestBody: record.body } : {}),
            status,
            ...(body !== undefined ? { responseBody: body } : {}),
          }),
        );
      res.writeHead(status, { 'content-type': contentType });
      res.end(body === undefined ? '' : typeof body === 'string' ? body : JSON.stringify(body));
    };
    try {
      const text = await readBoundedBody(req, 1024 * 1024, () => new HttpError(413, 'RequestTooLarge', 'too large'));
      if (text !== '') {
        try {
          record.body = JSON.parse(text) as unknown;
        } catch {
          record.body = text;
        }
      }
      if (this.fault?.match(record)) return send(this.fault.status, this.fault.body, this.fault.contentType, true);
      const auth = req.headers.authorization ?? '';
      const basic = /^Basic (.+)$/i.exec(auth);
      const pat = basic
        ? Buffer.from(basic[1]!, 'base64')
            .toString('utf8')
            .replace(/^[^:]*:/, '')
        : undefined;
      if (!pat || !this.tokens.has(pat))
        return send(401, '<html><head><title>Azure DevOps Services | Sign In</title></head></html>', 'text/html');
      if (!url.searchParams.get('api-version'))
        throw new HttpError(
          400,
          'VssVersionNotSpecifiedException',
          `No api-version was supplied for the "${record.method}" request. The version must be supplied either as part of the Accept header (e.g. "application/json; api-version=1.0") or as a query parameter (e.g. '?api-version=1.0').`,
        );
      if (
        ['POST', 'PUT', 'PATCH'].includes(record.method) &&
        !/^application\/json\b/i.test(req.headers['content-type'] ?? '')
      )
        throw new HttpError(415, 'UnsupportedMediaType', 'The request content type is not supported.');
      const answer = this.route(record, url);
      send(answer.status, answer.body);
    } catch (error) {
      if (!(error instanceof HttpError)) throw error;
      send(error.status, {
        $id: '1',
        innerException: null,
        message: error.message,
        typeName: `Microsoft.VisualStudio.Services.${error.typeKey}, Microsoft.VisualStudio.Services.Common`,
        typeKey: error.typeKey,
        errorCode: 0,
        eventId: 3000,
      });
    }
  }

  private route(req: AzureRequest, url: URL): { status: number; body?: unknown } {
    const segments = url.pathname.split('/').filter(Boolean).map(decodeURIComponent);
    if (segments[0]?.toLowerCase() !== this.organization)
      throw new HttpError(404, 'NotFound', 'organization not found');
    const rest = segments.slice(1);
    const m = req.method;
    if (rest[0] === '_apis' && rest[1] === 'hooks' && rest[2] === 'subscriptions') {
      if (rest.length === 3 && m === 'GET') {
        const filters = ['publisherId', 'eventType', 'consumerId', 'consumerActionId'] as const;
        const value = [...this.subscriptions.values()]
          .filter((s) => filters.every((f) => !req.query[f] || s[f] === req.query[f]))
          .map(present);
        return { status: 200, body: { count: value.length, value } };
      }
      if (rest.length === 3 && m === 'POST') {
        const created = this.validated(req.body, undefined);
        this.subscriptions.set(created.id, created);
        return { status: 200, body: present(created) };
      }
      if (rest.length === 4) {
        const existing = this.subscriptions.get(rest[3]!.toLowerCase());
        if (!existing)
          throw new HttpError(404, 'SubscriptionNotFoundException', `Subscription ${rest[3]} could not be found.`);
        if (m === 'GET') return { status: 200, body: present(existing) };
        if (m === 'PUT') {
          const replaced = this.validated(req.body, existing);
          this.subscriptions.set(existing.id, replaced);
          return { status: 200, body: present(replaced) };
        }
        if (m === 'DELETE') {
          // 200 without a body, as the description documents it.
          this.subscriptions.delete(existing.id);
          return { status: 200 };
        }
      }
    }
    if (rest.length === 3 && rest[0] === '_apis' && rest[1] === 'projects' && m === 'GET') {
      const project = this.projects.get(rest[2]!.toLowerCase());
      if (!project)
        throw new HttpError(
          404,
          'ProjectDoesNotExistWithNameException',
          `TF200016: The following project does not exist: ${rest[2]}.`,
        );
      return { status: 200, body: { id: project.id, name: project.name, state: 'wellFormed' } };
    }
    if (rest.length === 5 && rest[1] === '_apis' && rest[2] === 'git' && rest[3] === 'repositories' && m === 'GET') {
      const project = this.projects.get(rest[0]!.toLowerCase());
      const repo = project?.repos.get(rest[4]!.toLowerCase());
      if (!project || !repo)
        throw new HttpError(
          404,
          'GitRepositoryNotFoundException',
          `TF401019: The Git repository with name or identifier ${rest[4]} does not exist or you do not have permissions for the operation you are attempting.`,
        );
      return {
        status: 200,
        body: {
          id: repo.id,
          name: repo.name,
          project: { id: project.id, name: project.name },
          defaultBranch: 'refs/heads/main',
        },
      };
    }
    throw new HttpError(404, 'RouteNotFound', `no route for ${m} ${url.pathname}`);
  }

  /** The subscription a create or replace body describes, or the 400 the service answers. */
  private validated(body: unknown, existing: StoredSubscription | undefined): StoredSubscription {
    const b = (body ?? {}) as Record<string, unknown>;
    const bad = (message: string) => new HttpError(400, 'InvalidSubscriptionException', message);
    for (const [field, value] of [
      ['publisherId', 'tfs'],
      ['eventType', 'git.push'],
      ['consumerId', 'webHooks'],
      ['consumerActionId', 'httpRequest'],
    ] as const)
      if (b[field] !== value) throw bad(`${field} must be ${value} here, not ${JSON.stringify(b[field])}`);
    const publisherInputs = stringRecord(b.publisherInputs, 'publisherInputs', bad);
    const consumerInputs = stringRecord(b.consumerInputs, 'consumerInputs', bad);
    const project = [...this.projects.values()].find((p) => p.id === publisherInputs.projectId?.toLowerCase());
    if (!project) throw bad(`publisherInputs.projectId ${publisherInputs.projectId} is not a project`);
    const repository = publisherInputs.repository ?? '';
    if (repository !== '' && ![...project.repos.values()].some((r) => r.id === repository.toLowerCase()))
      throw bad(`publisherInputs.repository ${repository} is not a repository of the project`);
    if (!consumerInputs.url || !URL.canParse(consumerInputs.url))
      throw bad('consumerInputs.url must be an absolute URL');
    if (
      (consumerInputs.basicAuthUsername || consumerInputs.basicAuthPassword) &&
      !consumerInputs.url.startsWith('https:')
    )
      throw bad('Basic authentication requires an https URL');
    if (consumerInputs.basicAuthPassword === mask) {
      if (existing?.consumerInputs.basicAuthPassword === undefined) throw bad('basicAuthPassword is required');
      consumerInputs.basicAuthPassword = existing.consumerInputs.basicAuthPassword;
    }
    if (consumerInputs.basicAuthPassword) registerTestSecret(consumerInputs.basicAuthPassword, 'azure hook password');
    const status = existing ? (typeof b.status === 'string' ? b.status : existing.status) : 'enabled';
    if (!statuses.includes(status)) throw bad(`status ${status} is not a subscription status`);
    return {
      id: existing?.id ?? randomUUID(),
      status,
      publisherId: 'tfs',
      eventType: 'git.push',
      resourceVersion: typeof b.resourceVersion === 'string' ? b.resourceVersion : '1.0',
      consumerId: 'webHooks',
      consumerActionId: 'httpRequest',
      publisherInputs: { ...publisherInputs, projectId: project.id },
      consumerInputs,
      modifiedDate: new Date().toISOString(),
    };
  }
}

function stringRecord(value: unknown, name: string, bad: (m: string) => Error): Record<string, string> {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) throw bad(`${name} must be an object`);
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(value)) {
    if (typeof v !== 'string') throw bad(`${name}.${k} must be a string`);
    out[k] = v;
  }
  return out;
}

/** As the service answers a subscription: the password masked. */
function present(s: StoredSubscription): Record<string, unknown> {
  const consumerInputs = { ...s.consumerInputs };
  if (consumerInputs.basicAuthPassword !== undefined) consumerInputs.basicAuthPassword = mask;
  return { ...s, consumerInputs, url: `https://dev.azure.com/_apis/hooks/subscriptions/${s.id}` };
}
