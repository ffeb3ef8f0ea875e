import type { HookApi, HookApiOptions, HookSpec, HookState, HookTarget } from '../hook-api';
import { type ApiClient, ApiError } from '../http';
import { errorForTarget, hookApiClient } from './core';

/*
 * Bitbucket Data Center (formerly Server) webhooks over the core REST API, per Atlassian's Data Center REST reference
 * (developer.atlassian.com/server/bitbucket/rest/, groups "Repository" and "Project": "Find webhooks", "Create
 * webhook", "Update webhook", "Delete webhook"; OpenAPI "Bitbucket Data Center" 9.2 as shipped in
 * coderabbitai/bitbucket src/server/openapi/swagger.v3.json):
 *
 * - API root `https://host` or `https://host/<context>`; every path here starts `/rest/api/latest`.
 * - Repository hooks (REPO_ADMIN): GET/POST `/projects/{projectKey}/repos/{repositorySlug}/webhooks`,
 *   PUT/DELETE `.../webhooks/{webhookId}` (DELETE answers 204). Project hooks (PROJECT_ADMIN; HookTarget kind
 *   `organization`, path = the project key): the same under `/projects/{projectKey}/webhooks`; a project hook "is
 *   inherited by all repositories in that project" (Atlassian "Manage webhooks").
 * - Body `RestWebhook`: `name`, `url`, `events` (`repo:refs_changed` for pushes), `active`, `configuration` (a
 *   free-form string map; the HMAC secret is `configuration.secret`), `sslVerificationRequired`, `credentials`
 *   (Basic auth towards the receiver; not used), `scopeType` (`repository` | `project`, read-only here), `statistics`.
 *   Responses add `id` (an integer), `createdDate`, `updatedDate`.
 * - The secret: not documented as write-only. argo-events (pkg/eventsources/sources/bitbucketserver/start.go,
 *   `shouldUpdateWebhook`) compares `configuration.secret` from GET with its own, so Data Center evidently returns it
 *   in clear; the same code notes that an empty `configuration.secret` makes Data Center answer 500. This client never
 *   reads it (HookState has no secret, and nothing here logs a response), always sends the whole configuration on
 *   create and update, and refuses an empty secret.
 * - `sslVerificationRequired: true` is sent every time, and a hook listed with `false` is drift ("TLS verification
 *   off"), so the next run updates it even when nothing else changed.
 * - Pagination: `{ values, isLastPage, nextPageStart }` with `?start=&limit=` (`limit` defaults to 25; the server may
 *   return fewer than asked).
 * - Rate limiting (admin-enabled token bucket) answers 429, honoured through `Retry-After` by the shared client.
 * - Auth: `Authorization: Bearer <HTTP access token>` (personal, project or repository token). A repository token with
 *   Repository admin suffices for repository hooks; project hooks need a project token (or personal token) with
 *   Project admin.
 *
 * Project keys and case. Data Center reports project keys upper-case (`project.key: "PROJ"`, personal `~USER`) while
 * clone URLs, and so the identity key path this client is given, are lower-case (`ssh://git@host:7999/proj/repo.git`,
 * `https://host/scm/proj/repo.git`). Git resolves those lower-case clone paths through the same repository lookup
 * the REST resources use, and the UI accepts any case (atlassianlabs/atlascode issue #796: `/projects/my-project/
 * repos/my-repo` works on 7.2), but Atlassian does not document the REST path parameters as case-insensitive. So
 * `repositoryPath` returns the canonical form, key upper-cased (`PROJ/repo`), which is right whether or not the
 * server compares case; and should a call still answer 404 (a key stored in another case), the client looks the
 * project up case-insensitively in `GET /projects` (and the slug in `GET /projects/{key}/repos`), retries once with
 * the server's spelling, and remembers it for the rest of the run. Slugs are kept as given (Data Center slugs are
 * lower-case). Personal repositories (`~user/repo`) work the same way as `~USER/repo`; the listing fallback does not
 * cover them (`GET /projects` leaves personal projects out).
 */

const provider = 'bitbucket-server';
const pushEvent = 'repo:refs_changed';
const apiRoot = '/rest/api/latest';
const pageLimit = 100;
/** A project key (`PROJ`, personal `~user`) or repository slug as it may appear in a URL. */
const keySegment = /^~?[A-Za-z0-9_][A-Za-z0-9._-]*$/;
const slugSegment = /^(?!\.{1,2}$)[A-Za-z0-9._-]+$/;
const webhookId = /^[0-9]+$/;

/** The fields of a `RestWebhook` this client reads. */
interface RestWebhook {
  id?: unknown;
  name?: unknown;
  url?: unknown;
  events?: unknown;
  active?: unknown;
  scopeType?: unknown;
  sslVerificationRequired?: unknown;
}

interface Place {
  key: string;
  slug?: string;
}

export function bitbucketServerHooks(options: HookApiOptions): HookApi {
  const client = hookApiClient(options, { authorization: `Bearer ${options.token}` });
  /** The API's segments of the server's context path, lower-cased: `https://host/bitbucket` gives ['bitbucket']. */
  const contextPath = new URL(options.apiUrl).pathname
    .toLowerCase()
    .split('/')
    .filter((part) => part !== '');
  /** Target (`kind:path`) to the server's own spelling, once a 404 made us look it up. */
  const resolved = new Map<string, Place>();

  async function forTarget<T>(target: HookTarget, call: (place: Place) => Promise<T>): Promise<T> {
    try {
      const cacheKey = `${target.kind}:${target.path}`;
      const known = resolved.get(cacheKey);
      if (known) return await call(known);
      const place = canonicalPlace(target);
      try {
        return await call(place);
      } catch (error) {
        if (!(error instanceof ApiError) || error.status !== 404) throw error;
        // A lookup that fails for its own reasons (say 403 on the project list) does not hide the 404.
        const found = await lookUp(client, place).catch((lookupError: unknown) => {
          if (lookupError instanceof ApiError) return undefined;
          throw lookupError;
        });
        resolved.set(cacheKey, found ?? place);
        if (!found || (found.key === place.key && found.slug === place.slug)) throw error;
        return await call(found);
      }
    } catch (error) {
      throw errorForTarget(`${provider} ${target.path}`, error);
    }
  }

  return {
    provider,
    relayEvents: [pushEvent],
    client,

    /**
     * `proj/repo` (SSH: Data Center SSH paths are exactly `<key>/<slug>`) or `[<context>/]scm/proj/repo` (HTTP, where
     * `<context>` must be the API root's context path), personal `~user/repo` in both, become `PROJ/repo`.
     */
    repositoryPath(keyPath: string): string | undefined {
      const parts = keyPath.split('/');
      let key: string | undefined;
      let slug: string | undefined;
      if (parts.length === 2) [key, slug] = parts;
      else if (
        parts.length === contextPath.length + 3 &&
        contextPath.every((part, i) => parts[i] === part) &&
        parts[contextPath.length] === 'scm'
      ) {
        [key, slug] = parts.slice(contextPath.length + 1);
      }
      if (!key || !slug || !keySegment.test(key) || !slugSegment.test(slug)) return undefined;
      return `${key.toUpperCase()}/${slug}`;
    },

    listHooks: (target) =>
      forTarget(target, async (place) => {
        const hooks = await client.list<RestWebhook>(hooksPath(place), 'bitbucket-server', { limit: pageLimit });
        // Defensive: a repository's list is not expected to show the inherited project hooks, which could not be
        // updated or deleted through the repository's path anyway.
        const scope = place.slug === undefined ? 'project' : 'repository';
        return hooks
          .filter((hook) => hook.scopeType === undefined || hook.scopeType === scope)
          .map((hook) => hookState(hook));
      }),

    createHook: (target, spec) =>
      forTarget(target, async (place) => {
        await client.request('POST', hooksPath(place), { body: hookBody(spec), secrets: [spec.secret] });
      }),

    updateHook: (target, id, spec) =>
      forTarget(target, async (place) => {
        await client.request('PUT', hookPath(place, id), { body: hookBody(spec), secrets: [spec.secret] });
      }),

    deleteHook: (target, id) =>
      forTarget(target, async (place) => {
        await client.request('DELETE', hookPath(place, id));
      }),
  };
}

/** `PROJ/repo` for a repository, `PROJ` for a project; the key upper-cased, the slug as given. */
function canonicalPlace(target: HookTarget): Place {
  const parts = target.path.split('/');
  if (target.kind === 'repository') {
    const [key, slug] = parts;
    if (parts.length !== 2 || !key || !slug || !keySegment.test(key) || !slugSegment.test(slug))
      throw new Error('a repository path must be PROJECT_KEY/repository-slug');
    return { key: key.toUpperCase(), slug };
  }
  const [key] = parts;
  if (parts.length !== 1 || !key || !keySegment.test(key))
    throw new Error('a project hook target must be a project key alone');
  return { key: key.toUpperCase() };
}

/** The project (and repository) as the server spells them, found case-insensitively; undefined if not visible. */
async function lookUp(client: ApiClient, place: Place): Promise<Place | undefined> {
  if (place.key.startsWith('~')) return undefined;
  const wanted = place.key.toUpperCase();
  const projects = await client.list<{ key?: unknown }>(`${apiRoot}/projects`, 'bitbucket-server', {
    limit: pageLimit,
  });
  const key = projects
    .map((project) => project.key)
    .find((k): k is string => typeof k === 'string' && k.toUpperCase() === wanted);
  if (key === undefined) return undefined;
  if (place.slug === undefined) return { key };
  const wantedSlug = place.slug.toLowerCase();
  const repos = await client.list<{ slug?: unknown }>(
    `${apiRoot}/projects/${encodeURIComponent(key)}/repos`,
    'bitbucket-server',
    { limit: pageLimit },
  );
  const slug = repos
    .map((repo) => repo.slug)
    .find((s): s is string => typeof s === 'string' && s.toLowerCase() === wantedSlug);
  return slug === undefined ? undefined : { key, slug };
}

function hooksPath(place: Place): string {
  const project = `${apiRoot}/projects/${encodeURIComponent(place.key)}`;
  return place.slug === undefined
    ? `${project}/webhooks`
    : `${project}/repos/${encodeURIComponent(place.slug)}/webhooks`;
}

function hookPath(place: Place, id: string): string {
  if (!webhookId.test(id)) throw new Error(`hook id ${JSON.stringify(id)} is not a webhook id`);
  return `${hooksPath(place)}/${id}`;
}

function hookBody(spec: HookSpec): Record<string, unknown> {
  if (spec.secret === '')
    throw new Error('refusing to send an empty secret: the hook would sign nothing (and Data Center answers 500)');
  return {
    name: spec.name,
    url: spec.url,
    active: true,
    events: [...spec.events].sort(),
    configuration: { secret: spec.secret },
    sslVerificationRequired: true,
  };
}

function hookState(hook: RestWebhook): HookState {
  if (typeof hook.id !== 'number' || typeof hook.url !== 'string')
    throw new Error('the hook list holds a hook without id or url');
  const events = Array.isArray(hook.events)
    ? hook.events.filter((event): event is string => typeof event === 'string').sort()
    : [];
  const state: HookState = { id: String(hook.id), url: hook.url, events, active: hook.active === true };
  if (typeof hook.name === 'string') state.name = hook.name;
  // Unverified TLS: anyone on the path can read the signed deliveries, or answer them in the relay's place.
  if (hook.sslVerificationRequired === false) state.drift = ['TLS verification off'];
  return state;
}
