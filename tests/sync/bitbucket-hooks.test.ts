import type { HookApi, HookSpec, HookTarget } from '../../lib/sync/hook-api';
import { ApiError, BudgetExhausted, RateLimited } from '../../lib/sync/http';
import { planTarget } from '../../lib/sync/plan';
import { bitbucketCloudHooks } from '../../lib/sync/providers/bitbucket-cloud';
import { bitbucketServerHooks } from '../../lib/sync/providers/bitbucket-server';
import { BitbucketCloudTestServer } from '../support/bitbucket-cloud-api-server';
import { BitbucketServerTestServer } from '../support/bitbucket-server-api-server';

const TOKEN = 'tok-5ecret-0123456789abcdef';
const RELAY = 'https://relay.example/hook';

/** A fake clock: `sleep` advances it at once, so nothing really waits; `sleeps` records every pause. */
function fakeClock() {
  const clock = { t: 1_750_000_000_000, sleeps: [] as number[] };
  return {
    clock,
    now: () => clock.t,
    sleep: async (ms: number) => {
      clock.sleeps.push(ms);
      clock.t += ms;
    },
  };
}

function spec(overrides: Partial<HookSpec> = {}): HookSpec {
  return {
    url: `${RELAY}/bitbucket?relay-secret-version=1`,
    events: ['repo:push'],
    secret: 'hook-secret-1',
    name: 'flux-webhook-relay',
    ...overrides,
  };
}

async function failure(promise: Promise<unknown>): Promise<Error> {
  try {
    await promise;
  } catch (error) {
    return error as Error;
  }
  throw new Error('expected a rejection');
}

const repo = (path: string): HookTarget => ({ kind: 'repository', path });
const ownership = { hooksPrefix: `${RELAY}/`, receivers: new Set(['bitbucket']) };
/** What a sync run would plan for `target` from the hooks the client lists. */
async function plan(hooks: HookApi, target: HookTarget, wanted: HookSpec) {
  return planTarget(target, wanted, await hooks.listHooks(target), ownership, { events: hooks.relayEvents });
}
const org = (path: string): HookTarget => ({ kind: 'organization', path });

// ---------------------------------------------------------------------------------------------------------------------

describe('Bitbucket Cloud hooks', () => {
  let server: BitbucketCloudTestServer;
  let time: ReturnType<typeof fakeClock>;

  function api(token = TOKEN, deadlineIn = 60_000): HookApi {
    return bitbucketCloudHooks({
      apiUrl: server.apiUrl,
      token,
      deadline: time.clock.t + deadlineIn,
      now: time.now,
      sleep: time.sleep,
      allowHttpLoopback: true,
    });
  }

  beforeEach(async () => {
    server = await BitbucketCloudTestServer.start({ pageSize: 2 });
    server.addRepository('acme/app');
    server.addRepository('acme/other');
    server.addToken(TOKEN, { repositories: ['acme/app'] });
    server.addToken('ws-token', { workspaces: ['acme'], owner: true });
    time = fakeClock();
  });
  afterEach(async () => {
    jest.restoreAllMocks();
    const violations = [...server.violations];
    await server.close();
    // Every answer matched Atlassian's Bitbucket Cloud OpenAPI description.
    expect(violations).toEqual([]);
  });

  it('maps identity key paths to workspace/repo and nothing else', () => {
    const hooks = api();
    expect(hooks.provider).toBe('bitbucket-cloud');
    expect(hooks.relayEvents).toEqual(['repo:push']);
    expect(hooks.contentType).toBeUndefined();
    expect(hooks.repositoryPath('acme/app')).toBe('acme/app');
    expect(hooks.repositoryPath('acme/app.config')).toBe('acme/app.config');
    for (const bad of ['acme', 'acme/app/extra', '', 'acme/', '/app', 'acme/..', 'ac me/app'])
      expect(hooks.repositoryPath(bad)).toBeUndefined();
  });

  it('lists hooks across pages, following next, and never sees a secret', async () => {
    for (let i = 1; i <= 5; i++)
      server.addHook('acme/app', {
        url: `${RELAY}/${i}`,
        description: `hook ${i}`,
        events: ['repo:push', 'issue:created'],
        secret: `s${i}`,
      });
    server.addHook('acme/other', { url: `${RELAY}/elsewhere` });
    const hooks = await api().listHooks(repo('acme/app'));

    expect(hooks.map((h) => h.url)).toEqual([1, 2, 3, 4, 5].map((i) => `${RELAY}/${i}`));
    expect(hooks[0]).toEqual({
      id: expect.stringMatching(/^\{[0-9a-f-]{36}\}$/),
      url: `${RELAY}/1`,
      events: ['issue:created', 'repo:push'],
      active: true,
      name: 'hook 1',
    });
    expect(JSON.stringify(hooks)).not.toMatch(/"s[1-5]"|secret/);
    const gets = server.requests.filter((r) => r.method === 'GET');
    expect(gets).toHaveLength(3);
    expect(gets.map((r) => r.query)).toEqual([
      { pagelen: '50' },
      { pagelen: '50', page: '2' },
      { pagelen: '50', page: '3' },
    ]);
    expect(
      gets.every((r) => r.path === '/2.0/repositories/acme/app/hooks' && r.authorization === `Bearer ${TOKEN}`),
    ).toBe(true);
  });

  it('creates a hook with description, url, active, events and secret', async () => {
    await api().createHook(repo('acme/app'), spec());
    const post = server.requests.find((r) => r.method === 'POST');
    expect(post?.body).toEqual({
      description: 'flux-webhook-relay',
      url: spec().url,
      active: true,
      events: ['repo:push'],
      secret: 'hook-secret-1',
    });
    expect(post?.status).toBe(201);
    const [stored] = server.storedHooks('acme/app');
    expect(stored?.secret).toBe('hook-secret-1');
    expect(await api().listHooks(repo('acme/app'))).toEqual([
      { id: stored?.uuid, url: spec().url, events: ['repo:push'], active: true, name: 'flux-webhook-relay' },
    ]);
  });

  it('updates with the secret every time: the same secret stays, a new one replaces it', async () => {
    const uuid = server.addHook('acme/app', {
      url: `${RELAY}/old`,
      description: 'old',
      events: ['repo:push', 'pullrequest:created'],
      active: false,
      secret: 'hook-secret-1',
    });
    await api().updateHook(repo('acme/app'), uuid, spec());
    expect(server.secretOf(uuid)).toBe('hook-secret-1');
    await api().updateHook(
      repo('acme/app'),
      uuid,
      spec({ secret: 'hook-secret-2', url: `${RELAY}/bitbucket?relay-secret-version=2` }),
    );
    expect(server.secretOf(uuid)).toBe('hook-secret-2');
    const put = server.requests.filter((r) => r.method === 'PUT').at(-1);
    expect(put?.path).toBe(`/2.0/repositories/acme/app/hooks/${encodeURIComponent(uuid)}`);
    expect(put?.body).toEqual({
      description: 'flux-webhook-relay',
      url: `${RELAY}/bitbucket?relay-secret-version=2`,
      active: true,
      events: ['repo:push'],
      secret: 'hook-secret-2',
    });
    expect(server.storedHooks('acme/app')[0]).toMatchObject({
      active: true,
      events: ['repo:push'],
      description: 'flux-webhook-relay',
    });
  });

  it('server: a PUT without secret keeps it, null removes it (what the client must not rely on)', async () => {
    const uuid = server.addHook('acme/app', { url: `${RELAY}/x`, secret: 'kept' });
    const put = (body: unknown) =>
      fetch(`${server.apiUrl}/repositories/acme/app/hooks/${encodeURIComponent(uuid)}`, {
        method: 'PUT',
        headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' },
        body: JSON.stringify(body),
      });
    const kept = await put({ description: 'renamed' });
    expect(kept.status).toBe(200);
    expect(await kept.json()).toMatchObject({ description: 'renamed', secret_set: true });
    expect(server.secretOf(uuid)).toBe('kept');
    expect(await (await put({ secret: null })).json()).toMatchObject({ secret_set: false });
    expect(server.secretOf(uuid)).toBeNull();
  });

  it('a hook whose secret was removed (secret_set: false) is drift, and the update gives it the secret again', async () => {
    // Removed in the UI or by a PUT with `secret: null`: deliveries then come unsigned and the relay refuses them all.
    const uuid = server.addHook('acme/app', {
      url: spec().url,
      description: 'flux-webhook-relay',
      events: ['repo:push'],
      active: true,
      secret: null,
    });
    const hooks = api();
    expect((await hooks.listHooks(repo('acme/app')))[0]!.drift).toEqual(['no secret set']);
    const [action] = await plan(hooks, repo('acme/app'), spec());
    expect(action).toMatchObject({ kind: 'update', id: uuid, reasons: ['no secret set'] });
    if (action?.kind !== 'update') throw new Error('expected an update');

    await hooks.updateHook(action.target, action.id, action.spec);
    expect(server.secretOf(uuid)).toBe('hook-secret-1');
    expect((await plan(hooks, repo('acme/app'), spec())).map((a) => a.kind)).toEqual(['unchanged']);
  });

  it('a secret over 128 characters: the server refuses it, so the client says so without calling', async () => {
    const long = 'x'.repeat(129);
    const raw = await fetch(`${server.apiUrl}/repositories/acme/app/hooks`, {
      method: 'POST',
      headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' },
      body: JSON.stringify({ description: 'd', url: spec().url, active: true, events: ['repo:push'], secret: long }),
    });
    expect(raw.status).toBe(400);
    expect(await raw.json()).toMatchObject({ error: { fields: { secret: [expect.stringContaining('128')] } } });
    server.clearRequests();

    const hooks = api();
    expect(hooks.maxSecretLength).toBe(128);
    const error = await failure(hooks.createHook(repo('acme/app'), spec({ secret: long })));
    expect(error.message).toMatch(/^bitbucket-cloud acme\/app: .*129 characters.*at most 128/);
    expect(error.message).not.toContain(long);
    expect(server.requests).toEqual([]);
    // 128 is accepted.
    await hooks.createHook(repo('acme/app'), spec({ secret: 'y'.repeat(128) }));
    expect(server.storedHooks('acme/app')[0]?.secret).toBe('y'.repeat(128));
  });

  it('refuses an empty secret, a malformed hook id and a malformed path without calling', async () => {
    const hooks = api();
    expect((await failure(hooks.createHook(repo('acme/app'), spec({ secret: '' })))).message).toMatch(
      /^bitbucket-cloud acme\/app: refusing to send an empty secret/,
    );
    expect((await failure(hooks.deleteHook(repo('acme/app'), '42'))).message).toMatch(
      /^bitbucket-cloud acme\/app: hook id "42" is not a \{uuid\}/,
    );
    expect((await failure(hooks.listHooks(repo('acme')))).message).toMatch(
      /^bitbucket-cloud acme: a repository path must be exactly workspace\/repo_slug/,
    );
    expect(server.requests).toHaveLength(0);
  });

  it('deletes a hook', async () => {
    const uuid = server.addHook('acme/app', { url: `${RELAY}/x` });
    await api().deleteHook(repo('acme/app'), uuid);
    expect(server.storedHooks('acme/app')).toEqual([]);
    expect(server.requests.at(-1)).toMatchObject({ method: 'DELETE', status: 204 });
  });

  it('manages workspace hooks for organization targets with a workspace token', async () => {
    const hooks = api('ws-token');
    await hooks.createHook(org('acme'), spec());
    const [listed] = await hooks.listHooks(org('acme'));
    expect(listed).toMatchObject({ url: spec().url, name: 'flux-webhook-relay' });
    expect(server.storedHooks('acme')[0]?.secret).toBe('hook-secret-1');
    await hooks.updateHook(org('acme'), listed!.id, spec({ secret: 'hook-secret-2' }));
    expect(server.secretOf(listed!.id)).toBe('hook-secret-2');
    await hooks.deleteHook(org('acme'), listed!.id);
    expect(server.storedHooks('acme')).toEqual([]);
    expect(new Set(server.requests.map((r) => r.path.replace(/\/%7B.*$/, '')))).toEqual(
      new Set(['/2.0/workspaces/acme/hooks']),
    );
  });

  it('says clearly when a repository token cannot manage workspace hooks', async () => {
    const error = await failure(api().createHook(org('acme'), spec()));
    expect(error).toBeInstanceOf(ApiError);
    expect((error as ApiError).status).toBe(403);
    expect(error.message).toMatch(/^bitbucket-cloud acme: POST \/workspaces\/acme\/hooks: HTTP 403 .*workspace owners/);
  });

  it('401 and 404 name the repository, never the token', async () => {
    const unauthorized = await failure(api('wrong-token-value').listHooks(repo('acme/app')));
    expect(unauthorized).toBeInstanceOf(ApiError);
    expect((unauthorized as ApiError).status).toBe(401);
    expect(unauthorized.message).toMatch(/^bitbucket-cloud acme\/app: GET \/repositories\/acme\/app\/hooks: HTTP 401/);
    expect(unauthorized.message).not.toContain('wrong-token-value');

    const missing = await failure(api().createHook(repo('acme/gone'), spec()));
    expect((missing as ApiError).status).toBe(404);
    expect(missing.message).toMatch(/^bitbucket-cloud acme\/gone: POST .*HTTP 404 .*no longer exists/);
    expect(missing.message).not.toContain(TOKEN);
  });

  it('uses Basic authentication for a user:secret token (API token or app password)', async () => {
    server.addBasicUser('me@example.com', 'ATATT-api-token', { repositories: ['acme/app'] });
    await api('me@example.com:ATATT-api-token').listHooks(repo('acme/app'));
    expect(server.requests[0]?.authorization).toBe(
      `Basic ${Buffer.from('me@example.com:ATATT-api-token').toString('base64')}`,
    );
    expect(server.requests[0]?.status).toBe(200);
  });

  it('reports validation errors in the error message', async () => {
    const error = await failure(api().createHook(repo('acme/app'), spec({ url: 'not a url' })));
    expect((error as ApiError).status).toBe(400);
    expect(error.message).toMatch(/^bitbucket-cloud acme\/app: POST .*HTTP 400/);
  });

  it('a 429 (Cloud sends no Retry-After; its window is an hour) stops at once with RateLimited: one call, no wait', async () => {
    server.fault({ status: 429, times: 2 });
    const hooks = api();
    const error = await failure(hooks.listHooks(repo('acme/app')));
    expect(error).toBeInstanceOf(RateLimited);
    expect(error).toBeInstanceOf(BudgetExhausted);
    expect(error.message).toMatch(
      /^bitbucket-cloud acme\/app: GET .*HTTP 429 without Retry-After .*not retried in this run$/,
    );
    expect(server.requests.map((r) => r.status)).toEqual([429]);
    expect(time.clock.sleeps).toEqual([]);
  });

  it('retries a 5xx on GET but never repeats a POST', async () => {
    server.fault({ status: 503, times: 1 });
    await api().listHooks(repo('acme/app'));
    expect(server.requests.map((r) => r.status)).toEqual([503, 200]);

    server.clearRequests();
    server.fault({ status: 500, times: 1 });
    const error = await failure(api().createHook(repo('acme/app'), spec()));
    expect((error as ApiError).status).toBe(500);
    expect(server.requests).toHaveLength(1);
    expect(server.storedHooks('acme/app')).toEqual([]);
  });
});

// ---------------------------------------------------------------------------------------------------------------------

describe('Bitbucket Data Center hooks', () => {
  let server: BitbucketServerTestServer;
  let time: ReturnType<typeof fakeClock>;

  function api(token = TOKEN, deadlineIn = 60_000): HookApi {
    return bitbucketServerHooks({
      apiUrl: server.apiUrl,
      token,
      deadline: time.clock.t + deadlineIn,
      now: time.now,
      sleep: time.sleep,
      allowHttpLoopback: true,
    });
  }
  const dcSpec = (overrides: Partial<HookSpec> = {}) => spec({ events: ['repo:refs_changed'], ...overrides });
  const base = () => `${server.apiUrl.slice(server.url.length)}/rest/api/latest`;

  beforeEach(async () => {
    server = await BitbucketServerTestServer.start({ contextPath: '/bitbucket', pageSize: 2 });
    server.addRepository('PROJ', 'app');
    server.addRepository('PROJ', 'other');
    server.addRepository('~JDOE', 'dotfiles');
    server.addToken(TOKEN, { repositories: ['PROJ/app', '~JDOE/dotfiles'] });
    server.addToken('project-token', { projects: ['PROJ'] });
    time = fakeClock();
  });
  afterEach(async () => {
    const violations = [...server.violations];
    await server.close();
    // Every request body taken and every answer given matched Atlassian's Bitbucket Data Center OpenAPI description.
    expect(violations).toEqual([]);
  });

  it('maps ssh and http key paths to PROJ/repo, honouring the context path', () => {
    const hooks = api();
    expect(hooks.provider).toBe('bitbucket-server');
    expect(hooks.relayEvents).toEqual(['repo:refs_changed']);
    expect(hooks.repositoryPath('proj/app')).toBe('PROJ/app');
    expect(hooks.repositoryPath('bitbucket/scm/proj/app')).toBe('PROJ/app');
    expect(hooks.repositoryPath('~jdoe/dotfiles')).toBe('~JDOE/dotfiles');
    expect(hooks.repositoryPath('bitbucket/scm/~jdoe/dotfiles')).toBe('~JDOE/dotfiles');
    // Without the context path the http form is not this server's; other shapes are not repositories.
    for (const bad of [
      'scm/proj/app',
      'other/scm/proj/app',
      'bitbucket/proj/app/x',
      'proj',
      'proj/app/extra/more',
      'proj/..',
      '',
    ]) {
      expect(hooks.repositoryPath(bad)).toBeUndefined();
    }
    const rootServer = bitbucketServerHooks({
      apiUrl: server.url,
      token: TOKEN,
      deadline: time.clock.t + 1000,
      allowHttpLoopback: true,
    });
    expect(rootServer.repositoryPath('scm/proj/app')).toBe('PROJ/app');
    expect(rootServer.repositoryPath('bitbucket/scm/proj/app')).toBeUndefined();
  });

  it('lists hooks across pages with start/limit and keeps the echoed secret out of HookState', async () => {
    for (let i = 1; i <= 5; i++)
      server.addHook('PROJ/app', {
        name: `hook ${i}`,
        url: `${RELAY}/${i}`,
        events: ['repo:refs_changed', 'pr:opened'],
        secret: `s${i}`,
      });
    server.addHook('PROJ', { url: `${RELAY}/project-level` });
    const hooks = await api().listHooks(repo('PROJ/app'));

    expect(hooks.map((h) => h.url)).toEqual([1, 2, 3, 4, 5].map((i) => `${RELAY}/${i}`));
    expect(hooks[0]).toEqual({
      id: '1',
      url: `${RELAY}/1`,
      events: ['pr:opened', 'repo:refs_changed'],
      active: true,
      name: 'hook 1',
    });
    expect(JSON.stringify(hooks)).not.toMatch(/"s[1-5]"|secret/);
    const gets = server.requests.filter((r) => r.method === 'GET');
    expect(gets.map((r) => r.query)).toEqual([
      { limit: '100' },
      { limit: '100', start: '2' },
      { limit: '100', start: '4' },
    ]);
    expect(
      gets.every(
        (r) => r.path === `${base()}/projects/PROJ/repos/app/webhooks` && r.authorization === `Bearer ${TOKEN}`,
      ),
    ).toBe(true);
  });

  it('creates a hook with name, url, events, configuration.secret and TLS verification', async () => {
    await api().createHook(repo(api().repositoryPath('proj/app') as string), dcSpec());
    const post = server.requests.find((r) => r.method === 'POST');
    expect(post?.path).toBe(`${base()}/projects/PROJ/repos/app/webhooks`);
    expect(post?.body).toEqual({
      name: 'flux-webhook-relay',
      url: dcSpec().url,
      active: true,
      events: ['repo:refs_changed'],
      configuration: { secret: 'hook-secret-1' },
      sslVerificationRequired: true,
    });
    const [stored] = server.storedHooks('PROJ/app');
    expect(stored).toMatchObject({
      scopeType: 'repository',
      configuration: { secret: 'hook-secret-1' },
      sslVerificationRequired: true,
    });
  });

  it('a hook with TLS verification off is drift, and the update switches it back on', async () => {
    // Unverified TLS lets anyone on the path read the signed deliveries and answer in the relay's place.
    const id = server.addHook('PROJ/app', {
      name: 'flux-webhook-relay',
      url: dcSpec().url,
      events: ['repo:refs_changed'],
      secret: 'hook-secret-1',
      sslVerificationRequired: false,
    });
    const hooks = api();
    expect((await hooks.listHooks(repo('PROJ/app')))[0]!.drift).toEqual(['TLS verification off']);
    const [action] = await plan(hooks, repo('PROJ/app'), dcSpec());
    expect(action).toMatchObject({ kind: 'update', id: String(id), reasons: ['TLS verification off'] });
    if (action?.kind !== 'update') throw new Error('expected an update');

    await hooks.updateHook(action.target, action.id, action.spec);
    expect(server.storedHooks('PROJ/app')[0]).toMatchObject({ sslVerificationRequired: true });
    expect((await plan(hooks, repo('PROJ/app'), dcSpec())).map((a) => a.kind)).toEqual(['unchanged']);
  });

  it('updates with the whole configuration: the same secret stays, a new one replaces it', async () => {
    const id = server.addHook('PROJ/app', {
      name: 'old',
      url: `${RELAY}/old`,
      events: ['pr:opened'],
      active: false,
      secret: 'hook-secret-1',
    });
    await api().updateHook(repo('PROJ/app'), String(id), dcSpec());
    expect(server.secretOf(id)).toBe('hook-secret-1');
    await api().updateHook(repo('PROJ/app'), String(id), dcSpec({ secret: 'hook-secret-2' }));
    expect(server.secretOf(id)).toBe('hook-secret-2');
    expect(server.requests.filter((r) => r.method === 'PUT').map((r) => r.path)).toEqual([
      `${base()}/projects/PROJ/repos/app/webhooks/${id}`,
      `${base()}/projects/PROJ/repos/app/webhooks/${id}`,
    ]);
    expect(server.storedHooks('PROJ/app')[0]).toMatchObject({
      name: 'flux-webhook-relay',
      active: true,
      events: ['repo:refs_changed'],
      url: dcSpec().url,
    });
  });

  it('deletes a hook', async () => {
    const id = server.addHook('PROJ/app', { url: `${RELAY}/x` });
    await api().deleteHook(repo('PROJ/app'), String(id));
    expect(server.storedHooks('PROJ/app')).toEqual([]);
    expect(server.requests.at(-1)).toMatchObject({ method: 'DELETE', status: 204 });
  });

  it('manages project hooks for organization targets', async () => {
    const hooks = api('project-token');
    await hooks.createHook(org('proj'), dcSpec());
    const [listed] = await hooks.listHooks(org('PROJ'));
    expect(listed).toMatchObject({ url: dcSpec().url, name: 'flux-webhook-relay' });
    expect(server.storedHooks('PROJ')[0]).toMatchObject({
      scopeType: 'project',
      configuration: { secret: 'hook-secret-1' },
    });
    await hooks.updateHook(org('PROJ'), listed!.id, dcSpec({ secret: 'hook-secret-2' }));
    expect(server.secretOf(Number(listed!.id))).toBe('hook-secret-2');
    await hooks.deleteHook(org('PROJ'), listed!.id);
    expect(server.storedHooks('PROJ')).toEqual([]);
    expect(new Set(server.requests.map((r) => r.path.replace(/\/[0-9]+$/, '')))).toEqual(
      new Set([`${base()}/projects/PROJ/webhooks`]),
    );

    // A repository-admin token may not touch project hooks.
    const denied = await failure(api().listHooks(org('PROJ')));
    expect((denied as ApiError).status).toBe(403);
    expect(denied.message).toMatch(/^bitbucket-server PROJ: GET .*HTTP 403/);
  });

  it('handles personal repositories', async () => {
    const path = api().repositoryPath('~jdoe/dotfiles') as string;
    await api().createHook(repo(path), dcSpec());
    expect(server.requests.at(-1)).toMatchObject({
      path: `${base()}/projects/~JDOE/repos/dotfiles/webhooks`,
      status: 200,
    });
  });

  it('401 and 404 name the repository, never the token', async () => {
    const unauthorized = await failure(api('wrong-token-value').listHooks(repo('PROJ/app')));
    expect((unauthorized as ApiError).status).toBe(401);
    expect(unauthorized.message).toMatch(
      /^bitbucket-server PROJ\/app: GET \/rest\/api\/latest\/projects\/PROJ\/repos\/app\/webhooks: HTTP 401/,
    );
    expect(unauthorized.message).toContain('Authentication failed');
    expect(unauthorized.message).not.toContain('wrong-token-value');

    const missing = await failure(api().listHooks(repo('PROJ/gone')));
    expect((missing as ApiError).status).toBe(404);
    expect(missing.message).toMatch(/^bitbucket-server PROJ\/gone: GET .*HTTP 404 .*does not exist/);
    expect(missing.message).not.toContain(TOKEN);
  });

  it('reports validation errors and refuses an empty secret', async () => {
    const invalid = await failure(api().createHook(repo('PROJ/app'), dcSpec({ name: ' ' })));
    expect((invalid as ApiError).status).toBe(400);
    expect(invalid.message).toMatch(/^bitbucket-server PROJ\/app: POST .*HTTP 400 .*Name must not be blank/);
    const empty = await failure(api().createHook(repo('PROJ/app'), dcSpec({ secret: '' })));
    expect(empty.message).toMatch(/^bitbucket-server PROJ\/app: refusing to send an empty secret/);
    expect(server.requests.filter((r) => r.method === 'POST')).toHaveLength(1);
  });

  it('waits out a 429 by its Retry-After on the injected clock', async () => {
    server.fault({ status: 429, times: 1, headers: { 'Retry-After': '3' } });
    const hooks = api();
    await hooks.createHook(repo('PROJ/app'), dcSpec());
    expect(server.requests.map((r) => r.status)).toEqual([429, 200]);
    expect(time.clock.sleeps).toEqual([3000]);
    expect(hooks.client.stats).toEqual({ calls: 2, writes: 2 });
  });

  it('stops with BudgetExhausted when Retry-After passes the deadline', async () => {
    server.fault({ status: 429, headers: { 'Retry-After': '120' } });
    const error = await failure(api(TOKEN, 60_000).listHooks(repo('PROJ/app')));
    expect(error).toBeInstanceOf(BudgetExhausted);
    expect(error.message).toMatch(/^bitbucket-server PROJ\/app: /);
    expect(server.requests).toHaveLength(1);
    expect(time.clock.sleeps).toEqual([]);
  });

  describe('project key case', () => {
    it('an upper-cased key works on a server that compares keys exactly, with no lookup', async () => {
      const hooks = api();
      await hooks.listHooks(repo(hooks.repositoryPath('bitbucket/scm/proj/app') as string));
      expect(server.requests.map((r) => [r.path, r.status])).toEqual([
        [`${base()}/projects/PROJ/repos/app/webhooks`, 200],
      ]);
    });

    it('a lower-case target path is upper-cased before the call', async () => {
      await api().listHooks(repo('proj/app'));
      expect(server.requests.map((r) => r.path)).toEqual([`${base()}/projects/PROJ/repos/app/webhooks`]);
    });

    it('a key stored in another case is found case-insensitively once, then used directly', async () => {
      server.addRepository('Legacy_Proj', 'svc');
      server.addToken('legacy-token', { projects: ['Legacy_Proj'] });
      const hooks = api('legacy-token');
      const target = repo(hooks.repositoryPath('legacy_proj/svc') as string);
      await hooks.createHook(target, dcSpec());
      expect(server.requests.map((r) => `${r.method} ${r.path.slice(base().length)} ${r.status}`)).toEqual([
        'POST /projects/LEGACY_PROJ/repos/svc/webhooks 404',
        'GET /projects 200',
        'GET /projects/Legacy_Proj/repos 200',
        'POST /projects/Legacy_Proj/repos/svc/webhooks 200',
      ]);
      server.clearRequests();
      expect(await hooks.listHooks(target)).toHaveLength(1);
      expect(server.requests.map((r) => r.path.slice(base().length))).toEqual([
        '/projects/Legacy_Proj/repos/svc/webhooks',
      ]);
    });

    it('a repository that does not exist in any case keeps its 404, looked up only once per run', async () => {
      const hooks = api();
      for (let i = 0; i < 2; i++) {
        const error = await failure(hooks.listHooks(repo('PROJ/missing')));
        expect((error as ApiError).status).toBe(404);
        expect(error.message).toMatch(
          /^bitbucket-server PROJ\/missing: GET \/rest\/api\/latest\/projects\/PROJ\/repos\/missing\/webhooks: HTTP 404/,
        );
      }
      expect(server.requests.filter((r) => r.path.endsWith('/projects') || r.path.endsWith('/repos'))).toHaveLength(2);
    });

    it('a server that ignores key case needs no lookup either', async () => {
      await server.close();
      server = await BitbucketServerTestServer.start({ caseInsensitiveKeys: true, echoSecret: false });
      server.addRepository('PROJ', 'app');
      server.addToken(TOKEN, { repositories: ['PROJ/app'] });
      server.addHook('PROJ/app', { url: `${RELAY}/1`, secret: 's1' });
      const raw = await fetch(`${server.apiUrl}/rest/api/latest/projects/proj/repos/APP/webhooks`, {
        headers: { authorization: `Bearer ${TOKEN}` },
      });
      expect(((await raw.json()) as { values: Array<{ configuration: object }> }).values[0]?.configuration).toEqual({});
      server.clearRequests();
      expect(await api().listHooks(repo('proj/app'))).toHaveLength(1);
      expect(server.requests).toHaveLength(1);
    });
  });
});
