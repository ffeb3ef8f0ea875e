import type { HookApi, HookSpec, HookTarget } from '../../lib/sync/hook-api';
import { ApiError, BudgetExhausted } from '../../lib/sync/http';
import { planTarget } from '../../lib/sync/plan';
import { giteaHooks } from '../../lib/sync/providers/gitea';
import { GiteaApiTestServer, type GiteaFlavor, type GiteaServerOptions } from '../support/gitea-api-server';
import { rejection } from '../support/hook-client';

const TOKEN = 'gt_0123456789abcdef0123456789abcdef';
const RELAY = 'https://relay.example.com/hooks/main';
const repo: HookTarget = { kind: 'repository', path: 'acme/app' };
const org: HookTarget = { kind: 'organization', path: 'acme' };

function spec(version: string, secret = `secret-${version}`): HookSpec {
  return { url: `${RELAY}?relay-secret-version=${version}`, events: ['push'], secret, name: 'flux-webhook-relay' };
}

/**
 * A clock that only moves when the client sleeps: no real waiting, and every wait recorded. It stays on whole
 * milliseconds like Date.now(): the ApiClient hands `deadline - now()` to AbortSignal.timeout, which refuses fractions.
 */
function fakeClock(start = 1_700_000_000_000) {
  const clock = { t: start, sleeps: [] as number[] };
  return {
    clock,
    now: () => clock.t,
    sleep: async (ms: number) => {
      clock.sleeps.push(ms);
      clock.t += Math.ceil(ms);
    },
  };
}

let server: GiteaApiTestServer;

async function start(flavor: GiteaFlavor, options: Omit<GiteaServerOptions, 'flavor'> = {}): Promise<void> {
  server = await GiteaApiTestServer.start({ flavor, ...options });
  server.addUser('alice', { token: TOKEN });
  server.addUser('bob', { token: 'gt_bob_has_no_admin_rights_on_acme_app' });
  server.addOrg('acme', { owners: ['alice'] });
  server.addRepo('acme/app');
  server.addRepo('acme/other');
}

function api(
  provider: GiteaFlavor,
  extra: { token?: string; deadline?: number; now?: () => number; sleep?: (ms: number) => Promise<void> } = {},
): HookApi {
  const time = fakeClock();
  return giteaHooks({
    provider,
    apiUrl: server.apiUrl,
    token: extra.token ?? TOKEN,
    now: extra.now ?? time.now,
    sleep: extra.sleep ?? time.sleep,
    deadline: extra.deadline ?? time.now() + 60_000,
    allowHttpLoopback: true,
  });
}

afterEach(async () => {
  const violations = server ? [...server.violations] : [];
  await server?.close();
  // Every request body the server took and every answer it gave matched its flavour's swagger (Gitea's or Forgejo's).
  expect(violations).toEqual([]);
});

describe.each(['gitea', 'forgejo'] as const)('giteaHooks (%s)', (flavor) => {
  describe('listHooks', () => {
    it('reads every page by number until X-Total-Count, whatever Link says, with a server page smaller than asked', async () => {
      await start(flavor, { maxResponseItems: 2 });
      server.seedHook({ kind: 'repository', path: 'acme/app' }, { url: spec('v1').url, secret: 's', events: ['push'] });
      server.seedHook(
        { kind: 'repository', path: 'acme/app' },
        {
          url: 'https://ci.example.com/hook',
          events: ['pull_request', 'push', 'create'],
          active: false,
          contentType: 'form',
        },
      );
      server.seedHook(
        { kind: 'repository', path: 'acme/app' },
        {
          type: 'slack',
          url: 'https://hooks.slack.com/services/T/B/x',
          meta: { channel: '#ci', username: '', icon_url: '', color: '' },
        },
      );
      server.seedHook(
        { kind: 'repository', path: 'acme/app' },
        { type: 'gogs', url: 'https://legacy.example.com/gogs' },
      );
      server.seedHook(
        { kind: 'repository', path: 'acme/app' },
        { type: 'matrix', url: 'https://matrix.example.com/_matrix/x' },
      );
      server.seedHook({ kind: 'repository', path: 'acme/other' }, { url: 'https://elsewhere.example.com/' });

      const hooks = await api(flavor).listHooks(repo);

      expect(hooks.map((h) => h.url)).toEqual([
        spec('v1').url,
        'https://ci.example.com/hook',
        'https://hooks.slack.com/services/T/B/x',
        'https://legacy.example.com/gogs',
        'https://matrix.example.com/_matrix/x',
      ]);
      expect(hooks[0]).toEqual({
        id: expect.stringMatching(/^[0-9]+$/),
        url: spec('v1').url,
        events: ['push'],
        active: true,
        contentType: 'json',
      });
      expect(hooks[1]).toMatchObject({
        events: ['create', 'pull_request', 'push'],
        active: false,
        contentType: 'form',
      });
      const lists = server.requests.filter((r) => r.method === 'GET');
      expect(lists.map((r) => r.query)).toEqual([
        { page: '1', limit: '50' },
        { page: '2', limit: '50' },
        { page: '3', limit: '50' },
      ]);
      expect(lists.every((r) => r.totalCount === '5')).toBe(true);
      // Gitea's repository hook list has no Link header at all: following Link alone would have stopped at page 1.
      if (flavor === 'gitea') expect(lists.every((r) => r.link === undefined)).toBe(true);
      else expect(lists[0]!.link).toContain('rel="next"');
      expect(lists.every((r) => r.authorization === `token ${TOKEN}`)).toBe(true);
    });

    it('ignores a Link header built on a different ROOT_URL (pages by number on the configured API host)', async () => {
      await start(flavor, { maxResponseItems: 1, appUrl: 'https://git.public.example.com/' });
      for (let i = 0; i < 3; i++)
        server.seedHook({ kind: 'organization', path: 'acme' }, { url: `https://h${i}.example.com/` });

      const hooks = await api(flavor).listHooks(org);

      expect(hooks).toHaveLength(3);
      const lists = server.requests.filter((r) => r.method === 'GET');
      expect(lists.map((r) => r.path)).toEqual(Array(3).fill('/api/v1/orgs/acme/hooks'));
      if (flavor === 'gitea')
        expect(lists[0]!.link).toContain('<https://git.public.example.com/api/v1/orgs/acme/hooks?');
    });

    it('without X-Total-Count, stops at a page shorter than the first; a server ignoring `page` cannot make it loop', async () => {
      await start(flavor, { maxResponseItems: 2 });
      for (let i = 0; i < 3; i++)
        server.seedHook({ kind: 'repository', path: 'acme/app' }, { url: `https://h${i}.example.com/` });
      const time = fakeClock();
      const through =
        (rewrite: (url: URL) => void, strip: string[]): typeof fetch =>
        async (input, init) => {
          const url = new URL(String(input));
          rewrite(url);
          const res = await fetch(url, init);
          const headers = new Headers(res.headers);
          for (const h of strip) headers.delete(h);
          return new Response(await res.text(), { status: res.status, headers });
        };
      const withFetch = (f: typeof fetch) =>
        giteaHooks({
          provider: flavor,
          apiUrl: server.apiUrl,
          token: TOKEN,
          now: time.now,
          sleep: time.sleep,
          deadline: time.now() + 60_000,
          fetch: f,
          allowHttpLoopback: true,
        });

      // No total, no Link, and a server page (2) below the 50 asked for: a page shorter than the first is the last.
      const short = await withFetch(through(() => {}, ['x-total-count', 'link'])).listHooks(repo);
      expect(short).toHaveLength(3);
      expect(server.requests.map((r) => r.query.page)).toEqual(['1', '2']);

      // `page` ignored: the second page brings nothing new, which ends the list.
      server.clearRequests();
      const stuck = await withFetch(through((u) => u.searchParams.set('page', '1'), [])).listHooks(repo);
      expect(stuck).toHaveLength(2);
      expect(server.requests).toHaveLength(2);
    });

    it('returns an empty list for a repository without hooks, in one call', async () => {
      await start(flavor);
      const a = api(flavor);
      expect(await a.listHooks(repo)).toEqual([]);
      expect(a.client.stats).toEqual({ calls: 1, writes: 0 });
    });
  });

  describe('createHook', () => {
    it('creates an active JSON push hook of the provider’s own type, with its secret, on every branch', async () => {
      await start(flavor);
      const a = api(flavor);

      await a.createHook(repo, spec('v1'));

      const [stored, ...rest] = server.hooks({ kind: 'repository', path: 'acme/app' });
      expect(rest).toEqual([]);
      expect(stored).toMatchObject({
        type: flavor,
        url: spec('v1').url,
        contentType: 'json',
        events: ['push'],
        active: true,
        branchFilter: '*',
      });
      expect(server.secretOf(stored!.id)).toBe('secret-v1');
      const post = server.requests.find((r) => r.method === 'POST')!;
      expect(post.body).toEqual({
        type: flavor,
        active: true,
        events: ['push'],
        config: { url: spec('v1').url, content_type: 'json', secret: 'secret-v1' },
        branch_filter: '*',
        name: 'flux-webhook-relay',
      });
      expect(post.status).toBe(201);
      expect(a.client.stats).toEqual({ calls: 1, writes: 1 });

      // The secret never comes back; everything the sync compares does.
      const listed = await a.listHooks(repo);
      expect(listed).toEqual([
        {
          id: String(stored!.id),
          url: spec('v1').url,
          events: ['push'],
          active: true,
          contentType: 'json',
          ...(flavor === 'gitea' ? { name: 'flux-webhook-relay' } : {}),
        },
      ]);
      const responses = server.requests.filter((r) => r.method === 'GET');
      expect(JSON.stringify(responses)).not.toContain('secret-v1');
    });

    it('creates organisation hooks under /orgs/{org}/hooks', async () => {
      await start(flavor);
      await api(flavor).createHook(org, spec('v1'));
      expect(server.hooks({ kind: 'organization', path: 'acme' })).toMatchObject([
        { type: flavor, active: true, url: spec('v1').url },
      ]);
      expect(server.requests.map((r) => `${r.method} ${r.path}`)).toEqual(['POST /api/v1/orgs/acme/hooks']);
    });
  });

  describe('updateHook', () => {
    it('re-creates the hook with the new URL and secret, then deletes the old one', async () => {
      await start(flavor);
      const a = api(flavor);
      await a.createHook(repo, spec('v1'));
      const [old] = server.hooks({ kind: 'repository', path: 'acme/app' });
      server.clearRequests();

      await a.updateHook(repo, String(old!.id), spec('v2'));

      const hooks = server.hooks({ kind: 'repository', path: 'acme/app' });
      expect(hooks).toHaveLength(1);
      expect(hooks[0]).toMatchObject({
        url: spec('v2').url,
        active: true,
        contentType: 'json',
        events: ['push'],
        type: flavor,
      });
      expect(hooks[0]!.id).not.toBe(old!.id);
      expect(server.secretOf(hooks[0]!.id)).toBe('secret-v2');
      expect(server.secretOf(old!.id)).toBeUndefined();
      // Create first: the repository is never without a working hook.
      expect(server.requests.map((r) => `${r.method} ${r.path}`)).toEqual([
        'POST /api/v1/repos/acme/app/hooks',
        `DELETE /api/v1/repos/acme/app/hooks/${old!.id}`,
      ]);
    });

    it('keeps the secret when only the rest changes (same spec, new hook, same secret)', async () => {
      await start(flavor);
      const a = api(flavor);
      const stored = server.seedHook(
        { kind: 'repository', path: 'acme/app' },
        { url: spec('v1').url, secret: 'secret-v1', active: false, contentType: 'form', events: ['push', 'create'] },
      );

      await a.updateHook(repo, String(stored.id), spec('v1'));

      const [hook, ...rest] = server.hooks({ kind: 'repository', path: 'acme/app' });
      expect(rest).toEqual([]);
      expect(hook).toMatchObject({ active: true, contentType: 'json', events: ['push'] });
      expect(server.secretOf(hook!.id)).toBe('secret-v1');
    });

    it('updates organisation hooks the same way', async () => {
      await start(flavor);
      const stored = server.seedHook(
        { kind: 'organization', path: 'acme' },
        { url: spec('v1').url, secret: 'secret-v1' },
      );
      await api(flavor).updateHook(org, String(stored.id), spec('v2'));
      const hooks = server.hooks({ kind: 'organization', path: 'acme' });
      expect(hooks.map((h) => h.url)).toEqual([spec('v2').url]);
      expect(server.secretOf(hooks[0]!.id)).toBe('secret-v2');
    });

    it('leaves the old hook alone when creating its replacement fails', async () => {
      await start(flavor);
      const stored = server.seedHook(
        { kind: 'repository', path: 'acme/app' },
        { url: spec('v1').url, secret: 'secret-v1' },
      );
      server.fault({ status: 500, times: 1, match: (r) => r.method === 'POST' });

      const err = await rejection(api(flavor).updateHook(repo, String(stored.id), spec('v2')));

      expect(err).toBeInstanceOf(ApiError);
      expect(err.message).toBe(`${flavor} acme/app: POST /repos/acme/app/hooks: HTTP 500 injected fault`);
      expect(server.hooks({ kind: 'repository', path: 'acme/app' }).map((h) => h.id)).toEqual([stored.id]);
      expect(server.requests.filter((r) => r.method === 'POST')).toHaveLength(1);
    });
  });

  describe('branch filter (services/webhook/webhook.go checkBranch: a push to a branch the filter does not match is not sent)', () => {
    const ownership = { hooksPrefix: 'https://relay.example.com/hooks/', receivers: new Set(['main']) };
    const plan = async (hooks: HookApi) =>
      planTarget(repo, spec('v1'), await hooks.listHooks(repo), ownership, {
        events: hooks.relayEvents,
        contentType: hooks.contentType,
      });

    it('reports a filter other than "" or "*" as drift, and the update leaves the hook on every branch', async () => {
      await start(flavor);
      server.seedHook(repo, { url: spec('v1').url, secret: 'secret-v1', events: ['push'], branchFilter: 'main' });
      const hooks = api(flavor);

      const [listed] = await hooks.listHooks(repo);
      expect(listed!.drift).toEqual(['branch filter main → *']);
      const [action] = await plan(hooks);
      expect(action).toMatchObject({ kind: 'update', reasons: ['branch filter main → *'] });
      if (action?.kind !== 'update') throw new Error('expected an update');

      await hooks.updateHook(repo, action.id, action.spec);
      expect(server.hooks(repo).map((h) => h.branchFilter)).toEqual(['*']);
      expect((await plan(hooks)).map((a) => a.kind)).toEqual(['unchanged']);
    });

    it('an empty filter and "*" both mean every branch: no drift', async () => {
      await start(flavor);
      server.seedHook(repo, { url: spec('v1').url, secret: 'secret-v1', events: ['push'], branchFilter: '' });
      server.seedHook(
        { kind: 'repository', path: 'acme/other' },
        { url: spec('v1').url, secret: 'secret-v1', events: ['push'], branchFilter: '*' },
      );
      const hooks = api(flavor);
      expect((await hooks.listHooks(repo))[0]!.drift).toBeUndefined();
      expect((await hooks.listHooks({ kind: 'repository', path: 'acme/other' }))[0]!.drift).toBeUndefined();
    });
  });

  describe('deleteHook', () => {
    it('deletes repository and organisation hooks', async () => {
      await start(flavor);
      const a = server.seedHook({ kind: 'repository', path: 'acme/app' }, { url: spec('v1').url });
      const b = server.seedHook({ kind: 'organization', path: 'acme' }, { url: spec('v1').url });
      const c = server.seedHook({ kind: 'repository', path: 'acme/app' }, { url: 'https://ci.example.com/' });

      const client = api(flavor);
      await client.deleteHook(repo, String(a.id));
      await client.deleteHook(org, String(b.id));

      expect(server.hooks({ kind: 'repository', path: 'acme/app' }).map((h) => h.id)).toEqual([c.id]);
      expect(server.hooks({ kind: 'organization', path: 'acme' })).toEqual([]);
      expect(server.requests.map((r) => r.status)).toEqual([204, 204]);
    });

    it('reports a hook of another repository as not found', async () => {
      await start(flavor);
      const other = server.seedHook({ kind: 'repository', path: 'acme/other' }, { url: spec('v1').url });
      const err = await rejection(api(flavor).deleteHook(repo, String(other.id)));
      expect(err).toBeInstanceOf(ApiError);
      expect((err as ApiError).status).toBe(404);
      expect(server.hooks({ kind: 'repository', path: 'acme/other' })).toHaveLength(1);
    });

    it('refuses an id that is not a number before calling', async () => {
      await start(flavor);
      await expect(api(flavor).deleteHook(repo, '../../other')).rejects.toThrow(
        `${flavor} acme/app: hook id "../../other" is not a ${flavor} hook id`,
      );
      expect(server.requests).toEqual([]);
    });
  });

  describe('errors', () => {
    it('401 names the repository, not the token', async () => {
      await start(flavor);
      const badToken = 'gt_this_token_is_not_known_to_the_server';
      const err = await rejection(api(flavor, { token: badToken }).listHooks(repo));
      expect(err).toBeInstanceOf(ApiError);
      expect((err as ApiError).status).toBe(401);
      expect(err.message).toBe(`${flavor} acme/app: GET /repos/acme/app/hooks: HTTP 401 token is required`);
      expect(err.message).not.toContain(badToken);
      expect(err.stack ?? '').not.toContain(badToken);
    });

    it('404 for an unknown repository names it, not the token', async () => {
      await start(flavor);
      const err = await rejection(api(flavor).createHook({ kind: 'repository', path: 'acme/missing' }, spec('v1')));
      expect((err as ApiError).status).toBe(404);
      expect(err.message).toBe(
        `${flavor} acme/missing: POST /repos/acme/missing/hooks: HTTP 404 The target couldn't be found.`,
      );
      expect(err.message).not.toContain(TOKEN);
    });

    it('403 for a user without admin rights, naming the organisation', async () => {
      await start(flavor);
      const err = await rejection(api(flavor, { token: 'gt_bob_has_no_admin_rights_on_acme_app' }).listHooks(org));
      expect((err as ApiError).status).toBe(403);
      expect(err.message).toBe(`${flavor} org acme: GET /orgs/acme/hooks: HTTP 403 must be an organization owner`);
    });

    it('refuses a path that is not owner/repo before calling', async () => {
      await start(flavor);
      await expect(api(flavor).listHooks({ kind: 'repository', path: 'acme/app/extra' })).rejects.toThrow(
        `${flavor}: "acme/app/extra" is not an owner/repository path`,
      );
      await expect(api(flavor).listHooks({ kind: 'organization', path: 'acme/app' })).rejects.toThrow(
        `${flavor}: "acme/app" is not an organization name`,
      );
      expect(server.requests).toEqual([]);
    });
  });

  describe('rate limits and the run budget', () => {
    it('waits out a 429 with Retry-After through the injected sleep, then succeeds', async () => {
      await start(flavor);
      server.seedHook({ kind: 'repository', path: 'acme/app' }, { url: spec('v1').url });
      server.fault({ status: 429, retryAfter: '7', times: 1 });
      const { clock, now, sleep } = fakeClock();

      const hooks = await api(flavor, { now, sleep, deadline: now() + 60_000 }).listHooks(repo);

      expect(hooks).toHaveLength(1);
      expect(clock.sleeps).toEqual([7000]);
      expect(server.requests.map((r) => r.status)).toEqual([429, 200]);
    });

    it('retries a 429 on a write too (the create happens once)', async () => {
      await start(flavor);
      server.fault({ status: 429, retryAfter: '1', times: 1, match: (r) => r.method === 'POST' });
      const { clock, now, sleep } = fakeClock();

      await api(flavor, { now, sleep, deadline: now() + 60_000 }).createHook(repo, spec('v1'));

      expect(clock.sleeps).toEqual([1000]);
      expect(server.hooks({ kind: 'repository', path: 'acme/app' })).toHaveLength(1);
    });

    it('throws BudgetExhausted, naming the repository, when the wait would pass the deadline', async () => {
      await start(flavor);
      server.fault({ status: 429, retryAfter: '120' });
      const { clock, now, sleep } = fakeClock();

      const err = await rejection(api(flavor, { now, sleep, deadline: now() + 30_000 }).listHooks(repo));

      expect(err).toBeInstanceOf(BudgetExhausted);
      expect(err.message).toBe(
        `${flavor} acme/app: GET /repos/acme/app/hooks would have to wait past the run's deadline`,
      );
      expect(clock.sleeps).toEqual([]);
      expect(server.requests).toHaveLength(1);
    });

    it('retries a 5xx on a list, not on a create', async () => {
      await start(flavor);
      server.fault({ status: 503, times: 1 });
      const { now, sleep } = fakeClock();
      const a = api(flavor, { now, sleep, deadline: now() + 60_000 });
      expect(await a.listHooks(repo)).toEqual([]);
      expect(server.requests.map((r) => r.status)).toEqual([503, 200]);

      server.fault({ status: 502, times: 1 });
      const err = await rejection(a.createHook(repo, spec('v1')));
      expect((err as ApiError).status).toBe(502);
      expect(server.hooks({ kind: 'repository', path: 'acme/app' })).toEqual([]);
    });
  });

  it('repositoryPath is exactly owner/repo', async () => {
    await start(flavor);
    const a = api(flavor);
    expect(a.repositoryPath('acme/app')).toBe('acme/app');
    expect(a.repositoryPath('my-org/my.repo_1')).toBe('my-org/my.repo_1');
    for (const bad of ['acme', 'acme/app/extra', 'group/sub/app', '/app', 'acme/', 'acme/..', 'a b/c', 'acme/app?x'])
      expect(a.repositoryPath(bad)).toBeUndefined();
    expect(a.provider).toBe(flavor);
    expect(a.relayEvents).toEqual(['push']);
    expect(a.contentType).toBe('json');
  });
});

describe('the Gitea API test server itself (where the client’s choices come from)', () => {
  async function call(
    method: string,
    path: string,
    body?: unknown,
    token: string | null = TOKEN,
  ): Promise<{ status: number; json: unknown }> {
    const res = await fetch(`${server.apiUrl}${path}`, {
      method,
      headers: {
        ...(token ? { authorization: `token ${token}` } : {}),
        ...(body !== undefined ? { 'content-type': 'application/json' } : {}),
      },
      ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
    });
    const text = await res.text();
    return { status: res.status, json: text === '' ? undefined : JSON.parse(text) };
  }

  it.each(['gitea', 'forgejo'] as const)('%s: a hook created without `active` is inactive', async (flavor) => {
    await start(flavor);
    const res = await call('POST', '/repos/acme/app/hooks', {
      type: 'gitea',
      config: { url: 'https://x.example.com/', content_type: 'json' },
    });
    expect(res.status).toBe(201);
    expect(res.json).toMatchObject({ active: false, events: ['push'], type: 'gitea' });
  });

  it.each(['gitea', 'forgejo'] as const)(
    '%s: PATCH ignores config.secret, and keeps it when omitted',
    async (flavor) => {
      await start(flavor);
      const hook = server.seedHook(
        { kind: 'repository', path: 'acme/app' },
        { url: 'https://x.example.com/', secret: 'old', branchFilter: 'main', authorizationHeader: 'Bearer abc' },
      );

      const sent = await call('PATCH', `/repos/acme/app/hooks/${hook.id}`, {
        config: { url: 'https://y.example.com/', content_type: 'json', secret: 'new' },
        events: ['push'],
        active: true,
      });
      expect(sent.status).toBe(200);
      expect(server.secretOf(hook.id)).toBe('old');
      expect(JSON.stringify(sent.json)).not.toContain('old');
      // And what a PATCH leaves out is overwritten with "", not kept.
      expect(server.hooks({ kind: 'repository', path: 'acme/app' })[0]).toMatchObject({
        url: 'https://y.example.com/',
        branchFilter: '',
        authorizationHeader: '',
      });

      await call('PATCH', `/repos/acme/app/hooks/${hook.id}`, { active: false });
      expect(server.secretOf(hook.id)).toBe('old');
    },
  );

  it.each([
    ['gitea', ''],
    ['forgejo', 'Bearer abc-0123456789'],
  ] as const)(
    '%s: authorization_header comes back as %j (Gitea main blanks it, Forgejo decrypts it); branch_filter always',
    async (flavor, shown) => {
      await start(flavor);
      server.seedHook(
        { kind: 'repository', path: 'acme/app' },
        {
          url: 'https://x.example.com/',
          secret: 'old',
          branchFilter: 'main',
          authorizationHeader: 'Bearer abc-0123456789',
        },
      );
      const listed = await call('GET', '/repos/acme/app/hooks');
      expect(listed.json).toEqual([expect.objectContaining({ authorization_header: shown, branch_filter: 'main' })]);
    },
  );

  it.each(['gitea', 'forgejo'] as const)('%s: validates the create body like the real server', async (flavor) => {
    await start(flavor);
    const valid = { type: 'gitea', config: { url: 'https://x.example.com/', content_type: 'json' } };
    expect(
      await call('POST', '/repos/acme/app/hooks', { ...valid, config: { ...valid.config, content_type: 'xml' } }),
    ).toEqual({ status: 422, json: { message: 'Invalid content type', url: '/api/swagger' } });
    expect(await call('POST', '/repos/acme/app/hooks', { ...valid, config: { content_type: 'json' } })).toEqual({
      status: 422,
      json: { message: 'Missing config option: url', url: '/api/swagger' },
    });
    expect(
      await call('POST', '/repos/acme/app/hooks', { ...valid, config: { url: 'ftp://x/', content_type: 'json' } }),
    ).toMatchObject({ status: 422, json: { message: 'Invalid url' } });
    expect(await call('POST', '/repos/acme/app/hooks', { config: valid.config })).toEqual({
      status: 422,
      json: [{ fieldNames: ['Type'], classification: 'RequiredError', message: 'Required' }],
    });
    expect(await call('POST', '/repos/acme/app/hooks', { ...valid, type: 'jenkins' })).toMatchObject({
      status: 422,
      json: { message: 'Invalid hook type: jenkins' },
    });
    expect((await call('POST', '/repos/acme/app/hooks', { ...valid, type: 'forgejo' })).status).toBe(
      flavor === 'forgejo' ? 201 : 422,
    );
    expect(await call('POST', '/repos/acme/app/hooks', valid, null)).toEqual({
      status: 401,
      json: { message: 'token is required', url: '/api/swagger' },
    });
    expect((await call('POST', '/repos/acme/missing/hooks', valid, null)).status).toBe(404);
    expect((await call('POST', '/repos/acme/app/hooks', valid, 'gt_bob_has_no_admin_rights_on_acme_app')).status).toBe(
      403,
    );
  });

  it('a Gitea server refuses a Forgejo client: the error names the repository', async () => {
    await start('gitea');
    const err = await rejection(api('forgejo').createHook(repo, spec('v1')));
    expect(err.message).toBe('forgejo acme/app: POST /repos/acme/app/hooks: HTTP 422 Invalid hook type: forgejo');
  });
});
