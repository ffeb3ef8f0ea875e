import type { HookApi, HookSpec, HookTarget } from '../../lib/sync/hook-api';
import { ApiClient, ApiError, BudgetExhausted } from '../../lib/sync/http';
import { githubHooks } from '../../lib/sync/providers/github';
import { GitHubApiServer, githubOpenApi } from '../support/github-api-server';
import type { GitHubApiServerOptions } from '../support/github-api-server';

const TOKEN = 'ghp_relayTestToken0123456789abcdefABCDEF';
const START = Date.parse('2026-03-01T12:00:00Z');
const MINUTE = 60_000;

const repo: HookTarget = { kind: 'repository', path: 'acme/widgets' };
const org: HookTarget = { kind: 'organization', path: 'acme' };
const hidden: HookTarget = { kind: 'repository', path: 'acme/secret-plans' };

function spec(overrides: Partial<HookSpec> = {}): HookSpec {
  return {
    url: 'https://relay.example.com/hook/github/acme-widgets?v=3',
    events: ['push'],
    secret: 'whsec-version-3',
    name: 'flux-webhook-relay',
    ...overrides,
  };
}

let server: GitHubApiServer;
let clock: number;
let sleeps: number[];
let api: HookApi;
const now = () => clock;
const sleep = async (ms: number) => {
  sleeps.push(ms);
  clock += ms;
};

async function startServer(options: GitHubApiServerOptions = {}): Promise<void> {
  server = await GitHubApiServer.start({ now, maxPerPage: 2, ...options });
  // Canonical spelling differs from the lower-cased keys the sync uses: GitHub matches case-insensitively.
  server.addToken(TOKEN, { repos: ['Acme/Widgets', 'acme/gadgets', 'acme/gizmos'], orgs: ['Acme'] });
  server.addRepository('acme/secret-plans');
}

function client(overrides: { token?: string; deadline?: number } = {}): HookApi {
  return githubHooks({
    apiUrl: server.url,
    token: overrides.token ?? TOKEN,
    deadline: overrides.deadline ?? START + 15 * MINUTE,
    now,
    sleep,
    allowHttpLoopback: true,
  });
}

beforeEach(async () => {
  clock = START;
  sleeps = [];
  await startServer();
  api = client();
});

afterEach(async () => {
  const violations = [...server.violations];
  await server.close();
  // Every request the client sent and every answer the server gave matched GitHub's OpenAPI description.
  expect(violations).toEqual([]);
});

/** Requests other than the test's own raw ones. */
function sent(method?: string) {
  return server.requests.filter((r) => method === undefined || r.method === method);
}

/** A request of the test's own; writes advance the clock a second, as the server asks. */
async function raw(method: string, path: string, body?: unknown, token: string | null = TOKEN) {
  if (method !== 'GET') clock += 1000;
  const response = await fetch(`${server.url}${path}`, {
    method,
    headers: {
      'user-agent': 'test',
      ...(token ? { authorization: `Bearer ${token}` } : {}),
      ...(body !== undefined ? { 'content-type': 'application/json' } : {}),
    },
    ...(body !== undefined ? { body: typeof body === 'string' ? body : JSON.stringify(body) } : {}),
  });
  const text = await response.text();
  return {
    status: response.status,
    headers: response.headers,
    body: text === '' ? undefined : (JSON.parse(text) as Record<string, unknown>),
  };
}

describe('githubHooks: shape', () => {
  it('declares the provider, the relay events and the content type', () => {
    expect(api.provider).toBe('github');
    expect(api.relayEvents).toEqual(['push']);
    expect(api.contentType).toBe('json');
    expect(api.client).toBeInstanceOf(ApiClient);
  });

  it('takes exactly owner/repo as a repository path', () => {
    expect(api.repositoryPath('acme/widgets')).toBe('acme/widgets');
    expect(api.repositoryPath('acme.io/my_repo.js')).toBe('acme.io/my_repo.js');
    for (const bad of [
      'acme',
      'acme/widgets/extra',
      'group/sub/project',
      '/widgets',
      'acme/',
      '',
      'acme/..',
      './x',
      'a b/c',
      'acme/w?x',
    ]) {
      expect(api.repositoryPath(bad)).toBeUndefined();
    }
  });

  it('refuses malformed targets and hook ids before calling', async () => {
    await expect(api.listHooks({ kind: 'repository', path: 'acme' })).rejects.toThrow(/not an owner\/repository path/);
    await expect(api.listHooks({ kind: 'organization', path: 'acme/widgets' })).rejects.toThrow(
      /not an organization name/,
    );
    await expect(api.deleteHook(repo, '../1')).rejects.toThrow(/not a GitHub hook id/);
    expect(server.requests).toEqual([]);
  });
});

describe('githubHooks: repository hooks', () => {
  it('lists hooks across Link pages and maps them to HookState', async () => {
    const ids = [
      server.addHook(repo, {
        url: 'https://ci.example.com/a',
        events: ['push', 'create', 'pull_request'],
        contentType: 'form',
      }),
      server.addHook(repo, {
        url: 'https://relay.example.com/hook/github/acme-widgets?v=2',
        secret: 's3cr3t-value',
        contentType: 'json',
      }),
      server.addHook(repo, { url: 'https://ci.example.com/c', active: false, events: ['release'] }),
      server.addHook(repo, { url: 'https://ci.example.com/d' }),
      server.addHook(repo, { url: 'https://ci.example.com/e', events: ['*'] }),
    ];
    server.addDelivery(repo, ids[3] as string, { statusCode: 502 });
    server.addDelivery(repo, ids[1] as string, { statusCode: 200 });

    const hooks = await api.listHooks(repo);
    expect(hooks).toEqual([
      {
        id: ids[0],
        url: 'https://ci.example.com/a',
        events: ['create', 'pull_request', 'push'],
        active: true,
        contentType: 'form',
        lastDeliveryFailed: false,
      },
      {
        id: ids[1],
        url: 'https://relay.example.com/hook/github/acme-widgets?v=2',
        events: ['push'],
        active: true,
        contentType: 'json',
        lastDeliveryFailed: false,
      },
      {
        id: ids[2],
        url: 'https://ci.example.com/c',
        events: ['release'],
        active: false,
        contentType: 'form',
        lastDeliveryFailed: false,
      },
      {
        id: ids[3],
        url: 'https://ci.example.com/d',
        events: ['push'],
        active: true,
        contentType: 'form',
        lastDeliveryFailed: true,
      },
      {
        id: ids[4],
        url: 'https://ci.example.com/e',
        events: ['*'],
        active: true,
        contentType: 'form',
        lastDeliveryFailed: false,
      },
    ]);
    expect(JSON.stringify(hooks)).not.toContain('s3cr3t-value');

    // Three pages of two: the first as built, then GitHub's own links (to /repositories/{id}/...), followed as given.
    const gets = sent('GET');
    expect(gets.map((r) => [r.path, r.query])).toEqual([
      ['/repos/acme/widgets/hooks', { per_page: '100' }],
      [expect.stringMatching(/^\/repositories\/[0-9]+\/hooks$/), { per_page: '100', page: '2' }],
      [expect.stringMatching(/^\/repositories\/[0-9]+\/hooks$/), { per_page: '100', page: '3' }],
    ]);
    expect(gets.every((r) => r.status === 200 && r.operationId === 'repos/list-webhooks')).toBe(true);
    // The secret never comes back, only its mask.
    expect((gets[0]?.responseBody as Array<{ config: Record<string, string> }>)[1]?.config.secret).toBe('********');
  });

  it('sends GitHub’s headers, and only one Accept', async () => {
    await api.listHooks(repo);
    const [request] = sent();
    expect(request?.headers).toMatchObject({
      authorization: 'Bearer',
      accept: 'application/vnd.github+json',
      'x-github-api-version': '2022-11-28',
      'user-agent': 'flux-webhook-relay',
    });
  });

  it('creates a hook with content type json, the events, active, and the secret stored', async () => {
    await api.createHook(repo, spec());
    const [post] = sent('POST');
    expect(post).toMatchObject({
      path: '/repos/acme/widgets/hooks',
      operationId: 'repos/create-webhook',
      status: 201,
      body: {
        name: 'web',
        active: true,
        events: ['push'],
        config: { url: spec().url, content_type: 'json', insecure_ssl: '0', secret: 'whsec-version-3' },
      },
    });
    expect((post?.responseBody as { config: Record<string, string> }).config).toEqual({
      content_type: 'json',
      insecure_ssl: '0',
      secret: '********',
      url: spec().url,
    });

    const [stored] = server.hooks(repo);
    expect(stored).toMatchObject({
      type: 'Repository',
      name: 'web',
      active: true,
      events: ['push'],
      config: { url: spec().url, content_type: 'json', insecure_ssl: '0' },
    });
    expect(server.hookSecret(repo, stored?.id as number)).toBe('whsec-version-3');
    await expect(api.listHooks(repo)).resolves.toEqual([
      {
        id: String(stored?.id),
        url: spec().url,
        events: ['push'],
        active: true,
        contentType: 'json',
        lastDeliveryFailed: false,
      },
    ]);
  });

  it('updates with the whole config, so the secret is kept or replaced, never removed', async () => {
    const id = server.addHook(repo, {
      url: 'https://relay.example.com/hook/github/acme-widgets?v=2',
      events: ['push', 'issues'],
      contentType: 'form',
      secret: 'whsec-version-2',
      active: false,
    });

    // Same secret, new URL: the secret survives.
    await api.updateHook(repo, id, spec({ secret: 'whsec-version-2' }));
    expect(server.hookSecret(repo, id)).toBe('whsec-version-2');
    // New secret: replaced.
    await api.updateHook(repo, id, spec({ secret: 'whsec-version-3' }));
    expect(server.hookSecret(repo, id)).toBe('whsec-version-3');

    const patches = sent('PATCH');
    expect(patches).toHaveLength(2);
    for (const patch of patches) {
      expect(patch).toMatchObject({
        path: `/repos/acme/widgets/hooks/${id}`,
        operationId: 'repos/update-webhook',
        status: 200,
      });
      expect(patch.body).toEqual({
        active: true,
        events: ['push'],
        config: { url: spec().url, content_type: 'json', insecure_ssl: '0', secret: expect.any(String) },
      });
    }
    expect(server.hooks(repo)).toEqual([
      expect.objectContaining({
        active: true,
        events: ['push'],
        config: { url: spec().url, content_type: 'json', insecure_ssl: '0', secret: 'whsec-version-3' },
      }),
    ]);
  });

  it('(the server) removes the secret on a PATCH without one, as GitHub documents', async () => {
    const id = server.addHook(repo, { url: 'https://ci.example.com/x', secret: 'keep-me-please' });
    expect(githubOpenApi.paths['/repos/{owner}/{repo}/hooks/{hook_id}']?.patch).toMatchObject({
      description: expect.stringContaining('or the secret will be removed'),
    });
    const answer = await raw('PATCH', `/repos/acme/widgets/hooks/${id}`, {
      active: true,
      config: { url: 'https://ci.example.com/x', content_type: 'json' },
    });
    expect(answer.status).toBe(200);
    expect(server.hookSecret(repo, id)).toBeUndefined();
    expect((answer.body?.config as Record<string, string>).secret).toBeUndefined();
  });

  it('deletes a hook', async () => {
    const keep = server.addHook(repo, { url: 'https://ci.example.com/keep' });
    const drop = server.addHook(repo, { url: 'https://relay.example.com/hook/github/old' });
    await api.deleteHook(repo, drop);
    expect(sent('DELETE')).toEqual([
      expect.objectContaining({
        path: `/repos/acme/widgets/hooks/${drop}`,
        status: 204,
        operationId: 'repos/delete-webhook',
      }),
    ]);
    expect(server.hooks(repo).map((h) => String(h.id))).toEqual([keep]);
  });

  it('spaces its writes one second apart (and the server would refuse faster ones)', async () => {
    await api.createHook(repo, spec());
    await api.createHook({ kind: 'repository', path: 'acme/gadgets' }, spec());
    await api.listHooks(repo);
    const [hook] = server.hooks(repo);
    await api.updateHook(repo, String(hook?.id), spec({ secret: 'next' }));
    await api.deleteHook(repo, String(hook?.id));
    expect(sleeps).toEqual([1000, 1000, 1000]);
    expect(server.requests.every((r) => (r.status ?? 0) < 400)).toBe(true);
    expect(server.writeCount).toBe(4);
    expect(api.client.stats).toEqual({ calls: 5, writes: 4 });
  });

  it('reports a refused create with GitHub’s reason and the repository', async () => {
    server.addHook(repo, { url: spec().url, events: ['push'] });
    const error = (await api.createHook(repo, spec()).catch((e: unknown) => e)) as ApiError;
    expect(error).toBeInstanceOf(ApiError);
    expect(error.status).toBe(422);
    expect(error.message).toBe(
      'github acme/widgets: POST /repos/acme/widgets/hooks: HTTP 422 Validation Failed: Hook already exists on this repository',
    );
  });
});

describe('githubHooks: organisation hooks', () => {
  it('lists, creates, updates and deletes under /orgs/{org}/hooks', async () => {
    const old = server.addHook(org, {
      url: 'https://relay.example.com/hook/github/acme?v=1',
      secret: 'org-secret-1',
      events: ['push', 'repository'],
    });
    server.addHook(org, { url: 'https://audit.example.com/a' });
    server.addHook(org, { url: 'https://audit.example.com/b' });

    const listed = await api.listHooks(org);
    expect(listed.map((h) => h.url)).toEqual([
      'https://relay.example.com/hook/github/acme?v=1',
      'https://audit.example.com/a',
      'https://audit.example.com/b',
    ]);
    // Organisation hooks have no last_response: nothing to say about the last delivery.
    expect(listed[0]).toEqual({
      id: old,
      url: 'https://relay.example.com/hook/github/acme?v=1',
      events: ['push', 'repository'],
      active: true,
      contentType: 'form',
    });

    await api.updateHook(
      org,
      old,
      spec({ url: 'https://relay.example.com/hook/github/acme?v=2', secret: 'org-secret-2' }),
    );
    expect(server.hookSecret(org, old)).toBe('org-secret-2');
    await api.createHook(org, spec({ url: 'https://relay.example.com/hook/github/acme-extra?v=1' }));
    await api.deleteHook(org, old);

    expect(server.requests.map((r) => `${r.method} ${r.operationId} ${r.status}`)).toEqual([
      'GET orgs/list-webhooks 200',
      'GET orgs/list-webhooks 200',
      'PATCH orgs/update-webhook 200',
      'POST orgs/create-webhook 201',
      'DELETE orgs/delete-webhook 204',
    ]);
    expect(server.hooks(org).map((h) => [h.config.url, h.config.content_type, h.config.secret])).toEqual([
      ['https://audit.example.com/a', 'form', undefined],
      ['https://audit.example.com/b', 'form', undefined],
      ['https://relay.example.com/hook/github/acme-extra?v=1', 'json', 'whsec-version-3'],
    ]);
  });
});

describe('githubHooks: rate limits and failures', () => {
  it('waits out a primary limit answered 429 (remaining 0, reset), then succeeds', async () => {
    server.fault({ kind: 'primary-rate-limit', status: 429, resetInSeconds: 30, times: 1 });
    await expect(api.listHooks(repo)).resolves.toEqual([]);
    expect(sleeps).toEqual([30_000]);
    expect(server.requests.map((r) => r.status)).toEqual([429, 200]);
  });

  it('waits out a primary limit answered 403', async () => {
    server.fault({ kind: 'primary-rate-limit', status: 403, resetInSeconds: 90, times: 1 });
    await api.createHook(repo, spec());
    expect(sleeps).toEqual([90_000]);
    expect(server.requests.map((r) => r.status)).toEqual([403, 201]);
    expect(server.hooks(repo)).toHaveLength(1);
  });

  it('waits Retry-After on a secondary limit (403 + retry-after), writes included', async () => {
    server.fault({ kind: 'secondary-rate-limit', retryAfterSeconds: 7, times: 2 });
    await api.createHook(repo, spec());
    expect(sleeps).toEqual([7000, 7000]);
    expect(server.requests.map((r) => r.status)).toEqual([403, 403, 201]);
  });

  it('stops with BudgetExhausted when the primary budget resets after the deadline', async () => {
    server.fault({ kind: 'primary-rate-limit', resetInSeconds: 3600 });
    const error = await api.listHooks(repo).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(BudgetExhausted);
    expect(sleeps).toEqual([]);
    expect(server.requests).toHaveLength(1);
  });

  it('spends a small hourly budget, then waits for the reset or stops at the deadline', async () => {
    await server.close();
    await startServer({ rateLimit: 2 });
    api = client();
    await api.listHooks(repo);
    await api.listHooks(repo);
    expect(server.rateLimit(TOKEN).remaining).toBe(0);
    // The second answer said remaining 0 until a reset an hour away: the client does not even send the third call.
    await expect(api.listHooks(repo)).rejects.toBeInstanceOf(BudgetExhausted);
    expect(server.requests.map((r) => r.status)).toEqual([200, 200]);
    // A client that has not seen that answer asks, gets GitHub's 403, and stops for the same reason.
    await expect(client().listHooks(repo)).rejects.toBeInstanceOf(BudgetExhausted);
    expect(server.requests.map((r) => r.status)).toEqual([200, 200, 403]);

    // With time enough, a client waits for the reset and carries on.
    const patient = client({ deadline: START + 2 * 3_600_000 });
    await expect(patient.listHooks(repo)).resolves.toEqual([]);
    expect(server.requests.map((r) => r.status)).toEqual([200, 200, 403, 403, 200]);
    expect(sleeps).toEqual([3_600_000]);
    expect(server.rateLimit(TOKEN)).toMatchObject({ remaining: 1, used: 1 });
  });

  it('retries a 5xx on a read but not on a write', async () => {
    server.fault({ kind: 'status', status: 502, times: 1 });
    await expect(api.listHooks(repo)).resolves.toEqual([]);
    expect(server.requests.map((r) => r.status)).toEqual([502, 200]);

    server.clearRequests();
    server.fault({ kind: 'status', status: 502, times: 1 });
    const error = (await api.createHook(repo, spec()).catch((e: unknown) => e)) as ApiError;
    expect(error).toBeInstanceOf(ApiError);
    expect(error.message).toBe('github acme/widgets: POST /repos/acme/widgets/hooks: HTTP 502 Server Error');
    expect(server.requests.map((r) => `${r.method} ${r.status}`)).toEqual(['POST 502']);
  });

  it('names the repository, never the token, on 401 and 404', async () => {
    const wrong = client({ token: 'ghp_wrongTokenValue0000000000000000000000' });
    const unauthorized = (await wrong.listHooks(repo).catch((e: unknown) => e)) as ApiError;
    expect(unauthorized).toBeInstanceOf(ApiError);
    expect(unauthorized.status).toBe(401);
    expect(unauthorized.message).toBe('github acme/widgets: GET /repos/acme/widgets/hooks: HTTP 401 Bad credentials');

    const notFound = (await api.createHook(hidden, spec()).catch((e: unknown) => e)) as ApiError;
    expect(notFound.status).toBe(404);
    expect(notFound.message).toBe('github acme/secret-plans: POST /repos/acme/secret-plans/hooks: HTTP 404 Not Found');
    const missingOrg = (await api
      .listHooks({ kind: 'organization', path: 'umbrella' })
      .catch((e: unknown) => e)) as ApiError;
    expect(missingOrg.message).toBe('github umbrella: GET /orgs/umbrella/hooks: HTTP 404 Not Found');

    for (const e of [unauthorized, notFound, missingOrg]) {
      expect(`${e.message} ${e.stack ?? ''}`).not.toContain(TOKEN);
      expect(`${e.message} ${e.stack ?? ''}`).not.toContain('ghp_wrongToken');
    }
    expect(server.hooks(hidden)).toEqual([]);
  });
});

describe('githubHooks: redelivering failed deliveries', () => {
  const T = START;
  function seedDeliveries(target: HookTarget, hookId: string) {
    const at = (minutesAgo: number) => T - minutesAgo * MINUTE;
    const add = (guid: string, minutesAgo: number, statusCode: number, redelivery = false) =>
      server.addDelivery(target, hookId, { guid, deliveredAt: at(minutesAgo), statusCode, redelivery });
    add('g1', 50, 503); //            failed, then redelivered successfully: done
    add('g1', 40, 200, true);
    add('g2', 30, 502); //            failed: redeliver
    add('g3', 20, 200); //            fine
    add('g4', 10, 0); //              failed to connect, and its redelivery failed too: redeliver (the newest attempt)
    const g4Newest = add('g4', 5, 504, true);
    add('g5', 180, 500); //           failed, but before `since`
    add('g6', 120, 200);
    add('g7', 240, 500); //           older pages: never fetched
    add('g8', 300, 500);
    return { g2: server.deliveries(target, hookId).find((d) => d.guid === 'g2')?.id, g4Newest };
  }

  it('redelivers each event whose newest attempt failed since the given time, and stops paging there', async () => {
    const id = server.addHook(repo, { url: spec().url, secret: 'x' });
    const { g2, g4Newest } = seedDeliveries(repo, id);

    // The newest delivery (g4's redelivery) failed: `last_response` says so.
    await expect(api.listHooks(repo)).resolves.toEqual([expect.objectContaining({ lastDeliveryFailed: true })]);
    await expect(api.redeliverFailed?.(repo, id, T - 60 * MINUTE)).resolves.toBe(2);

    const gets = sent('GET').filter((r) => r.operationId === 'repos/list-webhook-deliveries');
    // Pages of two, newest first: [g4 g4] [g3 g2] [g1 g1] [g6 g5] — the fourth reaches before `since`; [g7 g8] is never asked for.
    expect(gets).toHaveLength(4);
    expect(gets[0]).toMatchObject({ path: `/repos/acme/widgets/hooks/${id}/deliveries`, query: { per_page: '100' } });
    expect(gets[1]?.query).toEqual({ per_page: '100', cursor: expect.stringMatching(/^v1_/) });
    // Oldest first, one second apart.
    expect(sent('POST').map((r) => [r.path, r.status, r.operationId])).toEqual([
      [`/repos/acme/widgets/hooks/${id}/deliveries/${g2}/attempts`, 202, 'repos/redeliver-webhook-delivery'],
      [`/repos/acme/widgets/hooks/${id}/deliveries/${g4Newest}/attempts`, 202, 'repos/redeliver-webhook-delivery'],
    ]);
    expect(sleeps).toEqual([1000]);
    // GitHub recorded the two redeliveries (same guids, newest last), and the receiver took them this time.
    expect(
      server
        .deliveries(repo, id)
        .slice(-2)
        .map((d) => [d.guid, d.redelivery, d.status_code]),
    ).toEqual([
      ['g2', true, 200],
      ['g4', true, 200],
    ]);

    // Now the newest attempts succeeded: nothing left to do.
    server.clearRequests();
    await expect(api.redeliverFailed?.(repo, id, T - 60 * MINUTE)).resolves.toBe(0);
    expect(sent('POST')).toEqual([]);
  });

  it('counts only what GitHub accepted, and names the repository when a redelivery fails', async () => {
    const id = server.addHook(repo, { url: spec().url });
    server.addDelivery(repo, id, { guid: 'a', deliveredAt: T - 2 * MINUTE, statusCode: 500 });
    server.fault({
      kind: 'status',
      status: 422,
      message: 'Validation Failed',
      match: (r) => r.method === 'POST',
      times: 1,
    });
    await expect(api.redeliverFailed?.(repo, id, T - 10 * MINUTE)).rejects.toThrow(
      /^github acme\/widgets: POST \/repos\/acme\/widgets\/hooks\/[0-9]+\/deliveries\/[0-9]+\/attempts: HTTP 422/,
    );
  });

  it('works for organisation hooks', async () => {
    const id = server.addHook(org, { url: spec().url });
    server.addDelivery(org, id, { guid: 'o1', deliveredAt: T - 3 * MINUTE, statusCode: 500 });
    server.addDelivery(org, id, { guid: 'o2', deliveredAt: T - 2 * MINUTE, statusCode: 200 });
    await expect(api.redeliverFailed?.(org, id, T - 10 * MINUTE)).resolves.toBe(1);
    expect(sent('POST').map((r) => r.operationId)).toEqual(['orgs/redeliver-webhook-delivery']);
    expect(
      server
        .deliveries(org, id)
        .filter((d) => d.guid === 'o1')
        .map((d) => d.redelivery),
    ).toEqual([false, true]);
  });

  it('finds nothing to do on a hook without deliveries', async () => {
    const id = server.addHook(repo, { url: spec().url });
    await expect(api.redeliverFailed?.(repo, id, T - 10 * MINUTE)).resolves.toBe(0);
    expect(sent()).toHaveLength(1);
  });
});

describe('the GitHub test server', () => {
  it('validates against GitHub’s OpenAPI description, extracted with its source recorded', () => {
    expect(githubOpenApi.source).toMatchObject({
      package: '@octokit/openapi',
      version: expect.stringMatching(/^23\./),
      file: 'generated/api.github.com.json',
    });
    expect(Object.keys(githubOpenApi.paths)).toEqual(
      expect.arrayContaining([
        '/repos/{owner}/{repo}/hooks',
        '/repos/{owner}/{repo}/hooks/{hook_id}',
        '/repos/{owner}/{repo}/hooks/{hook_id}/config',
        '/repos/{owner}/{repo}/hooks/{hook_id}/deliveries',
        '/repos/{owner}/{repo}/hooks/{hook_id}/deliveries/{delivery_id}/attempts',
        '/repos/{owner}/{repo}/hooks/{hook_id}/pings',
        '/repos/{owner}/{repo}/hooks/{hook_id}/tests',
        '/orgs/{org}/hooks',
        '/orgs/{org}/hooks/{hook_id}/deliveries/{delivery_id}/attempts',
      ]),
    );
  });

  it('answers 401 Bad credentials without a token or with a wrong one', async () => {
    for (const token of [null, 'nope']) {
      const answer = await raw('GET', '/repos/acme/widgets/hooks', undefined, token);
      expect(answer.status).toBe(401);
      expect(answer.body).toMatchObject({ message: 'Bad credentials', documentation_url: expect.any(String) });
    }
  });

  it('answers 404 for repositories the token cannot see, and for unknown hooks', async () => {
    expect((await raw('GET', '/repos/acme/secret-plans/hooks')).status).toBe(404);
    expect((await raw('GET', '/repos/nobody/nothing/hooks')).status).toBe(404);
    expect((await raw('GET', '/repos/acme/widgets/hooks/12345')).status).toBe(404);
    expect((await raw('GET', '/repos/acme/widgets/hooks/not-a-number')).status).toBe(404);
  });

  it('answers 422 with GitHub’s error shape for a hook it refuses, and defaults content_type to form', async () => {
    const noUrl = await raw('POST', '/repos/acme/widgets/hooks', { name: 'web', config: { content_type: 'json' } });
    expect(noUrl.status).toBe(422);
    expect(noUrl.body).toMatchObject({
      message: 'Validation Failed',
      errors: [{ resource: 'Hook', code: 'missing_field', field: 'url' }],
      documentation_url: expect.stringContaining('docs.github.com'),
    });
    expect(
      (await raw('POST', '/repos/acme/widgets/hooks', { name: 'jenkins', config: { url: 'https://x.test' } })).body,
    ).toMatchObject({ errors: [{ field: 'name', code: 'invalid' }] });
    expect(
      (await raw('POST', '/repos/acme/widgets/hooks', { config: { url: 'https://x.test' }, events: ['pushh'] })).status,
    ).toBe(422);
    expect(
      (await raw('POST', '/repos/acme/widgets/hooks', { config: { url: 'https://x.test', content_type: 'xml' } }))
        .status,
    ).toBe(422);

    const created = await raw('POST', '/repos/acme/widgets/hooks', { config: { url: 'https://x.test/hook' } });
    expect(created.status).toBe(201);
    expect(created.headers.get('location')).toBe(created.body?.url);
    expect(created.body).toMatchObject({
      name: 'web',
      events: ['push'],
      active: true,
      config: { content_type: 'form', insecure_ssl: '0', url: 'https://x.test/hook' },
    });
    expect(server.violations).toEqual([]);
  });

  it('answers 400 for broken JSON and 422 "Invalid request" for a body off the schema (recorded as violations)', async () => {
    expect((await raw('POST', '/repos/acme/widgets/hooks', '{"config":')).body).toMatchObject({
      message: 'Problems parsing JSON',
    });
    const offSchema = await raw('POST', '/repos/acme/widgets/hooks', {
      config: { url: 'https://x.test' },
      events: 'push',
      colour: 'blue',
    });
    expect(offSchema.status).toBe(422);
    expect(offSchema.body?.message).toMatch(/^Invalid request\.\n\n/);
    expect(server.violations).toEqual([
      expect.stringMatching(/request body: .*additional properties \(colour\).*\/events must be array/),
    ]);
    server.violations.length = 0;
  });

  it('refuses writes closer than a second apart with a secondary limit', async () => {
    const hasty = new ApiClient({
      baseUrl: server.url,
      headers: { authorization: `Bearer ${TOKEN}`, 'user-agent': 'test' },
      deadline: START + MINUTE,
      now,
      sleep,
      allowHttpLoopback: true,
    });
    await hasty.request('POST', '/repos/acme/widgets/hooks', {
      body: { config: { url: 'https://a.test', content_type: 'json' } },
    });
    await hasty.request('POST', '/repos/acme/widgets/hooks', {
      body: { config: { url: 'https://b.test', content_type: 'json' } },
    });
    expect(server.requests.map((r) => [r.status, r.responseHeaders?.['retry-after']])).toEqual([
      [201, undefined],
      [403, '1'],
      [201, undefined],
    ]);
    expect(sleeps).toEqual([1000]);
  });

  it('sends rate-limit headers, and requires a User-Agent', async () => {
    const answer = await raw('GET', '/repos/acme/widgets/hooks');
    expect(Object.fromEntries([...answer.headers].filter(([k]) => k.startsWith('x-ratelimit-')))).toEqual({
      'x-ratelimit-limit': '5000',
      'x-ratelimit-remaining': '4999',
      'x-ratelimit-reset': String(START / 1000 + 3600),
      'x-ratelimit-used': '1',
      'x-ratelimit-resource': 'core',
    });
    const noAgent = await fetch(`${server.url}/repos/acme/widgets/hooks`, {
      headers: { authorization: `Bearer ${TOKEN}`, 'user-agent': '' },
    });
    expect(noAgent.status).toBe(403);
  });

  it('serves config, pings, tests and one delivery, keeping an omitted secret on PATCH .../config', async () => {
    const id = server.addHook(repo, { url: 'https://x.test/a', secret: 'cfg-secret' });
    expect((await raw('GET', `/repos/acme/widgets/hooks/${id}/config`)).body).toEqual({
      content_type: 'form',
      insecure_ssl: '0',
      secret: '********',
      url: 'https://x.test/a',
    });
    expect(
      (await raw('PATCH', `/repos/acme/widgets/hooks/${id}/config`, { url: 'https://x.test/b', content_type: 'json' }))
        .status,
    ).toBe(200);
    expect(server.hookSecret(repo, id)).toBe('cfg-secret');
    expect((await raw('POST', `/repos/acme/widgets/hooks/${id}/pings`)).status).toBe(204);
    expect((await raw('POST', `/repos/acme/widgets/hooks/${id}/tests`)).status).toBe(204);
    const [ping, push] = server.deliveries(repo, id);
    expect([ping?.event, push?.event]).toEqual(['ping', 'push']);
    expect((await raw('GET', `/repos/acme/widgets/hooks/${id}/deliveries/${push?.id}`)).body).toMatchObject({
      guid: push?.guid,
      event: 'push',
      request: { headers: expect.any(Object) },
    });
  });
});
