/**
 * Gogs repository webhooks over `/api/v1`, on the shared ApiClient. Reference: the API docs
 * (https://github.com/gogs/docs-api/blob/master/Repositories/Webhooks.md) and the handlers in gogs/gogs
 * `internal/route/api/v1/repo_hook.go` (read at commit 3a28ecce3e8e116d1014ac273eb9d17d02e04aa4).
 *
 * The traps, and what this client does about them:
 * - Create: `IsActive: form.Active`, a plain bool, so a hook created without `active` is inactive: always send
 *   `active: true`. `config.url` and `config.content_type` are required (422 "Missing config option: url").
 * - Edit (`EditHook`) reads only `url` and `content_type` (and slack's channel) from `config`, never `secret`, so a
 *   PATCH cannot rotate the secret. `updateHook` therefore creates the new hook first and deletes the old one after.
 * - Edit with no `events` resets them to `push` only; not relevant here since the client never edits.
 * - The hook list is not paged (`ListHooks` returns every hook), and never returns the secret.
 * - Repository hooks only: `internal/route/api/v1/api.go` (04cd63300274387505114c39ab1a840577cf0a89) routes no
 *   organisation hooks. It also fixes the auth order: token (401), repository readable (404), repository admin (403).
 */
import type { HookApi, HookApiOptions, HookSpec, HookState, HookTarget } from '../hook-api';
import { ApiError } from '../http';
import { forTarget as labelled, hookApiClient } from './core';
import { numericHookId, ownerRepoHooksPath, ownerRepoPath } from './paths';

/** The fields of Gogs' `RepositoryHook` this client reads (Gitea and Forgejo, its forks, kept and extended them). */
export interface GogsHook {
  id: number;
  type: string;
  active: boolean;
  events: string[] | null;
  config: Record<string, string> | null;
}

export function gogsHooks(options: HookApiOptions): HookApi {
  // Gogs reads `Authorization: token <token>` (docs-api README, "Authentication").
  const client = hookApiClient(options, { authorization: `token ${options.token}` });
  const forTarget = <T>(target: HookTarget, call: () => Promise<T>): Promise<T> =>
    labelled(`gogs ${target.path}`, call);

  function createBody(spec: HookSpec): Record<string, unknown> {
    return {
      type: 'gogs',
      // Gogs' create defaults `active` to false.
      active: true,
      events: [...spec.events],
      config: { url: spec.url, content_type: 'json', secret: spec.secret },
    };
  }

  return {
    provider: 'gogs',
    relayEvents: ['push'],
    contentType: 'json',
    client,
    repositoryPath: ownerRepoPath,

    listHooks(target) {
      return forTarget(target, async () => {
        const path = hooksPath(target);
        const response = await client.request<unknown>('GET', path);
        if (!Array.isArray(response.body)) throw new ApiError('GET', path, response.status, 'expected a JSON array');
        return response.body.map((raw) => toState(raw, path));
      });
    },

    createHook(target, spec) {
      return forTarget(target, async () => {
        await client.request('POST', hooksPath(target), { body: createBody(spec), secrets: [spec.secret] });
      });
    },

    /**
     * Creates the new hook, then deletes the old one: Gogs' PATCH cannot change a secret (see the file comment). If the
     * delete fails, the next run finds two relay hooks, keeps the one with the wanted URL and deletes the other.
     */
    updateHook(target, id, spec) {
      return forTarget(target, async () => {
        const old = hookPath(target, id);
        await client.request('POST', hooksPath(target), { body: createBody(spec), secrets: [spec.secret] });
        await client.request('DELETE', old);
      });
    },

    deleteHook(target, id) {
      return forTarget(target, async () => {
        await client.request('DELETE', hookPath(target, id));
      });
    },
  };
}

function hooksPath(target: HookTarget): string {
  if (target.kind !== 'repository') throw new Error(`gogs: hooks are managed per repository, not on "${target.path}"`);
  return ownerRepoHooksPath('gogs', target);
}

function hookPath(target: HookTarget, id: string): string {
  return `${hooksPath(target)}/${numericHookId(id, `gogs ${target.path}`, 'gogs')}`;
}

function toState(raw: unknown, path: string): HookState {
  const { hook, config } = readGogsStyleHook<GogsHook>(raw, path);
  const state: HookState = {
    id: String(hook.id),
    url: typeof config.url === 'string' ? config.url : '',
    events: sortedEvents(hook),
    active: hook.active === true,
  };
  if (typeof config.content_type === 'string') state.contentType = config.content_type;
  return state;
}

/**
 * One element of a Gogs-style hook list (Gogs, and its forks Gitea and Forgejo): an object with a numeric `id`, a
 * string `type` and `events` an array or null, else a failure of the list; `config` an object ({} when absent).
 */
export function readGogsStyleHook<T extends GogsHook>(
  raw: unknown,
  path: string,
): { hook: Partial<T> & Pick<GogsHook, 'id' | 'type'>; config: Record<string, string> } {
  const hook = raw as Partial<T> | null;
  if (
    typeof hook?.id !== 'number' ||
    typeof hook.type !== 'string' ||
    (hook.events !== null && hook.events !== undefined && !Array.isArray(hook.events))
  ) {
    throw new ApiError('GET', path, 200, 'unexpected hook object');
  }
  const config = typeof hook.config === 'object' && hook.config !== null ? hook.config : {};
  return { hook: hook as Partial<T> & Pick<GogsHook, 'id' | 'type'>, config };
}

/** The hook's event names, sorted (non-strings dropped). */
export function sortedEvents(hook: Partial<GogsHook>): string[] {
  return (hook.events ?? []).filter((e): e is string => typeof e === 'string').sort();
}
