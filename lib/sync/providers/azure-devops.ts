/**
 * Azure DevOps service hooks: subscriptions of the Web Hooks consumer to the `git.push` event, over the Subscriptions
 * REST API (https://learn.microsoft.com/en-us/rest/api/azure/devops/hooks/subscriptions?view=azure-devops-rest-7.1) and
 * "Create a service hook subscription programmatically"
 * (https://learn.microsoft.com/en-us/azure/devops/service-hooks/create-subscription). The registration's `apiUrl` is
 * the organization (`https://dev.azure.com/<organization>`, or a collection of Azure DevOps Server); repositories are
 * `project/repo`, and `organizations` are projects (one subscription for every repository of the project).
 *
 * The traps, and what this client does about them:
 * - A subscription is not under its repository: the list is the organization's (`GET _apis/hooks/subscriptions`,
 *   filtered by publisher, event and consumer; no paging), and a subscription names its project and repository by id
 *   in `publisherInputs` (`projectId`, `repository`; an empty `repository` is every repository of the project). So
 *   the client resolves names to ids once per run (Git Repositories - Get, Projects - Get) and lists the
 *   organization's subscriptions once per run, listing again only after it changed one.
 * - The relay's `azure-devops` receiver authenticates deliveries with HTTP Basic: its secret is `user:password`, sent
 *   as `consumerInputs.basicAuthUsername`/`basicAuthPassword`. Azure DevOps never returns the password (it answers
 *   `********`), so secret rotation is seen from the version marker in the URL, as for every provider, and every
 *   update is a PUT of the whole subscription with the password (a replace).
 * - `status`: `enabled`, or `onProbation` after failed deliveries, then `disabledBySystem` when probation fails; also
 *   `disabledByUser`, `disabledByInactiveIdentity`. Any of them stops deliveries: reported as inactive with the status
 *   as drift, and the update writes `status: enabled`.
 * - `resourceDetailsToSend` must be `all`: with less, the payload lacks the repository and refs the relay routes by.
 *   A branch or pusher filter (`publisherInputs.branch`, `pushedBy`) silently drops pushes: drift, cleared by the update.
 * - Every call needs `api-version` (7.1 here); the token is a personal access token sent as Basic with an empty user
 *   ("Use personal access tokens", https://learn.microsoft.com/en-us/azure/devops/organizations/accounts/use-personal-access-tokens-to-authenticate),
 *   with the scope "Service Hooks (Read, write)" (`vso.hooks_write`) and "Code (Read)" (`vso.code`) for the ids.
 */
import { withoutTrailingSlashes } from '../../http/trailing-slashes';
import type { HookApi, HookApiOptions, HookSpec, HookState, HookTarget } from '../hook-api';
import { ApiError } from '../http';
import { forTarget as labelled, hookApiClient } from './core';

const apiVersion = '7.1';
const identity = {
  publisherId: 'tfs',
  eventType: 'git.push',
  consumerId: 'webHooks',
  consumerActionId: 'httpRequest',
} as const;
const subscriptionsPath = '/_apis/hooks/subscriptions';
/** A project or repository name as a path segment: Azure DevOps names may hold spaces, never these. */
const SEGMENT = /^(?!\.\.?$)[^/?#%\\\t\r\n]+$/;
const GUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** The fields of a Subscription this client reads. */
interface Subscription {
  id: string;
  status?: string;
  publisherId?: string;
  eventType?: string;
  consumerId?: string;
  consumerActionId?: string;
  publisherInputs?: Record<string, unknown>;
  consumerInputs?: Record<string, unknown>;
}

/** Where a target's subscriptions point: its project, and its repository (none for a project-wide one). */
interface Scope {
  projectId: string;
  repositoryId: string;
}

export function azureDevOpsHooks(options: HookApiOptions): HookApi {
  const client = hookApiClient(options, {
    authorization: `Basic ${Buffer.from(`:${options.token}`).toString('base64')}`,
  });
  const forTarget = <T>(target: HookTarget, call: () => Promise<T>): Promise<T> =>
    labelled(`azure-devops ${target.path}`, call);
  // The organization (or collection) path of the API URL, lower-cased like identity keys: `acme`, `tfs/defaultcollection`.
  const organizationPath = withoutTrailingSlashes(new URL(options.apiUrl).pathname).replace(/^\/+/, '').toLowerCase();
  const scopes = new Map<string, Promise<Scope>>();
  let subscriptions: Promise<Subscription[]> | undefined;
  const query = (extra: Record<string, string> = {}) => ({ 'api-version': apiVersion, ...extra });

  function scopeOf(target: HookTarget): Promise<Scope> {
    const key = `${target.kind}:${target.path.toLowerCase()}`;
    let scope = scopes.get(key);
    if (!scope) {
      scope = resolve(target);
      // A failure is not remembered: the next target (or run) asks again.
      scope.catch(() => scopes.delete(key));
      scopes.set(key, scope);
    }
    return scope;
  }

  async function resolve(target: HookTarget): Promise<Scope> {
    const segments = target.path.split('/');
    if (target.kind === 'repository') {
      if (segments.length !== 2 || !segments.every((s) => SEGMENT.test(s)))
        throw new Error(`"${target.path}" is not a project/repository path`);
      const [project, repo] = segments.map(encodeURIComponent);
      const path = `/${project}/_apis/git/repositories/${repo}`;
      const { body, status } = await client.request<{ id?: unknown; project?: { id?: unknown } }>('GET', path, {
        query: query(),
      });
      if (!isGuid(body?.id) || !isGuid(body?.project?.id))
        throw new ApiError('GET', path, status, 'unexpected repository object');
      return { projectId: body.project.id.toLowerCase(), repositoryId: body.id.toLowerCase() };
    }
    if (segments.length !== 1 || !SEGMENT.test(target.path)) throw new Error(`"${target.path}" is not a project name`);
    const path = `/_apis/projects/${encodeURIComponent(target.path)}`;
    const { body, status } = await client.request<{ id?: unknown }>('GET', path, { query: query() });
    if (!isGuid(body?.id)) throw new ApiError('GET', path, status, 'unexpected project object');
    return { projectId: body.id.toLowerCase(), repositoryId: '' };
  }

  /** The organization's git.push Web Hooks subscriptions, listed once until a write changes them. */
  function all(): Promise<Subscription[]> {
    if (!subscriptions) {
      subscriptions = listAll();
      subscriptions.catch(() => (subscriptions = undefined));
    }
    return subscriptions;
  }

  async function listAll(): Promise<Subscription[]> {
    const response = await client.request<{ value?: unknown }>('GET', subscriptionsPath, { query: query(identity) });
    const value = response.body?.value;
    if (!Array.isArray(value))
      throw new ApiError('GET', subscriptionsPath, response.status, 'expected {count, value: [subscriptions]}');
    return value.map((raw) => {
      const s = raw as Partial<Subscription> | null;
      if (typeof s?.id !== 'string' || !GUID.test(s.id))
        throw new ApiError('GET', subscriptionsPath, response.status, 'unexpected subscription object');
      return s as Subscription;
    });
  }

  function body(spec: HookSpec, scope: Scope): Record<string, unknown> {
    const colon = spec.secret.indexOf(':');
    // The receiver's secret is `user:password` (lib/providers/azure-devops.ts); anything else cannot authenticate.
    if (colon <= 0) throw new Error('the azure-devops receiver secret must be user:password');
    return {
      ...identity,
      resourceVersion: '1.0',
      publisherInputs: { projectId: scope.projectId, repository: scope.repositoryId, branch: '', pushedBy: '' },
      consumerInputs: {
        url: spec.url,
        basicAuthUsername: spec.secret.slice(0, colon),
        basicAuthPassword: spec.secret.slice(colon + 1),
        resourceDetailsToSend: 'all',
        messagesToSend: 'none',
        detailedMessagesToSend: 'none',
      },
    };
  }

  return {
    provider: 'azure-devops',
    relayEvents: [identity.eventType],
    client,

    repositoryPath(keyPath) {
      // The identity key of `https://dev.azure.com/<org>/<project>/_git/<repo>` (and its SSH and visualstudio.com
      // forms, lib/matching/repo-url.ts) has the path `<org>/<project>/_git/<repo>`.
      if (!keyPath.startsWith(`${organizationPath}/`)) return undefined;
      const rest = keyPath.slice(organizationPath.length + 1).split('/');
      if (rest.length !== 3 || rest[1] !== '_git' || !SEGMENT.test(rest[0]!) || !SEGMENT.test(rest[2]!))
        return undefined;
      return `${rest[0]}/${rest[2]}`;
    },

    listHooks(target) {
      return forTarget(target, async () => {
        const scope = await scopeOf(target);
        return (await all()).filter((s) => pointsAt(s, scope)).map(toState);
      });
    },

    createHook(target, spec) {
      return forTarget(target, async () => {
        const scope = await scopeOf(target);
        subscriptions = undefined;
        await client.request('POST', subscriptionsPath, {
          query: query(),
          body: body(spec, scope),
          secrets: [spec.secret],
        });
      });
    },

    updateHook(target, id, spec) {
      return forTarget(target, async () => {
        const scope = await scopeOf(target);
        subscriptions = undefined;
        await client.request('PUT', subscriptionPath(id), {
          query: query(),
          body: { id, ...body(spec, scope), status: 'enabled' },
          secrets: [spec.secret],
        });
      });
    },

    deleteHook(target, id) {
      return forTarget(target, async () => {
        subscriptions = undefined;
        await client.request('DELETE', subscriptionPath(id), { query: query() });
      });
    },
  };
}

function isGuid(value: unknown): value is string {
  return typeof value === 'string' && GUID.test(value);
}

function subscriptionPath(id: string): string {
  if (!GUID.test(id)) throw new Error(`subscription id "${id}" is not an Azure DevOps subscription id`);
  return `${subscriptionsPath}/${id}`;
}

/** A git.push Web Hooks subscription of exactly this project and repository (or project-wide for a project target). */
function pointsAt(s: Subscription, scope: Scope): boolean {
  const inputs = s.publisherInputs ?? {};
  const text = (v: unknown) => (typeof v === 'string' ? v.toLowerCase() : '');
  return (
    s.publisherId === identity.publisherId &&
    s.eventType === identity.eventType &&
    s.consumerId === identity.consumerId &&
    s.consumerActionId === identity.consumerActionId &&
    text(inputs.projectId) === scope.projectId &&
    text(inputs.repository) === scope.repositoryId
  );
}

function toState(s: Subscription): HookState {
  const consumer = s.consumerInputs ?? {};
  const publisher = s.publisherInputs ?? {};
  const status = s.status ?? '';
  const drift: string[] = [];
  if (status !== 'enabled') drift.push(`status ${status || '(none)'} → enabled`);
  if (consumer.resourceDetailsToSend !== 'all')
    drift.push(`resourceDetailsToSend ${String(consumer.resourceDetailsToSend ?? '(none)')} → all`);
  for (const filter of ['branch', 'pushedBy'] as const)
    if (typeof publisher[filter] === 'string' && publisher[filter] !== '')
      drift.push(`${filter} filter ${String(publisher[filter])} → none`);
  if (consumer.acceptUntrustedCerts === 'true') drift.push('untrusted certificates accepted → refused');
  const state: HookState = {
    id: s.id,
    url: typeof consumer.url === 'string' ? consumer.url : '',
    events: typeof s.eventType === 'string' ? [s.eventType] : [],
    active: status === 'enabled',
  };
  if (drift.length > 0) state.drift = drift;
  return state;
}
