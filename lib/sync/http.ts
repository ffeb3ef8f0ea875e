/**
 * The one HTTP core every provider's hook API client shares: JSON requests over global fetch, the providers'
 * pagination styles, rate limits and retries, and the run's time budget. Hand-written on fetch rather than a
 * provider SDK: the sync needs about five endpoints per provider, and the SDKs cost 20 KB to 1.2 MB of bundle each
 * for nothing more (docs/decisions.md).
 */

import { AsyncLocalStorage } from 'node:async_hooks';
import { withoutTrailingSlashes } from '../http/trailing-slashes';
import { apiUrlProblem } from './api-url';
import type { RateBudget } from './pacing';

/** The run stopped before the deadline; the next scheduled run resumes the work. */
export class BudgetExhausted extends Error {
  override readonly name: string = 'BudgetExhausted';
}

/**
 * A 429 that says nothing about when to come back (no `Retry-After`, no reset header): Bitbucket Cloud (an hour's
 * window, "Rate limit for this resource has been exceeded") and GitLab's hook test endpoint (5 a minute) answer so.
 * Jittered retries within seconds cannot succeed and only spend the budget, so the client stops; as a BudgetExhausted
 * the run leaves the registration's remaining targets to the next scheduled run and says so in its report.
 */
export class RateLimited extends BudgetExhausted {
  override readonly name: string = 'RateLimited';
}

/**
 * A new target (or a target's writes) cannot start in this run: the rate budget is down to its reserve, or pacing
 * under the provider's limits would pass the deadline. Planned, not a failure: the next run starts with what was
 * left (the targets not checked longest go first).
 */
export class Deferred extends BudgetExhausted {
  override readonly name: string = 'Deferred';
}

/** This target's writes cannot go before the deadline; targets that need no write can still be checked. */
export class WritesDeferred extends Deferred {
  override readonly name: string = 'WritesDeferred';
}

/** A provider API call failed; the message names the call, never a token. */
export class ApiError extends Error {
  override readonly name = 'ApiError';
  constructor(
    readonly method: string,
    readonly path: string,
    readonly status: number,
    detail: string,
  ) {
    super(`${method} ${path}: HTTP ${status}${detail ? ` ${detail}` : ''}`);
  }
}

/**
 * `text` with every one of `secrets` (4 characters or more: shorter ones would hit ordinary words) replaced, as is
 * and JSON-escaped (an error detail can quote the request body as JSON, where `"` or `\` in a secret are escaped).
 */
export function scrubSecrets(text: string, secrets: readonly string[]): string {
  const forms = secrets
    .filter((secret) => secret.length >= 4)
    .flatMap((secret) => [secret, JSON.stringify(secret).slice(1, -1)]);
  return forms.reduce((out, form) => out.split(form).join('[REDACTED]'), text);
}

/** How a provider pages its lists. */
export type Pagination =
  /** RFC 8288 `Link: <...>; rel="next"` (GitHub, GitLab, Gitea, Forgejo, Gogs); the body is the array. */
  | 'link'
  /** Bitbucket Cloud: `{ values: [...], next: "<absolute url>" }`. */
  | 'bitbucket-cloud'
  /** Bitbucket Data Center: `{ values: [...], isLastPage, nextPageStart }` with `?start=`. */
  | 'bitbucket-server';

/** One request as an authorizer sees it. */
export interface AuthorizedRequest {
  method: string;
  /** The API path as the caller named it (for a followed next page, the list's own path). */
  path: string;
  /** The credential scope the call runs in (`ApiClient.inScope`), e.g. the GitHub account that owns the target. */
  scope: string | undefined;
}

/**
 * Credentials that are fetched and renewed rather than fixed in `headers`: GitHub App installation tokens, which expire
 * after an hour and differ per account. The client asks before every attempt, so a renewed credential is used at once.
 */
export interface RequestAuthorizer {
  /** The `Authorization` value for this request; may call the API itself through `client` (to fetch a token). */
  authorization(request: AuthorizedRequest, client: ApiClient): Promise<string>;
  /**
   * A request sent with `authorization` was answered 401. True when the credential was dropped and a fresh one is worth
   * one retry (an installation token that expired early or was revoked); the client retries a request once at most.
   */
  rejected(authorization: string, request: AuthorizedRequest): boolean;
  /** Credentials handed out so far, scrubbed from every error like `ApiClientOptions.secrets`. */
  secrets(): readonly string[];
}

/** The scope of `ApiClient.inScope`, carried through the awaits of the call without every method passing it on. */
const credentialScope = new AsyncLocalStorage<string>();

export interface ApiClientOptions {
  /** API root, e.g. `https://api.github.com` or `https://gitlab.example.com/api/v4`. */
  baseUrl: string;
  /** Sent with every request (authentication, API version). */
  headers: Record<string, string>;
  /** Epoch milliseconds by which the run must have stopped calling. */
  deadline: number;
  fetch?: typeof fetch;
  now?: () => number;
  sleep?: (ms: number) => Promise<void>;
  /** Attempts per request when rate-limited or on a 5xx to a safe method. Default 4. */
  maxAttempts?: number;
  /** Minimum pause between two writes (GitHub asks for at least one second between mutations). Default 0. */
  writeSpacingMs?: number;
  /**
   * The credentials `headers` carry (the token): scrubbed from every error this client raises, since servers and
   * proxies echo what they were sent in error bodies.
   */
  secrets?: readonly string[];
  /** Admit an `http:` baseUrl to a loopback host (tests, local runs); see lib/sync/api-url.ts. Default false. */
  allowHttpLoopback?: boolean;
  /** Sets `Authorization` per request, over any in `headers` (GitHub App authentication). */
  authorizer?: RequestAuthorizer;
  /**
   * The provider's limits as a budget (lib/sync/pacing.ts): every request waits for room in its windows, and
   * `admitTarget`/`admitWrites` say when a new target or its writes must wait for the next run. Shared by every client
   * of a run that uses the same token. Without one, only `Retry-After` and spent budgets are honoured.
   */
  budget?: RateBudget;
}

export interface ApiResponse<T> {
  status: number;
  headers: Headers;
  body: T;
}

export interface RequestOptions {
  query?: Record<string, string | number | undefined>;
  body?: unknown;
  /** Secrets the body carries (a hook secret): scrubbed from this request's errors like the client's credentials. */
  secrets?: readonly string[];
  /** Sent as `If-None-Match`: a 304 then comes back as `{ status: 304, body: undefined }` instead of an error. */
  ifNoneMatch?: string;
}

/** A conditional list: unchanged since the ETag, or every item and the list's ETag when it fit on one page. */
export type ConditionalList<T> = { notModified: true } | { notModified: false; items: T[]; etag?: string };

const safeMethods = new Set(['GET', 'HEAD']);
/** The longest delay a Node timer (and so `AbortSignal.timeout`) honours. */
const MAX_TIMER_MS = 2 ** 31 - 1;
const writeMethods = new Set(['POST', 'PUT', 'PATCH', 'DELETE']);

export class ApiClient {
  /** Every HTTP call made, and the writes among them (what the benchmark and the tests count). */
  readonly stats = { calls: 0, writes: 0 };
  /** Conditional requests answered 304 Not Modified (counted among `stats.calls`). */
  notModified = 0;
  private readonly fetchFn: typeof fetch;
  private readonly now: () => number;
  private readonly sleep: (ms: number) => Promise<void>;
  private notBefore = 0;
  private lastWrite = Number.NEGATIVE_INFINITY;

  constructor(private readonly options: ApiClientOptions) {
    const problem = apiUrlProblem(options.baseUrl, options.allowHttpLoopback ?? false);
    if (problem)
      throw new Error(
        `API URL ${URL.canParse(options.baseUrl) ? new URL(options.baseUrl).origin : '(unparseable)'}: ${problem}`,
      );
    this.fetchFn = options.fetch ?? fetch;
    this.now = options.now ?? Date.now;
    this.sleep = options.sleep ?? ((ms) => new Promise((resolve) => setTimeout(resolve, ms)));
  }

  /**
   * Runs `call` with its requests in a credential scope (the account owning the target): an authorizer picks the
   * credential by it. Without an authorizer the scope changes nothing.
   */
  inScope<T>(scope: string, call: () => Promise<T>): Promise<T> {
    return credentialScope.run(scope, call);
  }

  async request<T = unknown>(method: string, path: string, options: RequestOptions = {}): Promise<ApiResponse<T>> {
    const url = this.url(path, options.query);
    return this.send<T>(method, url, path, options.body, options.secrets, options.ifNoneMatch);
  }

  /**
   * Waits until a new target may start under the budget (primary above its reserve, room for its list in the paced
   * windows), or throws Deferred when that is not before the deadline. Without a budget, returns at once.
   */
  async admitTarget(): Promise<void> {
    const budget = this.options.budget;
    if (!budget) return;
    const now = this.now();
    const primaryAt = budget.primaryAllows(now);
    if (primaryAt >= this.options.deadline) {
      const p = budget.primary!;
      throw new Deferred(
        `rate limit budget down to its reserve (${p.remaining} of ${p.limit} left until ${new Date(p.reset).toISOString()})`,
      );
    }
    const at = Math.max(primaryAt, budget.earliest('GET', now));
    if (at >= this.options.deadline)
      throw new Deferred(`pacing under the provider's rate limits leaves no room before the run's deadline`);
    if (at > now) await this.sleep(at - now);
  }

  /** Throws WritesDeferred when a write could not go before the deadline (GitHub: 80 a minute, 500 an hour). */
  admitWrites(): void {
    const budget = this.options.budget;
    if (!budget) return;
    const at = Math.max(budget.earliest('POST', this.now()), this.lastWrite + (this.options.writeSpacingMs ?? 0));
    if (at >= this.options.deadline)
      throw new WritesDeferred(`the write budget (writes a minute and an hour) has no room before the run's deadline`);
  }

  /** Every item of a paginated list, following the provider's own next-page pointers. */
  async list<T>(path: string, pagination: Pagination, query: RequestOptions['query'] = {}): Promise<T[]> {
    const result = await this.listConditional<T>(path, pagination, query);
    return result.notModified ? [] : result.items;
  }

  /**
   * A list sent with `If-None-Match: etag` on its first page: `notModified` on a 304 (GitHub does not count those
   * against the primary budget), else every item, and the ETag when the list fit on one page (a later page could
   * change while the first stays the same, so only a one-page list can be answered from its ETag next time).
   */
  async listConditional<T>(
    path: string,
    pagination: Pagination,
    query: RequestOptions['query'] = {},
    etag?: string,
  ): Promise<ConditionalList<T>> {
    const items: T[] = [];
    let url: string | undefined = this.url(path, query);
    let firstEtag: string | undefined;
    let pages = 0;
    while (url) {
      const response: ApiResponse<unknown> = await this.send(
        'GET',
        url,
        path,
        undefined,
        [],
        pages === 0 ? etag : undefined,
      );
      if (response.status === 304) return { notModified: true };
      pages += 1;
      if (pages === 1) firstEtag = response.headers.get('etag') ?? undefined;
      const page = response.body;
      if (pagination === 'link') {
        if (!Array.isArray(page)) throw new ApiError('GET', path, response.status, 'expected a JSON array');
        items.push(...(page as T[]));
        url = nextLink(response.headers.get('link'));
      } else {
        const values = (page as { values?: unknown } | null)?.values;
        if (!Array.isArray(values)) throw new ApiError('GET', path, response.status, 'expected a page with values');
        items.push(...(values as T[]));
        if (pagination === 'bitbucket-cloud') {
          const next = (page as { next?: unknown }).next;
          url = typeof next === 'string' && next !== '' ? next : undefined;
        } else {
          const { isLastPage, nextPageStart } = page as { isLastPage?: unknown; nextPageStart?: unknown };
          url =
            isLastPage === false && typeof nextPageStart === 'number'
              ? this.url(path, { ...query, start: nextPageStart })
              : undefined;
        }
      }
      // A next link must stay on the API host: never send the token elsewhere.
      if (url && new URL(url).origin !== new URL(this.options.baseUrl).origin) {
        throw new ApiError('GET', path, response.status, 'next page points to another host');
      }
    }
    return { notModified: false, items, ...(pages === 1 && firstEtag ? { etag: firstEtag } : {}) };
  }

  private url(path: string, query: RequestOptions['query'] = {}): string {
    const url = new URL(`${withoutTrailingSlashes(this.options.baseUrl)}${path}`);
    for (const [key, value] of Object.entries(query)) if (value !== undefined) url.searchParams.set(key, String(value));
    return url.toString();
  }

  private async send<T>(
    method: string,
    url: string,
    path: string,
    body?: unknown,
    secrets: readonly string[] = [],
    ifNoneMatch?: string,
  ): Promise<ApiResponse<T>> {
    const authorizer = this.options.authorizer;
    const allSecrets = () => [...(this.options.secrets ?? []), ...(authorizer?.secrets() ?? []), ...secrets];
    // Scrubbed before any cut, so no part of a secret is left where a cut fell inside it.
    const failure = (status: number, detail: string) =>
      new ApiError(method, path, status, scrubSecrets(detail, allSecrets()).slice(0, 200));
    const maxAttempts = this.options.maxAttempts ?? 4;
    const isWrite = writeMethods.has(method);
    const authorized: AuthorizedRequest = { method, path, scope: credentialScope.getStore() };
    let renewedOnce = false;
    for (let attempt = 1; ; attempt += 1) {
      // Before the wait and the counting: fetching a credential is a request of its own.
      const authorization = authorizer ? await authorizer.authorization(authorized, this) : undefined;
      const budget = this.options.budget;
      await this.waitUntil(
        Math.max(
          this.notBefore,
          isWrite ? this.lastWrite + (this.options.writeSpacingMs ?? 0) : 0,
          budget ? budget.earliest(method, this.now()) : 0,
        ),
        method,
        path,
      );
      this.stats.calls += 1;
      budget?.record(method, this.now());
      if (isWrite) {
        this.stats.writes += 1;
        this.lastWrite = this.now();
      }
      const remaining = this.options.deadline - this.now();
      // Header names are case-insensitive: the caller's `Accept` replaces the default instead of joining it.
      const headers = new Headers({
        accept: 'application/json',
        ...(body !== undefined ? { 'content-type': 'application/json' } : {}),
      });
      for (const [name, value] of Object.entries(this.options.headers)) headers.set(name, value);
      if (authorization !== undefined) headers.set('authorization', authorization);
      if (ifNoneMatch !== undefined) headers.set('if-none-match', ifNoneMatch);
      const timedOut = (error: unknown): boolean => (error as { name?: string }).name === 'TimeoutError';
      const response = await this.fetchFn(url, {
        method,
        headers,
        ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
        // A whole number of ms (it throws on a fraction), and at most 2^31-1: longer fires at once, or throws past 2^32-1.
        signal: AbortSignal.timeout(Math.min(MAX_TIMER_MS, Math.max(1, Math.floor(remaining)))),
        // Never follow: fetch would re-send the token (undici drops only `Authorization` across origins, not
        // PRIVATE-TOKEN) and the hook secret in the body to wherever the Location points.
        redirect: 'manual',
      }).catch((error: unknown) => {
        if (timedOut(error)) throw new BudgetExhausted(`${method} ${path} did not finish before the run's deadline`);
        throw failure(
          0,
          `unreachable (${(error as { cause?: { code?: string } }).cause?.code ?? (error as Error).message})`,
        );
      });
      this.noteRateLimit(response.headers);
      budget?.notePrimary(response.headers);
      const text = await response.text().catch((error: unknown) => {
        if (timedOut(error)) throw new BudgetExhausted(`${method} ${path} did not finish before the run's deadline`);
        throw failure(response.status, `response body unreadable (${(error as Error).message})`);
      });
      if (response.status === 304 && ifNoneMatch !== undefined) {
        this.notModified += 1;
        return { status: 304, headers: response.headers, body: undefined as T };
      }
      if (response.status >= 300 && response.status < 400)
        throw failure(response.status, this.redirectRefused(response.headers.get('location'), url));
      if (response.ok)
        return {
          status: response.status,
          headers: response.headers,
          body: (text === '' ? undefined : parseJson(text)) as T,
        };

      // A credential that expired or was revoked since it was handed out: renewed, and the request sent again, once.
      if (response.status === 401 && authorization !== undefined && !renewedOnce) {
        renewedOnce = true;
        if (authorizer?.rejected(authorization, authorized)) {
          attempt -= 1;
          continue;
        }
      }
      const wait = this.retryDelay(response, attempt);
      if (response.status === 429 && !this.saysWhen(response.headers)) {
        const reason = errorDetail(text).replace(/\s+/g, ' ').trim();
        throw new RateLimited(
          scrubSecrets(
            `${method} ${path}: HTTP 429 without Retry-After${reason ? ` (${reason.slice(0, 120)})` : ''}: not retried in this run`,
            allSecrets(),
          ),
        );
      }
      const retryable =
        response.status === 429 ||
        (response.status === 403 && wait !== undefined) ||
        (response.status >= 500 && safeMethods.has(method));
      if (!retryable || attempt >= maxAttempts) throw failure(response.status, errorDetail(text));
      // Never earlier than a reset already noted from this response's rate-limit headers.
      this.notBefore = Math.max(this.notBefore, this.now() + (wait ?? backoff(attempt)));
    }
  }

  /**
   * Why a 3xx is an error: the API moved or a proxy sends us elsewhere, and following could hand the token to another
   * host; a person checks `apiUrl`. Only the target's origin is named (a Location can carry credentials in its query).
   */
  private redirectRefused(location: string | null, from: string): string {
    const target = location !== null && URL.canParse(location, from) ? new URL(location, from).origin : '(no location)';
    return `redirect to ${target} refused: the sync does not follow redirects (check the registration's apiUrl)`;
  }

  /**
   * Rate-limit signals, most specific first: `Retry-After` (seconds or a date), then a reset time when the remaining
   * budget is 0 (GitHub `x-ratelimit-reset`, GitLab `ratelimit-reset`, both epoch seconds). GitHub's secondary limits
   * come as 403 or 429 with `retry-after`.
   */
  private retryDelay(response: Response, attempt: number): number | undefined {
    const retryAfter = response.headers.get('retry-after');
    if (retryAfter !== null) {
      const seconds = Number(retryAfter);
      if (Number.isFinite(seconds)) return Math.max(0, seconds * 1000);
      const date = Date.parse(retryAfter);
      if (!Number.isNaN(date)) return Math.max(0, date - this.now());
    }
    const remaining = response.headers.get('x-ratelimit-remaining') ?? response.headers.get('ratelimit-remaining');
    const reset = response.headers.get('x-ratelimit-reset') ?? response.headers.get('ratelimit-reset');
    if (remaining === '0' && reset !== null && Number.isFinite(Number(reset)))
      return Math.max(0, Number(reset) * 1000 - this.now());
    return response.status === 429 ? backoff(attempt) : undefined;
  }

  /** Whether a response names a time to retry: `Retry-After`, or a spent budget with its reset time. */
  private saysWhen(headers: Headers): boolean {
    if (headers.get('retry-after') !== null) return true;
    const remaining = headers.get('x-ratelimit-remaining') ?? headers.get('ratelimit-remaining');
    const reset = headers.get('x-ratelimit-reset') ?? headers.get('ratelimit-reset');
    return remaining === '0' && reset !== null && Number.isFinite(Number(reset));
  }

  /** After a response that used up the budget, hold the next call until the reset instead of provoking a 429. */
  private noteRateLimit(headers: Headers): void {
    const remaining = headers.get('x-ratelimit-remaining') ?? headers.get('ratelimit-remaining');
    const reset = headers.get('x-ratelimit-reset') ?? headers.get('ratelimit-reset');
    if (remaining === '0' && reset !== null && Number.isFinite(Number(reset)))
      this.notBefore = Math.max(this.notBefore, Number(reset) * 1000);
  }

  private async waitUntil(at: number, method: string, path: string): Promise<void> {
    const delay = at - this.now();
    if (delay <= 0) return;
    if (at >= this.options.deadline)
      throw new BudgetExhausted(`${method} ${path} would have to wait past the run's deadline`);
    await this.sleep(delay);
  }
}

/** Exponential back-off with full jitter: 1 s, 2 s, 4 s ... at most 30 s. */
function backoff(attempt: number): number {
  return Math.round(Math.random() * Math.min(30_000, 1000 * 2 ** (attempt - 1)));
}

export function nextLink(header: string | null): string | undefined {
  if (!header) return undefined;
  for (const part of header.split(',')) {
    const match = /<([^>]+)>\s*;(.*)/.exec(part.trim());
    if (match && /\brel="?next"?/.test(match[2] ?? '')) return match[1];
  }
  return undefined;
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}

/**
 * The reason in an error body, which the ApiClient then scrubs and cuts to 200 characters (providers put the reason in
 * `message`; GitHub's 422 says only "Validation Failed" there and the reason in `errors[].message` or
 * `errors[].code`/`field`).
 */
function errorDetail(text: string): string {
  return describeBody(parseJson(text));
}

/**
 * The reason in a provider's error body. Shapes seen: GitHub `{message, errors: [{message|field,code}]}`, GitLab
 * `{message}` / `{error}` / `{message: {field: [..]}}`, Bitbucket Cloud `{error: {message}}`, Bitbucket Data Center
 * `{errors: [{message}]}`, Gitea binding errors `[{fieldNames, message}]`.
 */
function describeBody(body: unknown): string {
  if (typeof body === 'string') return body;
  if (Array.isArray(body))
    return body
      .map(describeBody)
      .filter((r) => r !== '')
      .join('; ');
  if (body === null || typeof body !== 'object') return body === undefined ? '' : String(body);
  const { message, error, errors, field, code } = body as Record<string, unknown>;
  const head = message !== undefined ? describeBody(message) : error !== undefined ? describeBody(error) : '';
  const reasons = Array.isArray(errors) ? describeBody(errors) : '';
  if (head !== '' || reasons !== '') return [head, reasons].filter((r) => r !== '').join(': ');
  const fieldCode = [field, code].filter((x): x is string => typeof x === 'string').join(' ');
  return fieldCode !== '' ? fieldCode : JSON.stringify(body);
}
