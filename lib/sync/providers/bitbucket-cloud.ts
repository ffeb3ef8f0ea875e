import type { HookApi, HookApiOptions, HookSpec, HookState, HookTarget } from '../hook-api';
import { forTarget as labelled, hookApiClient } from './core';

/*
 * Bitbucket Cloud webhooks over REST 2.0 (API root `https://api.bitbucket.org/2.0`), per Atlassian's reference
 * (developer.atlassian.com/cloud/bitbucket/rest/api-group-repositories/ "Create a webhook for a repository" ...,
 * api-group-workspaces/ "Create a webhook for a workspace" ...):
 *
 * - Repository hooks: GET/POST `/repositories/{workspace}/{repo_slug}/hooks`, PUT/DELETE `.../hooks/{uid}`.
 *   Workspace hooks (HookTarget kind `organization`, path = the workspace ID): the same under
 *   `/workspaces/{workspace}/hooks`. "Workspace webhooks are fired for events from all repositories contained by that
 *   workspace"; "only owners can install webhooks on workspaces". Atlassian's KB "How to create workspace-level
 *   Webhooks" (support.atlassian.com/bitbucket-cloud/kb/how-to-create-workspace-level-webhooks) shows the POST with
 *   `Authorization: Bearer <access_token>`, so a workspace access token can create them; a repository access token
 *   gets 403 and the error says so (naming the workspace).
 * - `{uid}` is the hook's `uuid` including its braces (`{0b1c...}`), URL-encoded in the path.
 * - Body `webhook_subscription`: `description`, `url`, `active`, `events`, `secret`. The secret "is never returned
 *   via the API"; responses carry `secret_set: boolean` instead. On PUT, "leaving out the secret field ... will leave
 *   the secret unchanged", `null` or `""` removes it. This client always sends the secret (create and update), so a
 *   hook never keeps a secret the relay no longer has, and refuses an empty one (that would remove signing). A hook
 *   listed with `secret_set: false` is drift ("no secret set"), so the next run's update puts the secret back.
 *   Bitbucket Cloud refuses a secret over 128 characters (400; a cap the OpenAPI description does not state): such a
 *   secret is refused here, and by the run before any call (`maxSecretLength`), instead of failing every run.
 * - Pagination: `{ values, next }` where `next` is an absolute URL to follow as given. `pagelen` defaults to 10; "100
 *   being the maximum allowed value. Individual APIs may enforce different values" (the `paginated_*` schemas);
 *   /pullrequests is known to cap at 50 and the hooks reference names no cap, so 50 is asked for: it can never be
 *   refused as too high, and a repository has one or two hooks, so it costs no extra call.
 * - Rate limits: 429 with no documented `Retry-After` (an hour's window); the shared client does not retry it
 *   (`RateLimited`), and the run leaves the remaining targets to the next scheduled run.
 *
 * Authentication. Repository, project and workspace access tokens, and OAuth tokens, are sent as
 * `Authorization: Bearer <token>` (Atlassian "Access tokens"). A token of the form `user:secret` is sent as HTTP Basic:
 * that is how Atlassian user API tokens are used (`<atlassian-account-email>:<api-token>`) and how app passwords were
 * (`<username>:<app-password>`; deprecated, none can be created since 2025-09-09 and they stop working 2026-06-09,
 * provider-hook-apis.md §3.2). Access tokens themselves never contain a colon. Prefer a repository access token (one
 * repository, scope `webhook`) or a workspace access token (Premium; needed for workspace hooks): neither is tied to a
 * person. Creating a hook needs the `webhook` scope plus the scope of the subscribed events (`repository` for
 * `repo:push`).
 */

const provider = 'bitbucket-cloud';
const pushEvent = 'repo:push';
const pagelen = 50;
/** Bitbucket Cloud refuses a longer hook secret (400), so a longer configured secret could never be registered. */
const secretMaxLength = 128;
/** Workspace IDs and repository slugs: URL-safe, and never `.`/`..`. */
const segment = /^(?!\.{1,2}$)[A-Za-z0-9._-]+$/;
const hookUuid = /^\{[0-9A-Fa-f]{8}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{12}\}$/;

/** The fields of a `webhook_subscription` this client reads; everything else is ignored. */
interface WebhookSubscription {
  uuid?: unknown;
  url?: unknown;
  description?: unknown;
  active?: unknown;
  events?: unknown;
  subject_type?: unknown;
  /** Whether the hook has a secret (the secret itself is never returned). */
  secret_set?: unknown;
}

export function bitbucketCloudHooks(options: HookApiOptions): HookApi {
  const authorization = authorizationHeader(options.token);
  // A `user:secret` token: its secret part and the Basic credential made of it are as secret as the whole.
  const client = hookApiClient(
    options,
    { authorization },
    {
      secrets: [
        options.token.slice(options.token.indexOf(':') + 1),
        authorization.slice(authorization.indexOf(' ') + 1),
      ],
    },
  );

  /** Runs one call for a target; failures name the provider and target. */
  const forTarget = <T>(target: HookTarget, call: () => Promise<T>): Promise<T> =>
    labelled(`${provider} ${target.path}`, call);

  return {
    provider,
    relayEvents: [pushEvent],
    maxSecretLength: secretMaxLength,
    client,

    repositoryPath(keyPath: string): string | undefined {
      const parts = keyPath.split('/');
      if (parts.length !== 2 || !parts.every((part) => segment.test(part))) return undefined;
      return `${parts[0]}/${parts[1]}`;
    },

    listHooks: (target) =>
      forTarget(target, async () => {
        const { path, subjectType } = hooksPath(target);
        const hooks = await client.list<WebhookSubscription>(path, 'bitbucket-cloud', { pagelen });
        // Defensive: a repository's list holds only its own hooks, a workspace's only the workspace's.
        return hooks
          .filter((hook) => hook.subject_type === undefined || hook.subject_type === subjectType)
          .map((hook) => hookState(hook));
      }),

    createHook: (target, spec) =>
      forTarget(target, async () => {
        await client.request('POST', hooksPath(target).path, { body: hookBody(spec), secrets: [spec.secret] });
      }),

    updateHook: (target, id, spec) =>
      forTarget(target, async () => {
        await client.request('PUT', hookPath(target, id), { body: hookBody(spec), secrets: [spec.secret] });
      }),

    deleteHook: (target, id) =>
      forTarget(target, async () => {
        await client.request('DELETE', hookPath(target, id));
      }),
  };
}

function authorizationHeader(token: string): string {
  return token.includes(':') ? `Basic ${Buffer.from(token, 'utf8').toString('base64')}` : `Bearer ${token}`;
}

function hooksPath(target: HookTarget): { path: string; subjectType: 'repository' | 'workspace' } {
  const parts = target.path.split('/');
  if (!parts.every((part) => segment.test(part)))
    throw new Error(`not a Bitbucket Cloud ${target.kind === 'organization' ? 'workspace' : 'repository'} path`);
  if (target.kind === 'repository') {
    if (parts.length !== 2) throw new Error('a repository path must be exactly workspace/repo_slug');
    return {
      path: `/repositories/${encodeURIComponent(parts[0]!)}/${encodeURIComponent(parts[1]!)}/hooks`,
      subjectType: 'repository',
    };
  }
  if (parts.length !== 1) throw new Error('a workspace hook target must be a workspace ID alone');
  return { path: `/workspaces/${encodeURIComponent(parts[0]!)}/hooks`, subjectType: 'workspace' };
}

function hookPath(target: HookTarget, id: string): string {
  if (!hookUuid.test(id)) throw new Error(`hook id ${JSON.stringify(id)} is not a {uuid}`);
  return `${hooksPath(target).path}/${encodeURIComponent(id)}`;
}

function hookBody(spec: HookSpec): Record<string, unknown> {
  if (spec.secret === '')
    throw new Error('refusing to send an empty secret: Bitbucket Cloud would remove the hook secret and sign nothing');
  const length = [...spec.secret].length;
  if (length > secretMaxLength)
    throw new Error(`the webhook secret is ${length} characters; Bitbucket Cloud takes at most ${secretMaxLength}`);
  return { description: spec.name, url: spec.url, active: true, events: [...spec.events].sort(), secret: spec.secret };
}

function hookState(hook: WebhookSubscription): HookState {
  if (typeof hook.uuid !== 'string' || typeof hook.url !== 'string')
    throw new Error('the hook list holds a hook without uuid or url');
  const events = Array.isArray(hook.events)
    ? hook.events.filter((event): event is string => typeof event === 'string').sort()
    : [];
  const state: HookState = { id: hook.uuid, url: hook.url, events, active: hook.active === true };
  if (typeof hook.description === 'string') state.name = hook.description;
  // `webhook_subscription.secret_set` (Atlassian's OpenAPI): false after the secret was removed in the UI or by a PUT
  // with `secret: null`; every delivery then comes unsigned and the relay refuses it. The update sends the secret.
  if (hook.secret_set === false) state.drift = ['no secret set'];
  return state;
}
