/**
 * GitLab project hooks and group hooks (Premium/Ultimate) over the REST API v4, on the shared `ApiClient`.
 *
 * Sources (gitlabhq/gitlabhq): `doc/api/project_webhooks.md`, `doc/api/group_webhooks.md`,
 * `doc/user/project/integrations/webhooks.md`, and for behaviour the docs leave open: `lib/api/project_hooks.rb`,
 * `ee/lib/api/group_hooks.rb`, `lib/api/helpers/web_hooks_helpers.rb`, `lib/api/hooks/trigger_test.rb`,
 * `app/models/concerns/web_hooks/hook.rb`, `app/models/concerns/web_hooks/auto_disabling.rb`,
 * `app/services/web_hooks/log_execution_service.rb`; published as https://docs.gitlab.com/api/project_webhooks/ and
 * https://docs.gitlab.com/api/group_webhooks/.
 *
 * Traps handled here:
 * - "When you change the webhook URL, the secret token is reset and not retained" (project_webhooks.md, Edit a
 *   project webhook, `token`; `WebHooks::Hook#reset_token` clears it unless the same request sets a token). So
 *   create and update always send `token` together with `url`.
 * - `:id` is the URL-encoded full path: `group/sub/project` travels as `group%2Fsub%2Fproject` ("URL-encoded path of
 *   the project", rest/_index.md#namespaced-paths). An unencoded path does not match the route at all.
 * - Event flags GitLab does not receive from us keep their defaults or old values, so create and update send every
 *   flag this kind of hook has: the relay's true, all others false.
 * - Hooks that keep failing are switched off: `alert_status` `temporarily_disabled` (backing off until
 *   `disabled_until`) or `disabled` (`auto_disabling.rb`). A test request that gets a 2xx re-enables the hook
 *   (`log_execution_service.rb`: `hook.enable!` on an ok test response).
 */
import { forTarget, hookApiClient } from './core';
import { ApiError, nextLink } from '../http';
import type { HookApi, HookApiOptions, HookSpec, HookState, HookTarget } from '../hook-api';

/** The flags a relay hook has true: pushes and tag pushes, nothing else (sorted). */
const RELAY_EVENTS = ['push_events', 'tag_push_events'] as const;

/**
 * Every event flag the create/update endpoints accept, per hook kind (the `optional ... type: Boolean` params of
 * `lib/api/project_hooks.rb` and `ee/lib/api/group_hooks.rb`). `repository_update_events` is left out: the entity
 * shows it but only system hooks can set it. GitLab versions that do not know a flag ignore it (Grape
 * `declared_params`), so sending the newest list to an older server is harmless.
 */
const SHARED_EVENT_FLAGS = [
  'confidential_issues_events',
  'confidential_note_events',
  'deployment_events',
  'emoji_events',
  'feature_flag_events',
  'issues_events',
  'job_events',
  'merge_requests_events',
  'note_events',
  'pipeline_events',
  'push_events',
  'releases_events',
  'resource_access_token_events',
  'tag_push_events',
  'vulnerability_events',
  'wiki_page_events',
];
const EVENT_FLAGS: Record<HookTarget['kind'], readonly string[]> = {
  repository: [...SHARED_EVENT_FLAGS, 'milestone_events', 'resource_deploy_token_events'].sort(),
  organization: [...SHARED_EVENT_FLAGS, 'member_events', 'project_events', 'subgroup_events'].sort(),
};

/**
 * `HookState` has no field for TLS verification or a push branch filter, yet either one silently breaks the relay
 * (no deliveries to a valid certificate is impossible; pushes to other branches never arrive). They are reported as
 * these markers in `events`, which never appear in `relayEvents`, so the sync sees drift and `updateHook` repairs it.
 */
export const SSL_VERIFICATION_OFF = 'enable_ssl_verification:false';
export const BRANCH_FILTER_PREFIX = 'push_events_branch_filter:';

/** `alert_status` values of a hook GitLab has switched off (`WebHooks::AutoDisabling#alert_status`). */
const DISABLED_ALERT_STATUSES = new Set(['disabled', 'temporarily_disabled']);

export function gitlabHooks(options: HookApiOptions): HookApi {
  // PRIVATE-TOKEN rather than `Authorization: Bearer`: the sync runs on a personal, group or project access token
  // (an OAuth token would need a refresh flow a scheduled Lambda does not have), and PRIVATE-TOKEN is the header the
  // hook API docs use for those; it also stays out of the way of proxies that rewrite `Authorization`.
  const client = hookApiClient(options, { 'PRIVATE-TOKEN': options.token });
  const now = options.now ?? Date.now;

  /** Runs one call for a target; failures name the target (`gitlab group/sub/project: ...`). */
  const on = <T>(target: HookTarget, call: () => Promise<T>): Promise<T> => forTarget(`gitlab ${target.path}`, call);

  return {
    provider: 'gitlab',
    relayEvents: RELAY_EVENTS,
    client,

    repositoryPath(keyPath: string): string | undefined {
      // Projects sit in a user namespace or in groups nested up to 20 deep: `owner/project`, `group/sub/project`.
      const segments = keyPath.split('/');
      if (segments.length < 2 || segments.some((segment) => segment === '' || segment === '-')) return undefined;
      return keyPath;
    },

    async listHooks(target: HookTarget): Promise<HookState[]> {
      return on(target, async () => {
        const path = hooksPath(target);
        const hooks: unknown[] = [];
        for (let page: number | undefined; ;) {
          const response = await client.request<unknown>('GET', path, { query: { per_page: 100, page } });
          if (!Array.isArray(response.body)) throw new ApiError('GET', path, response.status, 'expected a JSON array');
          hooks.push(...response.body);
          const next = nextPage(response.headers, page ?? 1, path, response.status);
          if (next === undefined || response.body.length === 0) break;
          page = next;
        }
        return hooks.map((hook) => toState(target, hook, now()));
      });
    },

    async createHook(target: HookTarget, spec: HookSpec): Promise<void> {
      await on(target, () =>
        client.request('POST', hooksPath(target), { body: hookBody(target, spec), secrets: [spec.secret] }),
      );
    },

    async updateHook(target: HookTarget, id: string, spec: HookSpec): Promise<void> {
      // The whole spec in one PUT: a URL change without `token` in the same request would clear the secret.
      await on(target, () =>
        client.request('PUT', hookPath(target, id), { body: hookBody(target, spec), secrets: [spec.secret] }),
      );
    },

    async deleteHook(target: HookTarget, id: string): Promise<void> {
      // The docs call this idempotent, but the endpoint answers 404 for a hook that is gone (`find_hook` raises), and
      // a 404 also means a project the token cannot see. Both surface as an ApiError with status 404.
      await on(target, () => client.request('DELETE', hookPath(target, id)));
    },

    async reenableHook(target: HookTarget, id: string): Promise<void> {
      // `POST /projects/:id/hooks/:hook_id/test/:trigger` (16.11+) and `POST /groups/:id/hooks/:hook_id/test/:trigger`
      // (17.1+). A 2xx from the receiver re-enables the hook; otherwise GitLab answers 422 with the reason. Limited to
      // 5 requests per minute per project or group and user, answered 429 without Retry-After (RateLimited: the run
      // leaves the rest of the registration to the next run); a push test needs a project with at least one commit.
      await on(target, () => client.request('POST', `${hookPath(target, id)}/test/push_events`));
    },
  };
}

/**
 * The next page number of an offset-paginated list, asked for again on the apiUrl. Not the `Link` URL: GitLab builds it
 * on its configured `external_url` host and port with the request's scheme (`Gitlab::Pagination::OffsetHeaderBuilder`
 * `base_request_uri`, gitlabhq/gitlabhq 8b573c94895dc0ac0e1d9d59cf3e8745e8b539ca lib/gitlab/pagination/
 * offset_header_builder.rb), which is another origin whenever the sync reaches GitLab by an internal name, another
 * port or through a TLS-terminating proxy; the shared client rightly refuses to send the token there. `X-Next-Page`
 * (same builder; "" on the last page) says the same without a host. Only when a proxy dropped it is the `page` of
 * Link's next URL read, and that URL is never called. A number that does not move forward is refused, so a list that
 * changes while it is read, or a confused proxy, cannot loop.
 */
function nextPage(headers: Headers, current: number, path: string, status: number): number | undefined {
  let value = headers.get('x-next-page');
  if (value === null) {
    const link = nextLink(headers.get('link'));
    value = link !== undefined && URL.canParse(link) ? (new URL(link).searchParams.get('page') ?? '') : '';
  }
  if (value.trim() === '') return undefined;
  if (!/^[1-9][0-9]{0,8}$/.test(value.trim()) || Number(value) <= current) {
    throw new ApiError(
      'GET',
      path,
      status,
      `X-Next-Page ${JSON.stringify(value.slice(0, 40))} is not a page after ${current}`,
    );
  }
  return Number(value);
}

function hooksPath(target: HookTarget): string {
  if (target.path === '' || target.path.startsWith('/') || target.path.endsWith('/')) {
    throw new Error(
      `${JSON.stringify(target.path)} is not a ${target.kind === 'repository' ? 'project' : 'group'} path`,
    );
  }
  return `/${target.kind === 'repository' ? 'projects' : 'groups'}/${encodeURIComponent(target.path)}/hooks`;
}

function hookPath(target: HookTarget, id: string): string {
  // `hook_id` is an integer route parameter; anything else would be a 400 from GitLab or hit another route.
  if (!/^[1-9][0-9]*$/.test(id)) throw new Error(`hook id ${JSON.stringify(id)} is not a GitLab hook id`);
  return `${hooksPath(target)}/${id}`;
}

/** The request body for create and update: URL, secret, name, TLS verification and every event flag. */
function hookBody(target: HookTarget, spec: HookSpec): Record<string, string | boolean> {
  const flags = EVENT_FLAGS[target.kind];
  const unknown = spec.events.filter((event) => !flags.includes(event));
  if (unknown.length > 0)
    throw new Error(
      `${unknown.join(', ')}: not an event flag of GitLab ${target.kind === 'repository' ? 'project' : 'group'} hooks`,
    );
  const body: Record<string, string | boolean> = {
    url: spec.url,
    token: spec.secret,
    // `name` is 17.1+; older servers ignore it and do not return it.
    name: spec.name,
    enable_ssl_verification: true,
    // Every branch: `all_branches` makes GitLab drop any filter; the empty filter does the same on servers older than
    // `branch_filter_strategy`.
    branch_filter_strategy: 'all_branches',
    push_events_branch_filter: '',
  };
  for (const flag of flags) body[flag] = spec.events.includes(flag);
  return body;
}

function toState(target: HookTarget, raw: unknown, nowMs: number): HookState {
  if (typeof raw !== 'object' || raw === null) throw new Error('a hook in the list is not an object');
  const hook = raw as Record<string, unknown>;
  if ((typeof hook.id !== 'number' && typeof hook.id !== 'string') || typeof hook.url !== 'string') {
    throw new Error('a hook in the list has no id or url');
  }
  const events = EVENT_FLAGS[target.kind].filter((flag) => hook[flag] === true);
  if (hook.enable_ssl_verification === false) events.push(SSL_VERIFICATION_OFF);
  const filter = hook.push_events_branch_filter;
  if (hook.branch_filter_strategy !== 'all_branches' && typeof filter === 'string' && filter !== '')
    events.push(`${BRANCH_FILTER_PREFIX}${filter}`);

  const disabledUntil = typeof hook.disabled_until === 'string' ? Date.parse(hook.disabled_until) : Number.NaN;
  const state: HookState = {
    id: String(hook.id),
    url: hook.url,
    events: events.sort(),
    // GitLab hooks have no on/off switch of their own; being switched off by GitLab is `disabled`.
    active: true,
    disabled:
      (typeof hook.alert_status === 'string' && DISABLED_ALERT_STATUSES.has(hook.alert_status)) ||
      disabledUntil > nowMs,
  };
  // 17.1+ returns `name` (null when unset); older servers do not have the field, and then there is nothing to compare.
  if ('name' in hook) state.name = typeof hook.name === 'string' ? hook.name : '';
  return state;
}
