import { ApiError, BudgetExhausted, RateLimited } from '../../lib/sync/http';
import type { HookApi, HookApiOptions, HookSpec, HookTarget } from '../../lib/sync/hook-api';
import { BRANCH_FILTER_PREFIX, gitlabHooks, SSL_VERIFICATION_OFF } from '../../lib/sync/providers/gitlab';
import { GitlabApiTestServer, type GitlabApiServerOptions } from '../support/gitlab-api-server';
import { rejection } from '../support/hook-client';

const TOKEN = 'glpat-relay-sync-0123456789abcdef';
const PROJECT = 'platform/infra/fleet';
const ENCODED = 'platform%2Finfra%2Ffleet';
const project: HookTarget = { kind: 'repository', path: PROJECT };
const group: HookTarget = { kind: 'organization', path: 'platform/teams' };
/** A minute boundary, so rate-limit windows start at T0. */
const T0 = Date.parse('2025-06-01T12:00:00Z');

/** The one clock the client and the server share; `sleep` advances it instead of waiting. */
class FakeClock {
  t = T0;
  readonly sleeps: number[] = [];
  readonly now = (): number => this.t;
  readonly sleep = async (ms: number): Promise<void> => {
    this.sleeps.push(ms);
    this.t += ms;
  };
}

let clock: FakeClock;
let server: GitlabApiTestServer;

async function startServer(options: GitlabApiServerOptions = {}): Promise<void> {
  server = await GitlabApiTestServer.start({ now: clock.now, maxPerPage: 2, ...options });
  server.addUser(TOKEN, 'relay-sync', { platform: 'owner' });
  server.addProject(PROJECT);
  server.addGroup('platform/teams');
}

beforeEach(async () => {
  clock = new FakeClock();
  await startServer();
});

afterEach(async () => {
  const violations = [...server.violations];
  await server.close();
  // Every request body the server took and every answer it gave on a project hook endpoint matched GitLab's own API
  // description (tests/fixtures/gitlab-openapi).
  expect(violations).toEqual([]);
});

function api(extra: Partial<HookApiOptions> = {}): HookApi {
  return gitlabHooks({
    apiUrl: server.apiUrl,
    token: TOKEN,
    deadline: clock.t + 600_000,
    now: clock.now,
    sleep: clock.sleep,
    allowHttpLoopback: true,
    ...extra,
  });
}

function spec(extra: Partial<HookSpec> = {}): HookSpec {
  return {
    url: 'https://relay.example.com/hook/gitlab/platform/infra/fleet?sv=1',
    events: ['push_events', 'tag_push_events'],
    secret: 'hook-secret-v1-4f9a2c',
    name: 'flux-webhook-relay',
    ...extra,
  };
}

async function raw(
  method: string,
  path: string,
  body?: unknown,
  token = TOKEN,
): Promise<{ status: number; json: unknown; headers: Headers }> {
  const res = await fetch(`${server.apiUrl}${path}`, {
    method,
    headers: { 'PRIVATE-TOKEN': token, ...(body !== undefined ? { 'content-type': 'application/json' } : {}) },
    ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
  });
  const text = await res.text();
  let json: unknown = text;
  try {
    json = JSON.parse(text);
  } catch {
    // plain text body
  }
  return { status: res.status, json, headers: res.headers };
}

describe('gitlabHooks basics', () => {
  it('wants push and tag push events and names its provider', () => {
    const hooks = api();
    expect(hooks.provider).toBe('gitlab');
    expect(hooks.relayEvents).toEqual(['push_events', 'tag_push_events']);
    expect(hooks.contentType).toBeUndefined();
  });

  it('takes any path with a namespace as a project path, nested groups included', () => {
    const hooks = api();
    expect(hooks.repositoryPath('owner/project')).toBe('owner/project');
    expect(hooks.repositoryPath('platform/infra/fleet')).toBe('platform/infra/fleet');
    expect(hooks.repositoryPath('a/b/c/d/e')).toBe('a/b/c/d/e');
    expect(hooks.repositoryPath('project')).toBeUndefined();
    expect(hooks.repositoryPath('')).toBeUndefined();
    expect(hooks.repositoryPath('group//project')).toBeUndefined();
    expect(hooks.repositoryPath('group/project/')).toBeUndefined();
    expect(hooks.repositoryPath('group/project/-/tree')).toBeUndefined();
  });
});

describe('listHooks', () => {
  it('reads every page (X-Next-Page) with per_page=100 and the encoded nested path', async () => {
    const ids = [1, 2, 3, 4, 5].map((n) =>
      server.addHook('project', PROJECT, { url: `https://hooks.example.com/${n}`, token: `t${n}` }),
    );

    const hooks = await api().listHooks(project);

    expect(hooks.map((h) => h.id)).toEqual(ids.map(String));
    expect(hooks.map((h) => h.url)).toEqual([1, 2, 3, 4, 5].map((n) => `https://hooks.example.com/${n}`));
    // The server clamps per_page to 2 (a small page size), so five hooks take three pages.
    expect(server.requests.map((r) => [r.method, r.rawPath, r.query.page, r.query.per_page, r.status])).toEqual([
      ['GET', `/api/v4/projects/${ENCODED}/hooks`, undefined, '100', 200],
      ['GET', `/api/v4/projects/${ENCODED}/hooks`, '2', '100', 200],
      ['GET', `/api/v4/projects/${ENCODED}/hooks`, '3', '100', 200],
    ]);
    expect(server.requests.every((r) => r.auth === 'private-token' && r.user === 'relay-sync')).toBe(true);
  });

  it("reads every page when GitLab's external_url is not the apiUrl: pages by X-Next-Page on the apiUrl, the token never leaves", async () => {
    // An internal name or a TLS-terminating proxy in front: GitLab builds Link on its configured host and port.
    await server.close();
    await startServer({ externalUrl: 'https://gitlab.example.com' });
    for (let i = 1; i <= 5; i++)
      server.addHook('project', PROJECT, { url: `https://relay.example.com/h${i}`, events: ['push_events'] });

    const hooks = await api().listHooks(project);
    expect(hooks.map((h) => h.url)).toEqual([1, 2, 3, 4, 5].map((i) => `https://relay.example.com/h${i}`));
    const gets = server.requests.filter((r) => r.method === 'GET');
    expect(gets.map((r) => r.query.page ?? '1')).toEqual(['1', '2', '3']);
    expect(gets.every((r) => r.rawPath === `/api/v4/projects/${ENCODED}/hooks` && r.query.per_page === '100')).toBe(
      true,
    );
  });

  it('refuses a malformed X-Next-Page, or one that does not move forward, instead of looping', async () => {
    for (let i = 1; i <= 3; i++)
      server.addHook('project', PROJECT, { url: `https://relay.example.com/h${i}`, events: ['push_events'] });
    const fetchWith =
      (nextPage: string): typeof fetch =>
      async (input, init) => {
        const response = await fetch(input, init);
        const headers = new Headers(response.headers);
        headers.set('x-next-page', nextPage);
        headers.delete('link');
        return new Response(await response.text(), { status: response.status, headers });
      };
    for (const next of ['1', '2; evil', 'https://elsewhere.example/2']) {
      const error = await rejection(api({ fetch: fetchWith(next) }).listHooks(project));
      expect(error).toBeInstanceOf(ApiError);
      expect(error.message).toMatch(/X-Next-Page/);
    }
    expect(server.requests.filter((r) => r.query.page !== undefined)).toEqual([]);
  });

  it('sends the headers GitLab pages with', async () => {
    for (let n = 0; n < 3; n++) server.addHook('project', PROJECT, { url: `https://hooks.example.com/${n}` });
    const first = await raw('GET', `/projects/${ENCODED}/hooks?per_page=100`);
    expect(first.headers.get('x-page')).toBe('1');
    expect(first.headers.get('x-per-page')).toBe('2');
    expect(first.headers.get('x-total')).toBe('3');
    expect(first.headers.get('x-total-pages')).toBe('2');
    expect(first.headers.get('x-next-page')).toBe('2');
    expect(first.headers.get('x-prev-page')).toBe('');
    expect(first.headers.get('link')).toContain(
      `<${server.apiUrl}/projects/${ENCODED}/hooks?per_page=2&page=2>; rel="next"`,
    );
    const last = await raw('GET', `/projects/${ENCODED}/hooks?per_page=100&page=2`);
    expect(last.headers.get('x-next-page')).toBe('');
    expect(last.headers.get('link')).not.toContain('rel="next"');
  });

  it('maps a relay hook to its state, and never sees the token', async () => {
    const id = server.addHook('project', PROJECT, {
      url: 'https://relay.example.com/a',
      token: 'secret-abc',
      name: 'flux-webhook-relay',
      events: ['push_events', 'tag_push_events'],
      branchFilterStrategy: 'all_branches',
    });

    const [state] = await api().listHooks(project);

    expect(state).toEqual({
      id: String(id),
      url: 'https://relay.example.com/a',
      events: ['push_events', 'tag_push_events'],
      active: true,
      disabled: false,
      name: 'flux-webhook-relay',
    });
    const body = await raw('GET', `/projects/${ENCODED}/hooks/${id}`);
    expect(body.json).not.toHaveProperty('token');
    expect(JSON.stringify(body.json)).not.toContain('secret-abc');
  });

  it('reports extra events, TLS verification off and a push branch filter as drift', async () => {
    server.addHook('project', PROJECT, {
      url: 'https://relay.example.com/a',
      events: ['push_events', 'tag_push_events', 'merge_requests_events', 'pipeline_events'],
      enableSslVerification: false,
      pushEventsBranchFilter: 'main',
      branchFilterStrategy: 'wildcard',
    });
    const [state] = await api().listHooks(project);
    expect(state?.events).toEqual(
      [
        'enable_ssl_verification:false',
        'merge_requests_events',
        'pipeline_events',
        'push_events',
        `${BRANCH_FILTER_PREFIX}main`,
        'tag_push_events',
      ].sort(),
    );
    expect(state?.events).toContain(SSL_VERIFICATION_OFF);
  });

  it('tolerates servers without name (before 17.1); a null name is an empty one', async () => {
    server.addHook('project', PROJECT, { url: 'https://relay.example.com/a' });
    const [unnamed] = await api().listHooks(project);
    expect(unnamed?.name).toBe('');

    await server.close();
    await startServer({ omitHookFields: ['name', 'description'] });
    server.addHook('project', PROJECT, { url: 'https://relay.example.com/a' });
    const [old] = await api().listHooks(project);
    expect(old).not.toHaveProperty('name');
  });

  it('finds the project whatever the case of the key path (find_by_full_path is case-insensitive)', async () => {
    server.addProject('Platform/Infra/Mixed-Case');
    server.addHook('project', 'Platform/Infra/Mixed-Case', { url: 'https://relay.example.com/m' });
    const hooks = await api().listHooks({ kind: 'repository', path: 'platform/infra/mixed-case' });
    expect(hooks).toHaveLength(1);
  });

  it('an unencoded nested path matches no route on GitLab', async () => {
    const res = await raw('GET', `/projects/${PROJECT}/hooks`);
    expect(res).toMatchObject({ status: 404, json: { error: '404 Not Found' } });
  });
});

describe('createHook', () => {
  it('creates the relay hook: URL, token, name, TLS verification, push and tag push only', async () => {
    await api().createHook(project, spec());

    const [stored] = server.hooksOf('project', PROJECT);
    expect(stored).toBeDefined();
    expect(stored).toMatchObject({
      url: spec().url,
      token: spec().secret,
      name: 'flux-webhook-relay',
      enableSslVerification: true,
      pushEventsBranchFilter: null,
      branchFilterStrategy: 'all_branches',
    });
    expect(
      Object.entries(stored?.flags ?? {})
        .filter(([, on]) => on)
        .map(([flag]) => flag)
        .sort(),
    ).toEqual(['push_events', 'tag_push_events']);

    const [req] = server.requests;
    expect(req).toMatchObject({
      method: 'POST',
      rawPath: `/api/v4/projects/${ENCODED}/hooks`,
      status: 201,
      contentType: 'application/json',
    });
    const body = req?.body as Record<string, unknown>;
    expect(body).toMatchObject({
      url: spec().url,
      token: spec().secret,
      name: 'flux-webhook-relay',
      enable_ssl_verification: true,
      push_events: true,
      tag_push_events: true,
    });
    // Every other flag is sent false, so GitLab defaults and old values cannot leak in.
    for (const flag of [
      'merge_requests_events',
      'issues_events',
      'note_events',
      'job_events',
      'pipeline_events',
      'wiki_page_events',
      'releases_events',
      'confidential_issues_events',
    ]) {
      expect(body[flag]).toBe(false);
    }
    expect(Object.keys(body)).not.toContain('subgroup_events');

    const states = await api().listHooks(project);
    expect(states).toEqual([
      {
        id: String(stored?.id),
        url: spec().url,
        events: ['push_events', 'tag_push_events'],
        active: true,
        disabled: false,
        name: 'flux-webhook-relay',
      },
    ]);
  });

  it('fails on a URL GitLab refuses, naming the project', async () => {
    const err = await rejection(api().createHook(project, spec({ url: 'http://127.0.0.1:9/hook' })));
    expect(err).toBeInstanceOf(ApiError);
    expect((err as ApiError).status).toBe(422);
    expect(err.message).toBe(`gitlab ${PROJECT}: POST /projects/${ENCODED}/hooks: HTTP 422 Invalid url given`);
    expect(err.message).not.toContain(spec().secret);
  });

  it('refuses an event flag GitLab does not have before calling', async () => {
    const err = await rejection(api().createHook(project, spec({ events: ['push'] })));
    expect(err.message).toContain(`gitlab ${PROJECT}: push: not an event flag`);
    expect(server.requests).toHaveLength(0);
  });

  it('the server validates like Grape: url missing, mistyped flags', async () => {
    expect(await raw('POST', `/projects/${ENCODED}/hooks`, { push_events: true })).toMatchObject({
      status: 400,
      json: { error: 'url is missing' },
    });
    expect(
      await raw('POST', `/projects/${ENCODED}/hooks`, { url: 'https://relay.example.com/x', push_events: 'maybe' }),
    ).toMatchObject({
      status: 400,
      json: { error: 'push_events is invalid' },
    });
    expect(server.hooksOf('project', PROJECT)).toHaveLength(0);
  });
});

describe('updateHook', () => {
  it('changes the URL and keeps a secret, because the token goes with the URL', async () => {
    const id = server.addHook('project', PROJECT, {
      url: 'https://old-relay.example.com/hook',
      token: spec().secret,
      events: ['push_events', 'merge_requests_events'],
    });

    await api().updateHook(project, String(id), spec());

    expect(server.hook(id)).toMatchObject({ url: spec().url, token: spec().secret, name: 'flux-webhook-relay' });
    const [req] = server.requests;
    expect(req).toMatchObject({ method: 'PUT', rawPath: `/api/v4/projects/${ENCODED}/hooks/${id}`, status: 200 });
    expect(req?.body).toMatchObject({
      url: spec().url,
      token: spec().secret,
      push_events: true,
      tag_push_events: true,
      merge_requests_events: false,
      enable_ssl_verification: true,
    });
    const [state] = await api().listHooks(project);
    expect(state?.events).toEqual(['push_events', 'tag_push_events']);
  });

  it('rotates the secret together with the URL', async () => {
    const id = server.addHook('project', PROJECT, {
      url: 'https://relay.example.com/hook?sv=1',
      token: 'old-secret-1',
    });
    await api().updateHook(
      project,
      String(id),
      spec({ url: 'https://relay.example.com/hook?sv=2', secret: 'new-secret-2' }),
    );
    expect(server.hookToken(id)).toBe('new-secret-2');
    // What GitLab would now send to the relay.
    await api().reenableHook?.(project, String(id));
    expect(server.deliveries.at(-1)?.headers['X-Gitlab-Token']).toBe('new-secret-2');
  });

  it('the trap is real: a PUT that changes the URL without token clears the token; the same URL keeps it', async () => {
    const id = server.addHook('project', PROJECT, { url: 'https://relay.example.com/a', token: 'kept-secret' });

    const same = await raw('PUT', `/projects/${ENCODED}/hooks/${id}`, {
      url: 'https://relay.example.com/a',
      push_events: true,
    });
    expect(same.status).toBe(200);
    expect(server.hookToken(id)).toBe('kept-secret');

    const moved = await raw('PUT', `/projects/${ENCODED}/hooks/${id}`, { url: 'https://relay.example.com/b' });
    expect(moved.status).toBe(200);
    expect(moved.json).not.toHaveProperty('token');
    expect(server.hookToken(id)).toBeNull();
  });

  it('repairs drift: extra events, TLS verification, branch filter', async () => {
    const id = server.addHook('project', PROJECT, {
      url: spec().url,
      token: spec().secret,
      events: ['push_events', 'issues_events', 'note_events'],
      enableSslVerification: false,
      pushEventsBranchFilter: 'release/*',
    });
    await api().updateHook(project, String(id), spec());
    expect(server.hook(id)).toMatchObject({
      enableSslVerification: true,
      pushEventsBranchFilter: null,
      branchFilterStrategy: 'all_branches',
    });
    const [state] = await api().listHooks(project);
    expect(state?.events).toEqual(['push_events', 'tag_push_events']);
  });

  it('names the project when the hook is gone', async () => {
    const err = await rejection(api().updateHook(project, '999', spec()));
    expect((err as ApiError).status).toBe(404);
    expect(err.message).toBe(`gitlab ${PROJECT}: PUT /projects/${ENCODED}/hooks/999: HTTP 404 404 Not found`);
  });

  it('refuses an id that is not a GitLab hook id', async () => {
    const err = await rejection(api().updateHook(project, '12/../13', spec()));
    expect(err.message).toContain(`gitlab ${PROJECT}: hook id`);
    expect(server.requests).toHaveLength(0);
  });
});

describe('deleteHook', () => {
  it('deletes the hook; a second delete is a 404 naming the project', async () => {
    const keep = server.addHook('project', PROJECT, { url: 'https://other.example.com/ci' });
    const id = server.addHook('project', PROJECT, { url: spec().url });

    await api().deleteHook(project, String(id));

    expect(server.hooksOf('project', PROJECT).map((h) => h.id)).toEqual([keep]);
    expect(server.requests[0]).toMatchObject({
      method: 'DELETE',
      rawPath: `/api/v4/projects/${ENCODED}/hooks/${id}`,
      status: 204,
    });
    const err = await rejection(api().deleteHook(project, String(id)));
    expect((err as ApiError).status).toBe(404);
    expect(err.message).toContain(`gitlab ${PROJECT}: DELETE`);
  });
});

describe('group hooks', () => {
  it('lists, creates, updates, re-enables and deletes on /groups/:id/hooks with the encoded group path', async () => {
    const hooks = api();
    await hooks.createHook(group, spec());
    const [created] = await hooks.listHooks(group);
    expect(created).toMatchObject({
      url: spec().url,
      events: ['push_events', 'tag_push_events'],
      disabled: false,
      name: 'flux-webhook-relay',
    });
    const id = created?.id ?? '';
    const createBody = server.requests[0]?.body as Record<string, unknown>;
    expect(createBody).toMatchObject({
      subgroup_events: false,
      member_events: false,
      project_events: false,
      push_events: true,
    });
    expect(Object.keys(createBody)).not.toContain('milestone_events');

    const moved = spec({
      url: 'https://relay.example.com/hook/gitlab/group/platform/teams?sv=2',
      secret: 'group-secret-2',
    });
    await hooks.updateHook(group, id, moved);
    expect(server.hook(Number(id))).toMatchObject({
      kind: 'group',
      parent: 'platform/teams',
      url: moved.url,
      token: 'group-secret-2',
    });

    server.setHookHealth(Number(id), { alertStatus: 'disabled' });
    await hooks.reenableHook?.(group, id);
    expect(server.alertStatus(Number(id))).toBe('executable');

    await hooks.deleteHook(group, id);
    expect(server.hooksOf('group', 'platform/teams')).toHaveLength(0);

    expect(server.requests.map((r) => `${r.method} ${r.rawPath} ${r.status}`)).toEqual([
      'POST /api/v4/groups/platform%2Fteams/hooks 201',
      'GET /api/v4/groups/platform%2Fteams/hooks 200',
      `PUT /api/v4/groups/platform%2Fteams/hooks/${id} 200`,
      `POST /api/v4/groups/platform%2Fteams/hooks/${id}/test/push_events 201`,
      `DELETE /api/v4/groups/platform%2Fteams/hooks/${id} 204`,
    ]);
  });

  it('group hooks need the Owner role, project hooks Maintainer', async () => {
    server.addUser('glpat-maintainer-000000', 'maint', { platform: 'maintainer' });
    const maintainer = api({ token: 'glpat-maintainer-000000' });
    await expect(maintainer.listHooks(project)).resolves.toEqual([]);
    const err = await rejection(maintainer.listHooks(group));
    expect((err as ApiError).status).toBe(403);
    expect(err.message).toBe('gitlab platform/teams: GET /groups/platform%2Fteams/hooks: HTTP 403 403 Forbidden');
  });

  it('an edition without group hooks has no such route', async () => {
    await server.close();
    await startServer({ groupHooks: false });
    const err = await rejection(api().listHooks(group));
    expect((err as ApiError).status).toBe(404);
    expect(err.message).toContain('gitlab platform/teams:');
  });
});

describe('disabled hooks', () => {
  it('reads alert_status disabled and temporarily_disabled as disabled', async () => {
    const permanent = server.addHook('project', PROJECT, { url: 'https://relay.example.com/1' });
    const temporary = server.addHook('project', PROJECT, { url: 'https://relay.example.com/2' });
    const healthy = server.addHook('project', PROJECT, { url: 'https://relay.example.com/3' });
    server.setHookHealth(permanent, { alertStatus: 'disabled' });
    server.setHookHealth(temporary, { alertStatus: 'temporarily_disabled', disabledUntil: T0 + 10 * 60_000 });

    const states = await api().listHooks(project);

    expect(states.map((s) => [s.id, s.disabled])).toEqual([
      [String(permanent), true],
      [String(temporary), true],
      [String(healthy), false],
    ]);
    const listed = (await raw('GET', `/projects/${ENCODED}/hooks?per_page=100`)).json as Array<Record<string, unknown>>;
    expect(listed.map((h) => [h.alert_status, h.disabled_until])).toEqual([
      ['disabled', null],
      ['temporarily_disabled', new Date(T0 + 10 * 60_000).toISOString()],
    ]);
  });

  it('a back-off that has run out is executable again', async () => {
    const id = server.addHook('project', PROJECT, { url: 'https://relay.example.com/1' });
    server.setHookHealth(id, { alertStatus: 'temporarily_disabled', disabledUntil: T0 - 1000 });
    expect(server.alertStatus(id)).toBe('executable');
    const [state] = await api().listHooks(project);
    expect(state?.disabled).toBe(false);
  });

  it('reads a disabled_until in the future as disabled when alert_status is absent', async () => {
    await server.close();
    await startServer({ omitHookFields: ['alert_status'] });
    const soon = server.addHook('project', PROJECT, { url: 'https://relay.example.com/1' });
    const past = server.addHook('project', PROJECT, { url: 'https://relay.example.com/2' });
    server.setHookHealth(soon, { recentFailures: 5, disabledUntil: T0 + 60_000 });
    server.setHookHealth(past, { recentFailures: 5, disabledUntil: T0 - 60_000 });

    const states = await api().listHooks(project);

    expect(states.map((s) => s.disabled)).toEqual([true, false]);
  });
});

describe('reenableHook', () => {
  it('sends a push test, which re-enables the hook', async () => {
    const id = server.addHook('project', PROJECT, {
      url: spec().url,
      token: spec().secret,
      events: ['push_events', 'tag_push_events'],
    });
    server.setHookHealth(id, { alertStatus: 'disabled' });

    await api().reenableHook?.(project, String(id));

    expect(server.requests[0]).toMatchObject({
      method: 'POST',
      rawPath: `/api/v4/projects/${ENCODED}/hooks/${id}/test/push_events`,
      status: 201,
    });
    expect(server.alertStatus(id)).toBe('executable');
    expect(server.hook(id)).toMatchObject({ recentFailures: 0, disabledUntil: null });
    expect(server.deliveries).toEqual([
      {
        hookId: id,
        kind: 'project',
        url: spec().url,
        trigger: 'push_events',
        headers: { 'Content-Type': 'application/json', 'X-Gitlab-Event': 'Push Hook', 'X-Gitlab-Token': spec().secret },
      },
    ]);
    const [state] = await api().listHooks(project);
    expect(state?.disabled).toBe(false);
  });

  it('fails with 422 naming the project when the receiver does not answer 2xx, and the hook stays disabled', async () => {
    await server.close();
    await startServer({
      deliver: () => ({
        error: 'Failed to open TCP connection to relay.example.com:443 (getaddrinfo: Name or service not known)',
      }),
    });
    const id = server.addHook('project', PROJECT, { url: spec().url, token: spec().secret });
    server.setHookHealth(id, { alertStatus: 'disabled' });

    const err = await rejection(api().reenableHook?.(project, String(id)) ?? Promise.resolve());

    expect((err as ApiError).status).toBe(422);
    expect(err.message).toBe(
      `gitlab ${PROJECT}: POST /projects/${ENCODED}/hooks/${id}/test/push_events: HTTP 422 Failed to open TCP connection to relay.example.com:443 (getaddrinfo: Name or service not known)`,
    );
    expect(server.alertStatus(id)).toBe('disabled');
  });

  it('the test endpoint takes every trigger GitLab describes; one without sample data is a 422, an unknown one a 400', async () => {
    const id = server.addHook('project', PROJECT, { url: spec().url });
    const test = (trigger: string) => raw('POST', `/projects/${ENCODED}/hooks/${id}/test/${trigger}`);
    expect(await test('deployment_events')).toMatchObject({
      status: 422,
      json: { message: 'Testing not available for this hook' },
    });
    expect(await test('milestone_events')).toMatchObject({
      status: 400,
      json: { error: 'trigger does not have a valid value' },
    });
    expect(await test('tag_push_events')).toMatchObject({ status: 201, json: { message: '201 Created' } });
    expect(server.deliveries.map((d) => d.trigger)).toEqual(['tag_push_events']);
  });

  it('cannot push-test a project without commits', async () => {
    server.addProject('platform/infra/empty', { emptyRepo: true });
    const id = server.addHook('project', 'platform/infra/empty', { url: spec().url });
    const err = await rejection(
      api().reenableHook?.({ kind: 'repository', path: 'platform/infra/empty' }, String(id)) ?? Promise.resolve(),
    );
    expect(err.message).toContain('HTTP 422 Ensure the project has at least one commit.');
  });
});

describe('rate limits and the run budget', () => {
  it("the test endpoint's 429 (5 a minute, no Retry-After) is not retried: RateLimited, left for the next run", async () => {
    await server.close();
    await startServer({ testRequestsPerMinute: 1 });
    const id = server.addHook('project', PROJECT, { url: 'https://relay.example.com/h', token: 't' });
    await api().reenableHook!(project, String(id));
    server.clearRequests();
    const error = await rejection(api().reenableHook!(project, String(id)));
    expect(error).toBeInstanceOf(RateLimited);
    expect(error.message).toMatch(/^gitlab platform\/infra\/fleet: POST .*HTTP 429 without Retry-After/);
    expect(server.requests.map((r) => r.status)).toEqual([429]);
    expect(clock.sleeps).toEqual([]);
  });

  it('waits out a 429 Retry-After, then succeeds', async () => {
    server.addHook('project', PROJECT, { url: spec().url });
    server.fault({ status: 429, retryAfter: 30, times: 1 });

    const hooks = await api().listHooks(project);

    expect(hooks).toHaveLength(1);
    expect(clock.sleeps).toEqual([30_000]);
    expect(server.requests.map((r) => r.status)).toEqual([429, 200]);
  });

  it('sends GitLab rate-limit headers, and the client holds back at RateLimit-Remaining 0 instead of provoking a 429', async () => {
    server.rateLimit({ limit: 2, windowSeconds: 60 });
    // Another user has a budget of its own: probe the headers with it.
    server.addUser('glpat-probe-0000000000', 'probe', { platform: 'owner' });
    await raw('GET', `/projects/${ENCODED}/hooks`, undefined, 'glpat-probe-0000000000');
    const probe = await raw('GET', `/projects/${ENCODED}/hooks`, undefined, 'glpat-probe-0000000000');
    expect(probe.headers.get('ratelimit-name')).toBe('throttle_authenticated_api');
    expect(probe.headers.get('ratelimit-limit')).toBe('2');
    expect(probe.headers.get('ratelimit-observed')).toBe('2');
    expect(probe.headers.get('ratelimit-remaining')).toBe('0');
    expect(probe.headers.get('ratelimit-reset')).toBe(String((T0 + 60_000) / 1000));
    server.clearRequests();

    const hooks = api();
    await hooks.listHooks(project);
    await hooks.listHooks(project);
    // The next call would be the third in this window: the client sleeps until the reset instead.
    await hooks.createHook(project, spec());

    expect(clock.sleeps).toEqual([60_000]);
    expect(server.requests.map((r) => r.status)).toEqual([200, 200, 201]);
  });

  it('answers 429 with Retry-After once over the limit', async () => {
    server.rateLimit({ limit: 1, windowSeconds: 60 });
    clock.t = T0 + 45_000;
    await raw('GET', `/projects/${ENCODED}/hooks`);
    const over = await raw('GET', `/projects/${ENCODED}/hooks`);
    expect(over.status).toBe(429);
    expect(over.json).toBe('Retry later\n');
    expect(over.headers.get('retry-after')).toBe('15');
  });

  it('retries a 5xx on a list, but not on a write', async () => {
    server.fault({ status: 502, times: 1 });
    await expect(api().listHooks(project)).resolves.toEqual([]);
    expect(server.requests.map((r) => r.status)).toEqual([502, 200]);

    server.clearRequests();
    server.fault({ status: 500, times: 1 });
    const err = await rejection(api().createHook(project, spec()));
    expect((err as ApiError).status).toBe(500);
    expect(err.message).toContain(`gitlab ${PROJECT}: POST`);
    expect(server.requests).toHaveLength(1);
  });

  it('stops with BudgetExhausted, naming the project, when the wait would pass the deadline', async () => {
    server.fault({ status: 429, retryAfter: 60 });

    const err = await rejection(api({ deadline: clock.t + 5_000 }).listHooks(project));

    expect(err).toBeInstanceOf(BudgetExhausted);
    expect(err.message).toBe(
      `gitlab ${PROJECT}: GET /projects/${ENCODED}/hooks would have to wait past the run's deadline`,
    );
    expect(server.requests).toHaveLength(1);
    expect(clock.sleeps).toEqual([]);
  });
});

describe('authentication and access errors', () => {
  it('401 names the project and not the token', async () => {
    const badToken = 'glpat-revoked-token-9999999999';
    const err = await rejection(api({ token: badToken }).listHooks(project));
    expect(err).toBeInstanceOf(ApiError);
    expect((err as ApiError).status).toBe(401);
    expect(err.message).toBe(`gitlab ${PROJECT}: GET /projects/${ENCODED}/hooks: HTTP 401 401 Unauthorized`);
    expect(err.message).not.toContain(badToken);
    expect(server.requests[0]).toMatchObject({ auth: 'private-token', status: 401 });
    expect(server.requests[0]).not.toHaveProperty('user');
  });

  it('404 names the project and not the token', async () => {
    const err = await rejection(api().createHook({ kind: 'repository', path: 'platform/infra/gone' }, spec()));
    expect((err as ApiError).status).toBe(404);
    expect(err.message).toBe(
      'gitlab platform/infra/gone: POST /projects/platform%2Finfra%2Fgone/hooks: HTTP 404 404 Project Not Found',
    );
    expect(err.message).not.toContain(TOKEN);
    expect(err.message).not.toContain(spec().secret);
  });

  it('a project the token cannot see is a 404, not a 403', async () => {
    server.addProject('other-org/secret-project');
    const err = await rejection(api().listHooks({ kind: 'repository', path: 'other-org/secret-project' }));
    expect((err as ApiError).status).toBe(404);
  });

  it('never puts the token in a URL', async () => {
    await api().createHook(project, spec());
    await api().listHooks(project);
    for (const r of server.requests) {
      expect(r.rawPath).not.toContain(TOKEN);
      expect(JSON.stringify(r.query)).not.toContain(TOKEN);
    }
  });
});

describe('redirects and plain http', () => {
  /** Another origin the API redirects to; it knows the token, so it would serve whatever arrives with it. */
  let foreign: GitlabApiTestServer;
  beforeEach(async () => {
    foreign = await GitlabApiTestServer.start({ now: clock.now });
    foreign.addUser(TOKEN, 'relay-sync', { platform: 'owner' });
    foreign.addProject(PROJECT);
  });
  afterEach(async () => {
    await foreign.close();
  });

  it.each([
    [302, 'GET', () => api().listHooks(project)],
    [307, 'POST', () => api().createHook(project, spec())],
    [308, 'PUT', () => api().updateHook(project, '1', spec())],
  ])(
    'a %i to another origin is refused before the token (or the hook secret) goes there',
    async (status, method, call) => {
      server.fault({ status, location: `${foreign.apiUrl}/projects/${ENCODED}/hooks` });
      const err = await rejection(call());
      expect(foreign.requests.filter((r) => r.auth !== 'none')).toEqual([]);
      expect(foreign.requests).toEqual([]);
      expect(err).toBeInstanceOf(ApiError);
      expect(err.message).toMatch(
        new RegExp(
          `^gitlab ${PROJECT}: ${method} /projects/${ENCODED}/hooks.*: HTTP ${status} redirect to ${foreign.url.replace(/\./g, '\\.')} refused`,
        ),
      );
      expect(err.message).not.toContain(TOKEN);
    },
  );

  it('http: is refused unless loopback http is allowed, and then only for a loopback host', () => {
    expect(() =>
      gitlabHooks({ apiUrl: server.apiUrl, token: TOKEN, deadline: clock.t + 60_000, now: clock.now }),
    ).toThrow(/must be an https: URL/);
    expect(() =>
      gitlabHooks({
        apiUrl: 'http://gitlab.example.com/api/v4',
        token: TOKEN,
        deadline: clock.t + 60_000,
        now: clock.now,
        allowHttpLoopback: true,
      }),
    ).toThrow(/^API URL http:\/\/gitlab\.example\.com: must be an https: URL/);
    expect(server.requests).toEqual([]);
  });
});
