/**
 * GitHub repository and organisation webhooks over the REST API (version 2022-11-28), on the shared ApiClient.
 * Reference: https://docs.github.com/en/rest/repos/webhooks and https://docs.github.com/en/rest/orgs/webhooks; request
 * and response shapes are checked in the tests against GitHub's own OpenAPI description
 * (tests/fixtures/github-openapi/hooks.json).
 *
 * GitHub's traps, and what this client does about them:
 * - `config.content_type` defaults to `form`: always send `json`.
 * - A PATCH without `config.secret` removes the secret: every update sends the whole config, secret included.
 * - Failed deliveries are never retried by GitHub: `redeliverFailed` asks for redeliveries of the ones that failed.
 * - At least one second between mutating requests (`writeSpacingMs`).
 * - Secondary limits (900 points a minute, 80 writes a minute, 500 an hour) are paced by a RateBudget
 *   (lib/sync/pacing.ts), and the primary budget is kept above its reserve.
 * - Conditional lists: `If-None-Match` with the last ETag; a 304 costs nothing against the primary budget
 *   (https://docs.github.com/en/rest/using-the-rest-api/best-practices-for-using-the-rest-api#use-conditional-requests-if-appropriate).
 */
import { withoutTrailingSlashes } from '../../http/trailing-slashes';
import type { HookApi, HookApiOptions, HookSpec, HookState, HookTarget } from '../hook-api';
import { numericHookId, ownerRepoHooksPath, ownerRepoPath } from './paths';
import { ApiError, nextLink } from '../http';
import { forTarget as labelled, hookApiClient } from './core';
import type { ApiResponse } from '../http';
import { githubLimits, RateBudget } from '../pacing';

/** The fields of GitHub's `hook` / `org-hook` schemas this client reads. */
interface GitHubHook {
  id: number;
  active: boolean;
  events: string[];
  config: { url?: string; content_type?: string };
  last_response?: { code: number | null; status: string | null; message: string | null };
}

/** The fields of GitHub's `hook-delivery-item` schema this client reads. */
interface GitHubDelivery {
  id: number;
  guid: string;
  delivered_at: string;
  status_code: number;
}

const API_VERSION = '2022-11-28';
const PAGE_SIZE = 100;

export function githubHooks(options: HookApiOptions): HookApi {
  const client = hookApiClient(
    options,
    {
      authorization: `Bearer ${options.token}`,
      // Replaces the ApiClient's `accept: application/json` default.
      accept: 'application/vnd.github+json',
      'x-github-api-version': API_VERSION,
      // GitHub refuses REST requests without a User-Agent.
      'user-agent': 'flux-webhook-relay',
    },
    { writeSpacingMs: 1000, budget: options.budget ?? new RateBudget(githubLimits) },
  );

  /** Runs one call for a target; an ApiError comes back naming the target. */
  const forTarget = <T>(target: HookTarget, call: () => Promise<T>): Promise<T> =>
    // The target's account is the scope a GitHub App's installation token is chosen by (./github-app.ts).
    labelled(`github ${target.path}`, () => client.inScope(target.path, call));

  function body(spec: HookSpec): Record<string, unknown> {
    return {
      active: true,
      events: [...spec.events],
      // The whole config every time: `content_type` because the default is form, `secret` because a PATCH without it
      // removes the secret.
      config: { url: spec.url, content_type: 'json', insecure_ssl: '0', secret: spec.secret },
    };
  }

  return {
    provider: 'github',
    relayEvents: ['push'],
    contentType: 'json',
    client,

    repositoryPath: ownerRepoPath,

    async listHooks(target) {
      const path = hooksPath(target);
      return forTarget(target, async () => {
        const hooks = await client.list<unknown>(path, 'link', { per_page: PAGE_SIZE });
        return hooks.map((hook) => toState(hook, path));
      });
    },

    async listHooksConditional(target, cached) {
      const path = hooksPath(target);
      return forTarget(target, async () => {
        const list = await client.listConditional<unknown>(path, 'link', { per_page: PAGE_SIZE }, cached?.etag);
        if (list.notModified) return { hooks: (cached?.hooks ?? []).map((hook) => ({ ...hook })), notModified: true };
        return {
          hooks: list.items.map((hook) => toState(hook, path)),
          notModified: false,
          ...(list.etag ? { etag: list.etag } : {}),
        };
      });
    },

    async createHook(target, spec) {
      return forTarget(target, async () => {
        // `name` is create-only and must be "web".
        await client.request('POST', hooksPath(target), {
          body: { name: 'web', ...body(spec) },
          secrets: [spec.secret],
        });
      });
    },

    async updateHook(target, id, spec) {
      return forTarget(target, async () => {
        await client.request('PATCH', hookPath(target, id), { body: body(spec), secrets: [spec.secret] });
      });
    },

    async deleteHook(target, id) {
      return forTarget(target, async () => {
        await client.request('DELETE', hookPath(target, id));
      });
    },

    async redeliverFailed(target, id, since) {
      const deliveries = `${hookPath(target, id)}/deliveries`;
      return forTarget(target, async () => {
        // Newest first. A redelivery keeps its delivery's guid, so the newest attempt of each guid says whether that
        // event still has to be delivered.
        const newestAttempt = new Map<string, GitHubDelivery>();
        let page: { path: string; query: Record<string, string | number> } | undefined = {
          path: deliveries,
          query: { per_page: PAGE_SIZE },
        };
        while (page) {
          const response: ApiResponse<unknown> = await client.request<unknown>('GET', page.path, { query: page.query });
          if (!Array.isArray(response.body))
            throw new ApiError('GET', deliveries, response.status, 'expected a JSON array');
          let reachedSince = false;
          for (const item of response.body) {
            const delivery = toDelivery(item, deliveries);
            const at = Date.parse(delivery.delivered_at);
            if (at < since) {
              reachedSince = true;
              continue;
            }
            const seen = newestAttempt.get(delivery.guid);
            if (!seen || isNewer(delivery, seen)) newestAttempt.set(delivery.guid, delivery);
          }
          page = reachedSince ? undefined : nextPage(response.headers.get('link'), options.apiUrl, deliveries);
        }
        const failed = [...newestAttempt.values()].filter((d) => !(d.status_code >= 200 && d.status_code < 300));
        // Oldest first, so events reach the relay in the order they happened.
        failed.sort((a, b) => (isNewer(a, b) ? 1 : -1));
        let redelivered = 0;
        for (const delivery of failed) {
          await client.request('POST', `${deliveries}/${delivery.id}/attempts`);
          redelivered += 1;
        }
        return redelivered;
      });
    },
  };
}

function hooksPath(target: HookTarget): string {
  return ownerRepoHooksPath('github', target);
}

function hookPath(target: HookTarget, id: string): string {
  return `${hooksPath(target)}/${numericHookId(id, `github ${target.path}`, 'GitHub')}`;
}

function toState(raw: unknown, path: string): HookState {
  const hook = raw as Partial<GitHubHook> | null;
  if (
    typeof hook?.id !== 'number' ||
    typeof hook.config !== 'object' ||
    hook.config === null ||
    !Array.isArray(hook.events)
  ) {
    throw new ApiError('GET', path, 200, 'unexpected hook object');
  }
  const state: HookState = {
    id: String(hook.id),
    url: hook.config.url ?? '',
    events: [...hook.events].sort(),
    active: hook.active === true,
    // GitHub's default when a hook was created without one.
    contentType: hook.config.content_type ?? 'form',
  };
  // `last_response` (repository hooks): code null and status "unused" when nothing was delivered in 30 days.
  const last = hook.last_response;
  if (last) {
    state.lastDeliveryFailed =
      typeof last.code === 'number'
        ? !(last.code >= 200 && last.code < 300)
        : last.status !== null && last.status !== 'unused' && last.status !== 'active';
  }
  return state;
}

function toDelivery(raw: unknown, path: string): GitHubDelivery {
  const d = raw as Partial<GitHubDelivery> | null;
  if (
    typeof d?.id !== 'number' ||
    typeof d.guid !== 'string' ||
    typeof d.delivered_at !== 'string' ||
    Number.isNaN(Date.parse(d.delivered_at))
  ) {
    throw new ApiError('GET', path, 200, 'unexpected delivery object');
  }
  return {
    id: d.id,
    guid: d.guid,
    delivered_at: d.delivered_at,
    status_code: typeof d.status_code === 'number' ? d.status_code : 0,
  };
}

function isNewer(a: GitHubDelivery, b: GitHubDelivery): boolean {
  const at = Date.parse(a.delivered_at);
  const bt = Date.parse(b.delivered_at);
  return at !== bt ? at > bt : a.id > b.id;
}

/**
 * The next page of the deliveries (GitHub pages them with a `cursor` in the `Link` header), as a request the ApiClient
 * can make: its `list` cannot stop early, and deliveries go back 30 days. The link is followed as given (GitHub may
 * point it at `/repositories/{id}/...`), but only below the API root: never send the token elsewhere.
 */
function nextPage(
  link: string | null,
  apiUrl: string,
  path: string,
): { path: string; query: Record<string, string> } | undefined {
  const next = nextLink(link);
  if (!next) return undefined;
  const url = new URL(next, apiUrl);
  const root = new URL(apiUrl);
  const prefix = withoutTrailingSlashes(root.pathname);
  if (url.origin !== root.origin || !url.pathname.startsWith(`${prefix}/`))
    throw new ApiError('GET', path, 200, 'next page points outside the API');
  return { path: url.pathname.slice(prefix.length), query: Object.fromEntries(url.searchParams) };
}
