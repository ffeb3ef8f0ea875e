import { ApiClient, ApiError, BudgetExhausted, nextLink, RateLimited } from '../../lib/sync/http';
import type { ApiClientOptions } from '../../lib/sync/http';

/** A scripted response: status, JSON body (or raw text) and headers. */
interface Scripted {
  status?: number;
  body?: unknown;
  text?: string;
  headers?: Record<string, string>;
}

interface Call {
  method: string;
  url: string;
  headers: Headers;
  body?: string;
}

const START = Date.parse('2026-03-01T12:00:00Z');

/**
 * An ApiClient over a fake fetch that answers from a script (or a function of the call), on a fake clock that only
 * the injected sleep advances. Nothing waits for real.
 */
function harness(
  script: Array<Scripted | Error | DOMException> | ((call: Call) => Scripted),
  options: Partial<ApiClientOptions> = {},
) {
  let clock = START;
  const sleeps: number[] = [];
  const calls: Call[] = [];
  const queue = Array.isArray(script) ? [...script] : undefined;
  const fakeFetch = async (input: string | URL | Request, init?: RequestInit): Promise<Response> => {
    const call: Call = { method: init?.method ?? 'GET', url: String(input), headers: new Headers(init?.headers) };
    if (typeof init?.body === 'string') call.body = init.body;
    calls.push(call);
    const next = queue ? queue.shift() : (script as (call: Call) => Scripted)(call);
    if (next === undefined) throw new Error(`unscripted call ${call.method} ${call.url}`);
    if (next instanceof Error || next instanceof DOMException) throw next;
    const status = next.status ?? 200;
    const text = next.text ?? (next.body === undefined ? '' : JSON.stringify(next.body));
    return new Response(status === 204 || text === '' ? null : text, { status, headers: next.headers ?? {} });
  };
  const client = new ApiClient({
    baseUrl: 'https://api.example.test/api/v3',
    headers: { authorization: 'Bearer sekret-token-value' },
    deadline: START + 15 * 60_000,
    fetch: fakeFetch as typeof fetch,
    now: () => clock,
    sleep: async (ms) => {
      sleeps.push(ms);
      clock += ms;
    },
    ...options,
  });
  return { client, calls, sleeps, now: () => clock, advance: (ms: number) => (clock += ms) };
}

describe('nextLink', () => {
  it('finds rel="next" among other relations, quoted or not', () => {
    const header =
      '<https://api.github.com/repositories/1/hooks?per_page=2&page=1>; rel="prev", <https://api.github.com/repositories/1/hooks?per_page=2&page=3>; rel="next", <https://api.github.com/repositories/1/hooks?per_page=2&page=5>; rel="last"';
    expect(nextLink(header)).toBe('https://api.github.com/repositories/1/hooks?per_page=2&page=3');
    expect(nextLink('<https://x.test/a?page=2>; rel=next')).toBe('https://x.test/a?page=2');
    expect(nextLink('<https://x.test/a?page=1>; rel="first", <https://x.test/a?page=1>; rel="prev"')).toBeUndefined();
    expect(nextLink(null)).toBeUndefined();
    expect(nextLink('')).toBeUndefined();
  });
});

describe('ApiClient pagination', () => {
  it('follows Link headers across pages and keeps the query of the first request', async () => {
    const { client, calls } = harness([
      {
        body: [1, 2],
        headers: { link: '<https://api.example.test/api/v3/repositories/7/hooks?per_page=100&page=2>; rel="next"' },
      },
      {
        body: [3, 4],
        headers: {
          link: '<https://api.example.test/api/v3/repositories/7/hooks?per_page=100&page=3>; rel="next", <https://api.example.test/api/v3/repositories/7/hooks?per_page=100&page=1>; rel="first"',
        },
      },
      {
        body: [5],
        headers: { link: '<https://api.example.test/api/v3/repositories/7/hooks?per_page=100&page=1>; rel="first"' },
      },
    ]);
    await expect(
      client.list<number>('/repos/o/r/hooks', 'link', { per_page: 100, skipped: undefined }),
    ).resolves.toEqual([1, 2, 3, 4, 5]);
    expect(calls.map((c) => c.url)).toEqual([
      'https://api.example.test/api/v3/repos/o/r/hooks?per_page=100',
      'https://api.example.test/api/v3/repositories/7/hooks?per_page=100&page=2',
      'https://api.example.test/api/v3/repositories/7/hooks?per_page=100&page=3',
    ]);
    expect(client.stats).toEqual({ calls: 3, writes: 0 });
  });

  it('refuses a next link to another host, before sending the token there', async () => {
    const { client, calls } = harness([
      { body: [1], headers: { link: '<https://evil.example.test/api/v3/repos/o/r/hooks?page=2>; rel="next"' } },
    ]);
    const error = await client.list('/repos/o/r/hooks', 'link').catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ApiError);
    expect((error as Error).message).toMatch(/another host/);
    expect(calls).toHaveLength(1);
  });

  it('refuses a page that is not an array', async () => {
    const { client } = harness([{ body: { message: 'not a list' } }]);
    await expect(client.list('/repos/o/r/hooks', 'link')).rejects.toThrow(/expected a JSON array/);
  });

  it('follows Bitbucket Cloud `next` URLs until a page has none', async () => {
    const { client, calls } = harness(
      [
        { body: { values: ['a'], next: 'https://api.example.test/api/v3/repositories/w/r/hooks?page=2', pagelen: 1 } },
        { body: { values: ['b'], next: '' } },
      ],
      {},
    );
    await expect(client.list<string>('/repositories/w/r/hooks', 'bitbucket-cloud', { pagelen: 1 })).resolves.toEqual([
      'a',
      'b',
    ]);
    expect(calls.map((c) => c.url)).toEqual([
      'https://api.example.test/api/v3/repositories/w/r/hooks?pagelen=1',
      'https://api.example.test/api/v3/repositories/w/r/hooks?page=2',
    ]);
  });

  it('refuses a Bitbucket Cloud `next` URL on another host', async () => {
    const { client, calls } = harness([
      { body: { values: ['a'], next: 'https://elsewhere.test/2.0/repositories/w/r/hooks?page=2' } },
    ]);
    await expect(client.list('/repositories/w/r/hooks', 'bitbucket-cloud')).rejects.toThrow(/another host/);
    expect(calls).toHaveLength(1);
  });

  it('pages Bitbucket Data Center with isLastPage/nextPageStart and ?start=', async () => {
    const { client, calls } = harness([
      { body: { values: [1, 2], size: 2, isLastPage: false, start: 0, limit: 2, nextPageStart: 2 } },
      { body: { values: [3, 4], size: 2, isLastPage: false, start: 2, limit: 2, nextPageStart: 4 } },
      { body: { values: [5], size: 1, isLastPage: true, start: 4, limit: 2 } },
    ]);
    await expect(
      client.list<number>('/projects/P/repos/r/webhooks', 'bitbucket-server', { limit: 2 }),
    ).resolves.toEqual([1, 2, 3, 4, 5]);
    expect(calls.map((c) => new URL(c.url).search)).toEqual(['?limit=2', '?limit=2&start=2', '?limit=2&start=4']);
  });

  it('refuses a Bitbucket page without values', async () => {
    const { client } = harness([{ body: { size: 0 } }]);
    await expect(client.list('/projects/P/repos/r/webhooks', 'bitbucket-server')).rejects.toThrow(
      /expected a page with values/,
    );
  });
});

describe('ApiClient requests', () => {
  it('sends JSON with the caller headers replacing the defaults case-insensitively', async () => {
    const { client, calls } = harness([{ status: 201, body: { id: 1 } }], {
      headers: {
        Authorization: 'Bearer t0ken-value',
        Accept: 'application/vnd.github+json',
        'X-GitHub-Api-Version': '2022-11-28',
      },
    });
    const response = await client.request<{ id: number }>('POST', '/repos/o/r/hooks', {
      body: { name: 'web' },
      query: { a: 1, b: undefined },
    });
    expect(response).toMatchObject({ status: 201, body: { id: 1 } });
    const [call] = calls;
    expect(call?.url).toBe('https://api.example.test/api/v3/repos/o/r/hooks?a=1');
    expect(call?.headers.get('accept')).toBe('application/vnd.github+json');
    expect(call?.headers.get('content-type')).toBe('application/json');
    expect(call?.headers.get('x-github-api-version')).toBe('2022-11-28');
    expect(call?.body).toBe('{"name":"web"}');
  });

  it('answers an empty body (204) as undefined and a non-JSON body as text', async () => {
    const { client } = harness([{ status: 204 }, { text: 'plain words' }]);
    await expect(client.request('DELETE', '/repos/o/r/hooks/1')).resolves.toMatchObject({
      status: 204,
      body: undefined,
    });
    await expect(client.request('GET', '/x')).resolves.toMatchObject({ body: 'plain words' });
  });

  it('names the call and the provider message in errors, GitHub validation reasons included', async () => {
    const { client } = harness([
      {
        status: 422,
        body: {
          message: 'Validation Failed',
          errors: [{ resource: 'Hook', code: 'custom', message: 'Hook already exists on this repository' }],
          documentation_url: 'https://docs',
        },
      },
      {
        status: 422,
        body: { message: 'Validation Failed', errors: [{ resource: 'Hook', code: 'missing_field', field: 'url' }] },
      },
      { status: 400, body: { message: { url: ['is blocked'] } } },
    ]);
    const first = (await client.request('POST', '/repos/o/r/hooks').catch((e: unknown) => e)) as ApiError;
    expect(first).toBeInstanceOf(ApiError);
    expect(first).toMatchObject({ method: 'POST', path: '/repos/o/r/hooks', status: 422 });
    expect(first.message).toBe(
      'POST /repos/o/r/hooks: HTTP 422 Validation Failed: Hook already exists on this repository',
    );
    await expect(client.request('POST', '/repos/o/r/hooks')).rejects.toThrow(
      'HTTP 422 Validation Failed: url missing_field',
    );
    await expect(client.request('POST', '/projects/1/hooks')).rejects.toThrow('HTTP 400 {"url":["is blocked"]}');
  });

  it('reports an unreachable server as ApiError status 0', async () => {
    const refused = Object.assign(new TypeError('fetch failed'), { cause: { code: 'ECONNREFUSED' } });
    const { client } = harness([refused]);
    await expect(client.request('GET', '/x')).rejects.toMatchObject({
      name: 'ApiError',
      status: 0,
      message: 'GET /x: HTTP 0 unreachable (ECONNREFUSED)',
    });
  });

  it('does not leak the token into error messages', async () => {
    const { client } = harness([{ status: 401, body: { message: 'Bad credentials' } }]);
    const error = (await client.request('GET', '/repos/o/r/hooks').catch((e: unknown) => e)) as Error;
    expect(error.message).toBe('GET /repos/o/r/hooks: HTTP 401 Bad credentials');
    expect(error.message).not.toContain('sekret-token-value');
  });
});

describe('ApiClient rate limits and retries', () => {
  it('waits Retry-After seconds on a 429, then succeeds', async () => {
    const { client, sleeps, calls } = harness([{ status: 429, headers: { 'retry-after': '3' } }, { body: [] }]);
    await expect(client.request('GET', '/x')).resolves.toMatchObject({ status: 200 });
    expect(sleeps).toEqual([3000]);
    expect(calls).toHaveLength(2);
  });

  it('does not retry a 429 that says nothing about when: RateLimited (a BudgetExhausted), so the next run resumes', async () => {
    // Bitbucket Cloud (an hour's window) and GitLab's hook test endpoint (a minute's) answer 429 without Retry-After:
    // jittered retries of a second or two cannot succeed, they only spend the budget and the run's time.
    const { client, sleeps, calls } = harness([
      { status: 429, body: { error: { message: 'Rate limit for this resource has been exceeded' } } },
      { body: [] },
    ]);
    const error = (await client.request('GET', '/x').catch((e: unknown) => e)) as Error;
    expect(error).toBeInstanceOf(RateLimited);
    expect(error).toBeInstanceOf(BudgetExhausted);
    expect(error.message).toBe(
      'GET /x: HTTP 429 without Retry-After (Rate limit for this resource has been exceeded): not retried in this run',
    );
    expect(calls).toHaveLength(1);
    expect(sleeps).toEqual([]);
  });

  it('waits until a Retry-After HTTP date', async () => {
    const { client, sleeps } = harness([
      { status: 503, headers: { 'retry-after': new Date(START + 5000).toUTCString() } },
      { body: {} },
    ]);
    await client.request('GET', '/x');
    expect(sleeps).toEqual([5000]);
  });

  it('retries a GitHub secondary limit (403 + retry-after), writes included', async () => {
    const { client, sleeps, calls } = harness([
      { status: 403, body: { message: 'You have exceeded a secondary rate limit.' }, headers: { 'retry-after': '60' } },
      { status: 201, body: { id: 1 } },
    ]);
    await expect(client.request('POST', '/repos/o/r/hooks', { body: {} })).resolves.toMatchObject({ status: 201 });
    expect(sleeps).toEqual([60_000]);
    expect(calls.map((c) => c.method)).toEqual(['POST', 'POST']);
    expect(client.stats).toEqual({ calls: 2, writes: 2 });
  });

  it('waits for x-ratelimit-reset when a 403 says the primary budget is spent', async () => {
    const reset = START / 1000 + 10;
    const { client, sleeps } = harness([
      { status: 403, headers: { 'x-ratelimit-remaining': '0', 'x-ratelimit-reset': String(reset) } },
      { body: [] },
    ]);
    await client.request('GET', '/x');
    expect(sleeps).toEqual([10_000]);
  });

  it('waits for GitLab ratelimit-reset on a 429', async () => {
    const { client, sleeps } = harness([
      { status: 429, headers: { 'ratelimit-remaining': '0', 'ratelimit-reset': String(START / 1000 + 20) } },
      { body: [] },
    ]);
    await client.request('GET', '/x');
    expect(sleeps).toEqual([20_000]);
  });

  it('holds the next call after a success that spent the budget, instead of provoking a limit', async () => {
    const { client, sleeps, calls } = harness([
      { body: [], headers: { 'x-ratelimit-remaining': '0', 'x-ratelimit-reset': String(START / 1000 + 30) } },
      { body: [] },
    ]);
    await client.request('GET', '/a');
    expect(sleeps).toEqual([]);
    await client.request('GET', '/b');
    expect(sleeps).toEqual([30_000]);
    expect(calls).toHaveLength(2);
  });

  it('does not retry a 403 that is not a rate limit', async () => {
    const { client, calls } = harness([{ status: 403, body: { message: 'Must have admin rights to Repository.' } }]);
    await expect(client.request('GET', '/x')).rejects.toMatchObject({ status: 403 });
    expect(calls).toHaveLength(1);
  });

  it('retries a 5xx for GET but not for POST', async () => {
    const get = harness([{ status: 502, body: { message: 'Server Error' } }, { body: [] }]);
    await expect(get.client.request('GET', '/x')).resolves.toMatchObject({ status: 200 });
    expect(get.calls).toHaveLength(2);
    expect(get.sleeps).toHaveLength(1);

    const post = harness([{ status: 502, body: { message: 'Server Error' } }, { status: 201 }]);
    await expect(post.client.request('POST', '/x', { body: {} })).rejects.toMatchObject({ status: 502 });
    expect(post.calls).toHaveLength(1);
  });

  it('gives up after maxAttempts', async () => {
    const { client, calls } = harness(() => ({ status: 429, headers: { 'retry-after': '1' } }), { maxAttempts: 3 });
    await expect(client.request('GET', '/x')).rejects.toMatchObject({ name: 'ApiError', status: 429 });
    expect(calls).toHaveLength(3);
    expect(client.stats.calls).toBe(3);
  });

  it('spaces writes, and only writes', async () => {
    const { client, sleeps, now } = harness(() => ({ status: 200, body: {} }), { writeSpacingMs: 1000 });
    await client.request('POST', '/a', { body: {} });
    await client.request('GET', '/list');
    await client.request('PATCH', '/a/1', { body: {} });
    await client.request('DELETE', '/a/1');
    await client.request('GET', '/list');
    expect(sleeps).toEqual([1000, 1000]);
    expect(now() - START).toBe(2000);
    expect(client.stats).toEqual({ calls: 5, writes: 3 });
  });

  it('counts the time already passed against the write spacing', async () => {
    const h = harness(() => ({ status: 200, body: {} }), { writeSpacingMs: 1000 });
    await h.client.request('POST', '/a', { body: {} });
    h.advance(600);
    await h.client.request('POST', '/b', { body: {} });
    expect(h.sleeps).toEqual([400]);
  });
});

describe('ApiClient deadline', () => {
  it('stops with BudgetExhausted instead of waiting past the deadline', async () => {
    const { client, sleeps, calls } = harness([{ status: 429, headers: { 'retry-after': '3600' } }, { body: [] }]);
    const error = await client.request('GET', '/repos/o/r/hooks').catch((e: unknown) => e);
    expect(error).toBeInstanceOf(BudgetExhausted);
    expect((error as Error).message).toMatch(/GET \/repos\/o\/r\/hooks would have to wait past the run's deadline/);
    expect(sleeps).toEqual([]);
    expect(calls).toHaveLength(1);
  });

  it('does not start a call once a noted reset lies past the deadline', async () => {
    const { client, calls } = harness([
      { body: [], headers: { 'x-ratelimit-remaining': '0', 'x-ratelimit-reset': String(START / 1000 + 3600) } },
    ]);
    await client.request('GET', '/a');
    await expect(client.request('GET', '/b')).rejects.toBeInstanceOf(BudgetExhausted);
    expect(calls).toHaveLength(1);
  });

  it('turns a call cut off by the deadline into BudgetExhausted', async () => {
    const timeout = new DOMException('The operation was aborted due to timeout', 'TimeoutError');
    const { client } = harness([timeout]);
    await expect(client.request('GET', '/x')).rejects.toBeInstanceOf(BudgetExhausted);
  });

  it('passes the time left as the request timeout, within what timers can hold', async () => {
    const signals: Array<AbortSignal | null | undefined> = [];
    const capture = async (_: string | URL | Request, init?: RequestInit) => {
      signals.push(init?.signal);
      return new Response('[]', { status: 200 });
    };
    // A far deadline (a fake clock at 0, or a test's "no deadline") used to throw RangeError from AbortSignal.timeout
    // beyond 2^32-1 ms, and to fire at once beyond 2^31-1 ms.
    const far = new ApiClient({
      baseUrl: 'https://x.test',
      headers: {},
      deadline: 1e13,
      now: () => 0,
      fetch: capture as typeof fetch,
    });
    await expect(far.request('GET', '/a')).resolves.toMatchObject({ status: 200 });
    const near = new ApiClient({
      baseUrl: 'https://x.test',
      headers: {},
      deadline: 3e9,
      now: () => 0,
      fetch: capture as typeof fetch,
    });
    await expect(near.request('GET', '/b')).resolves.toMatchObject({ status: 200 });
    // A fractional clock (a fake one, after a jittered back-off) used to throw RangeError: the timeout must be whole.
    const fractional = new ApiClient({
      baseUrl: 'https://x.test',
      headers: {},
      deadline: 60_000,
      now: () => 0.25,
      fetch: capture as typeof fetch,
    });
    await expect(fractional.request('GET', '/c')).resolves.toMatchObject({ status: 200 });
    await new Promise((resolve) => setTimeout(resolve, 20));
    expect(signals.map((s) => s?.aborted)).toEqual([false, false, false]);
  });
});

describe('error bodies of every provider become one readable reason', () => {
  const failWith = (body: unknown) => {
    const client = new ApiClient({
      baseUrl: 'https://api.example',
      headers: {},
      deadline: Number.MAX_SAFE_INTEGER,
      fetch: (async () => new Response(JSON.stringify(body), { status: 422 })) as typeof fetch,
    });
    return client.request('POST', '/hooks').then(
      () => 'no error',
      (error: Error) => error.message,
    );
  };
  test.each<[string, unknown, string]>([
    [
      'GitHub',
      {
        message: 'Validation Failed',
        errors: [{ resource: 'Hook', code: 'custom', message: 'Hook already exists on this repository' }],
      },
      'Validation Failed: Hook already exists on this repository',
    ],
    [
      'GitLab',
      { message: { url: ['is blocked: Requests to localhost are not allowed'] } },
      '{"url":["is blocked: Requests to localhost are not allowed"]}',
    ],
    ['GitLab Grape', { error: 'url is missing' }, 'url is missing'],
    [
      'Bitbucket Cloud',
      { type: 'error', error: { message: 'Bad request', fields: { url: ['Invalid URL'] } } },
      'Bad request',
    ],
    [
      'Bitbucket Data Center',
      { errors: [{ context: null, message: 'The webhook URL is invalid', exceptionName: 'x' }] },
      'The webhook URL is invalid',
    ],
    ['Gitea binding errors', [{ fieldNames: ['Config'], classification: 'Required', message: 'Required' }], 'Required'],
  ])('%s', async (_name, body, reason) => {
    expect(await failWith(body)).toBe(`POST /hooks: HTTP 422 ${reason}`);
  });
});

describe('ApiClient error scrubbing', () => {
  it('scrubs secrets before cutting the detail, so a cut never leaves part of one', async () => {
    const secret = 'hook-secret-straddling-the-cut';
    const { client } = harness([{ status: 422, body: { message: `${'x'.repeat(185)} ${secret} rest` } }], {
      secrets: ['sekret-token-value'],
    });
    const error = (await client
      .request('POST', '/hooks', { body: { secret }, secrets: [secret] })
      .catch((e: unknown) => e)) as ApiError;
    expect(error).toBeInstanceOf(ApiError);
    expect(error.message).not.toContain(secret.slice(0, 8));
    expect(error.message).toContain('[REDACTED]');
  });

  it('scrubs a secret quoted as JSON too (its quotes and backslashes escaped)', async () => {
    const secret = 'with"quote\\and-backslash';
    const { client } = harness([{ status: 400, body: { rejected: { secret } } }]);
    const error = (await client
      .request('POST', '/hooks', { body: { secret }, secrets: [secret] })
      .catch((e: unknown) => e)) as ApiError;
    expect(error.message).toBe('POST /hooks: HTTP 400 {"rejected":{"secret":"[REDACTED]"}}');
  });
});

describe('RequestAuthorizer: credentials fetched per request', () => {
  /** An authorizer handing out `token-1`, `token-2`, ... and renewing when told its current one was refused. */
  function authorizer(renew = true) {
    let current = 1;
    const seen: Array<{ path: string; scope: string | undefined }> = [];
    const value = () => `Bearer rotating-token-${current}`;
    return {
      seen,
      authorizer: {
        authorization: async (request: { path: string; scope: string | undefined }) => {
          seen.push({ path: request.path, scope: request.scope });
          return value();
        },
        rejected: (sent: string) => {
          if (!renew) return false;
          if (sent === value()) current += 1;
          return true;
        },
        secrets: () => [`rotating-token-${current}`, `rotating-token-${current - 1}`],
      },
    };
  }

  it('sets Authorization over the fixed headers, and passes the scope of inScope', async () => {
    const { authorizer: auth, seen } = authorizer();
    const { client, calls } = harness([{ body: [] }, { body: [] }], { authorizer: auth });
    await client.inScope('acme/widgets', () => client.request('GET', '/repos/acme/widgets/hooks'));
    await client.request('GET', '/meta');
    expect(calls.map((c) => c.headers.get('authorization'))).toEqual([
      'Bearer rotating-token-1',
      'Bearer rotating-token-1',
    ]);
    expect(seen).toEqual([
      { path: '/repos/acme/widgets/hooks', scope: 'acme/widgets' },
      { path: '/meta', scope: undefined },
    ]);
  });

  it('a 401 renews once and retries; a second 401 fails the call', async () => {
    const { authorizer: auth } = authorizer();
    const { client, calls } = harness([{ status: 401, body: { message: 'Bad credentials' } }, { body: [] }], {
      authorizer: auth,
    });
    await expect(client.request('GET', '/x')).resolves.toMatchObject({ status: 200 });
    expect(calls.map((c) => c.headers.get('authorization'))).toEqual([
      'Bearer rotating-token-1',
      'Bearer rotating-token-2',
    ]);
    const again = harness(
      [
        { status: 401, body: { message: 'Bad credentials' } },
        { status: 401, body: { message: 'Bad credentials' } },
      ],
      { authorizer: authorizer().authorizer },
    );
    await expect(again.client.request('GET', '/x')).rejects.toMatchObject({ status: 401 });
    expect(again.calls).toHaveLength(2);
  });

  it('a 401 the authorizer cannot help is not retried', async () => {
    const { client, calls } = harness([{ status: 401, body: { message: 'Bad credentials' } }], {
      authorizer: authorizer(false).authorizer,
    });
    await expect(client.request('GET', '/x')).rejects.toMatchObject({ status: 401 });
    expect(calls).toHaveLength(1);
  });

  it("scrubs the authorizer's credentials from errors", async () => {
    const { client } = harness([{ status: 400, body: { message: 'you sent Bearer rotating-token-1, which is odd' } }], {
      authorizer: authorizer().authorizer,
    });
    const error = (await client.request('GET', '/x').catch((e: unknown) => e)) as ApiError;
    expect(error.message).not.toContain('rotating-token-1');
    expect(error.message).toContain('[REDACTED]');
  });
});
