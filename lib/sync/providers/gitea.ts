/**
 * Gitea and Forgejo repository and organisation webhooks over `/api/v1`, on the shared ApiClient. One client, two
 * provider names: Forgejo is a Gitea fork and kept the hook API. Reference: the servers' API descriptions
 * (`templates/swagger/v1_json.tmpl` in both repositories, served at `/api/swagger`). Facts below were read in the servers' source: Gitea `routers/api/v1/utils/hook.go`,
 * `routers/api/v1/repo/hook.go`, `modules/structs/hook.go`, `services/webhook/general.go` (`ToHook`) as of go-gitea
 * 3e4d1edd and current main (read in the fork hanzoai/git 61fc4c71, which has PR #37040's webhook `name`); Forgejo the
 * same files plus `routers/api/v1/utils/page.go` and `services/webhook/{webhook,default}.go` (mirror
 * creator-signal/fork-forgejo-forgejo 61789862, bc3d1915, 242155d0).
 *
 * The traps, and what this client does about them:
 * - Create (`addHook`): `IsActive: form.Active`, a plain bool, so a hook created without `active` is inactive (the
 *   swagger says `default: false`). Always send `active: true`. `config.url` and `config.content_type` are required
 *   (422 "Missing config option: url"), `content_type` must be `json` or `form` (422 "Invalid content type").
 * - Update (`editHook`) never reads `config.secret`: it copies `url` and `content_type` from `config`, nothing else, in
 *   Gitea 1.x up to current main and in Forgejo alike (only the unmerged Gitea PR #23142 ever read it). So a PATCH
 *   keeps the old secret whether or not one is sent, and cannot rotate it. `updateHook` therefore re-creates the hook
 *   (create the new one, then delete the old one): the only way to give an existing hook a new secret, which is what
 *   the sync updates for (the secret version marker lives in the URL). The same PATCH would also overwrite
 *   `branch_filter` and `authorization_header` with "" when omitted; re-creating sidesteps all of it, and the new
 *   hook gets `branch_filter: '*'`, so an update also repairs a branch filter (reported as drift by `toState`).
 * - The secret is never returned (`ToHook` puts only `url` and `content_type` in `config`); `authorization_header` is
 *   by Forgejo (decrypted) but not by Gitea main (always ""), so the relay neither uses nor compares it.
 * - Pagination: `page` (1-based) and `limit`, clamped to `[api] MAX_RESPONSE_ITEMS` (default 50; `convert.ToCorrectPageSize`).
 *   Every hook list sets `X-Total-Count`, but `Link` is inconsistent: Gitea's repository hook list sets no `Link` at
 *   all (`ctx.SetTotalCountHeader` only), its org list does; Forgejo the other way round (`utils.SetPaginationHeaders`
 *   on repositories, the total only on orgs). And where there is a `Link`, it is built on `ROOT_URL` (`setting.AppURL`),
 *   which need not be the host the relay calls. So the shared `list(..., 'link')` would stop after the first page;
 *   this client pages by number until it holds `X-Total-Count` hooks (see `listHooks`).
 * - Hook types: `gitea` (both servers) and `forgejo` (Forgejo only; Gitea answers 422 "Invalid hook type: forgejo").
 *   Forgejo sends `X-Forgejo-Signature` for both types (`shared.AddDefaultHeaders`), so either would do for the relay's
 *   forgejo receiver; a Forgejo hook gets type `forgejo`, Forgejo's own, which only adds a `compare` copy of
 *   `compare_url` to push payloads (a `gitea`-type hook instead shortens `ref` in create/delete payloads, for
 *   Woodpecker). Hooks of other types (slack, discord, matrix, ...) are listed as they are: the sync sees them as
 *   foreign by their URL.
 * - No rate limits by default; a reverse proxy may still answer 429, which the ApiClient waits out when it says how
 *   long (`Retry-After`) and otherwise leaves to the next run (`RateLimited`).
 */
import type { HookApi, HookApiOptions, HookSpec, HookState, HookTarget } from '../hook-api';
import { numericHookId, ownerRepoHooksPath, ownerRepoPath } from './paths';
import { ApiError } from '../http';
import { forTarget as labelled, hookApiClient } from './core';
import { readGogsStyleHook, sortedEvents, type GogsHook } from './gogs';

export type GiteaFamily = 'gitea' | 'forgejo';

/** The fields of Gitea's / Forgejo's `Hook` response this client reads. */
interface GiteaHook extends GogsHook {
  /** Gitea: `url`, `content_type` (and slack's channel etc.). Forgejo: the same, marked deprecated. */
  config: Record<string, string> | null;
  /** Forgejo only: the target URL (Gitea's `Hook.URL` is `json:"-"`). */
  url?: string;
  /** Forgejo only. */
  content_type?: string;
  /** Gitea with PR #37040 (2026): an optional label. */
  name?: string;
  /** A glob on the branch name; pushes to branches it does not match are not delivered ("" and `*` match all). */
  branch_filter?: string;
}

/** `[api] MAX_RESPONSE_ITEMS`' default; a server configured lower returns fewer per page, which `listHooks` handles. */
const PAGE_SIZE = 50;

export function giteaHooks(options: HookApiOptions & { provider: GiteaFamily }): HookApi {
  const { provider } = options;
  // `token <token>`: the form Gitea's swagger documents (AuthorizationHeaderToken); `Bearer` works as well.
  const client = hookApiClient(options, { authorization: `token ${options.token}` });

  /** Runs one call for a target; its error comes back naming the target. */
  const forTarget = <T>(target: HookTarget, call: () => Promise<T>): Promise<T> =>
    labelled(`${provider} ${describeTarget(target)}`, call);

  function createBody(spec: HookSpec): Record<string, unknown> {
    return {
      type: provider,
      // Gitea's create defaults `active` to false.
      active: true,
      events: [...spec.events],
      config: { url: spec.url, content_type: 'json', secret: spec.secret },
      // Every branch (an empty filter means the same; `*` says so explicitly).
      branch_filter: '*',
      // Shown in Gitea's hook list since PR #37040; older Gitea and Forgejo ignore the unknown field (Go's JSON decoder).
      name: spec.name,
    };
  }

  return {
    provider,
    relayEvents: ['push'],
    contentType: 'json',
    client,

    repositoryPath: ownerRepoPath,

    listHooks(target) {
      return forTarget(target, async () => {
        const path = hooksPath(provider, target);
        // Paged by number, not by `Link` (see the file comment): stop once `X-Total-Count` hooks are in hand. Without
        // the header, stop at a page shorter than the first (the server's real page size may be below PAGE_SIZE). A
        // page that brings nothing new (a server ignoring `page`) or nothing at all always ends the list, so a list
        // that changes while it is read cannot loop.
        const hooks = new Map<string, HookState>();
        let firstPageLength = 0;
        for (let page = 1; ; page += 1) {
          const response = await client.request<unknown>('GET', path, { query: { page, limit: PAGE_SIZE } });
          if (!Array.isArray(response.body)) throw new ApiError('GET', path, response.status, 'expected a JSON array');
          let added = 0;
          for (const raw of response.body) {
            const hook = toState(provider, raw, path);
            if (!hooks.has(hook.id)) added += 1;
            hooks.set(hook.id, hook);
          }
          if (added === 0) break;
          if (page === 1) firstPageLength = response.body.length;
          const total = totalCount(response.headers);
          if (total !== undefined ? hooks.size >= total : response.body.length < firstPageLength) break;
        }
        return [...hooks.values()];
      });
    },

    createHook(target, spec) {
      return forTarget(target, async () => {
        await client.request('POST', hooksPath(provider, target), { body: createBody(spec), secrets: [spec.secret] });
      });
    },

    /**
     * Re-creates the hook: Gitea's and Forgejo's PATCH cannot change a secret (see the file comment). The new hook
     * comes first, so the target is never without a working hook; if deleting the old one then fails, the next run
     * finds two relay hooks, keeps the one with the wanted URL (the new one) and deletes the other.
     */
    updateHook(target, id, spec) {
      return forTarget(target, async () => {
        const old = hookPath(provider, target, id);
        await client.request('POST', hooksPath(provider, target), { body: createBody(spec), secrets: [spec.secret] });
        await client.request('DELETE', old);
      });
    },

    deleteHook(target, id) {
      return forTarget(target, async () => {
        await client.request('DELETE', hookPath(provider, target, id));
      });
    },
  };
}

function describeTarget(target: HookTarget): string {
  return target.kind === 'organization' ? `org ${target.path}` : target.path;
}

function hooksPath(provider: GiteaFamily, target: HookTarget): string {
  return ownerRepoHooksPath(provider, target);
}

function hookPath(provider: GiteaFamily, target: HookTarget, id: string): string {
  return `${hooksPath(provider, target)}/${numericHookId(id, `${provider} ${describeTarget(target)}`, provider)}`;
}

function totalCount(headers: Headers): number | undefined {
  const value = headers.get('x-total-count');
  if (value === null || !/^[0-9]+$/.test(value.trim())) return undefined;
  return Number(value);
}

function toState(provider: GiteaFamily, raw: unknown, path: string): HookState {
  const { hook, config } = readGogsStyleHook<GiteaHook>(raw, path);
  // Forgejo also has top-level `url` / `content_type` (and calls `config` deprecated); Gitea's top-level `url` has
  // meant the hook's settings page in some versions, so it is read only from Forgejo.
  const url = config.url ?? (provider === 'forgejo' ? hook.url : undefined) ?? '';
  const contentType = config.content_type ?? (provider === 'forgejo' ? hook.content_type : undefined);
  const state: HookState = {
    id: String(hook.id),
    url,
    events: sortedEvents(hook),
    active: hook.active === true,
  };
  if (contentType !== undefined) state.contentType = contentType;
  if (typeof hook.name === 'string' && hook.name !== '') state.name = hook.name;
  // checkBranch (go-gitea/gitea 05a2257af2f29077a2c0374111aa12becf7f6083 services/webhook/webhook.go, the same in
  // Forgejo): "" and `*` let every push through; any other filter drops pushes to branches it does not match, and a
  // Flux source may follow any branch. The update re-creates the hook with `branch_filter: '*'` (createBody).
  const filter = hook.branch_filter;
  if (typeof filter === 'string' && filter !== '' && filter !== '*')
    state.drift = [`branch filter ${filter.slice(0, 80)} → *`];
  return state;
}
