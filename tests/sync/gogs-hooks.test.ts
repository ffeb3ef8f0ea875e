import type { HookApi, HookSpec, HookTarget } from '../../lib/sync/hook-api';
import { ApiError } from '../../lib/sync/http';
import { gogsHooks } from '../../lib/sync/providers/gogs';
import { GogsApiTestServer } from '../support/gogs-api-server';
import { frozenClientOptions, planAndApply, rejection } from '../support/hook-client';

const TOKEN = 'gogs_0123456789abcdef0123456789abcdef';
const RELAY = 'https://relay.example.com/hooks/main';
const repo: HookTarget = { kind: 'repository', path: 'acme/app' };
const ownership = { hooksPrefix: 'https://relay.example.com/hooks/', receivers: new Set(['main']) };

function spec(version: string, secret = `secret-${version}`): HookSpec {
  return { url: `${RELAY}?relay-secret-version=${version}`, events: ['push'], secret, name: 'flux-webhook-relay' };
}

let server: GogsApiTestServer;

beforeEach(async () => {
  server = await GogsApiTestServer.start();
  server.addUser('alice', TOKEN);
  server.addUser('bob', 'gogs_bob_is_not_admin_of_acme_app_000');
  server.addRepo('acme/app', ['alice'], ['bob']);
  server.addRepo('acme/private', ['alice']);
});

afterEach(() => server.close());

function api(token = TOKEN): HookApi {
  return gogsHooks(frozenClientOptions(server.apiUrl, token));
}

const sync = (hooks: HookApi, wanted: HookSpec) => planAndApply(hooks, repo, wanted, ownership);

describe('gogsHooks', () => {
  it('creates an active push hook with the secret, JSON, with token auth; a second run leaves it unchanged', async () => {
    const hooks = api();
    expect((await sync(hooks, spec('v1'))).map((a) => a.kind)).toEqual(['create']);
    expect(server.hooks('acme/app')).toEqual([
      expect.objectContaining({
        type: 'gogs',
        url: spec('v1').url,
        secret: 'secret-v1',
        active: true,
        events: ['push'],
      }),
    ]);
    expect(server.requests.every((r) => r.authorization === `token ${TOKEN}`)).toBe(true);
    expect((await sync(hooks, spec('v1'))).map((a) => a.kind)).toEqual(['unchanged']);
  });

  it('repairs drift (inactive, events, form content type) by re-creating the hook', async () => {
    server.seedHook('acme/app', {
      url: spec('v1').url,
      secret: 'secret-v1',
      active: false,
      events: ['issues'],
      contentType: 'form',
    });
    const hooks = api();
    const [action] = await sync(hooks, spec('v1'));
    expect(action).toMatchObject({
      kind: 'update',
      reasons: ['events issues → push', 'inactive', 'content type form → json'],
    });
    expect(server.hooks('acme/app')).toEqual([
      expect.objectContaining({
        url: spec('v1').url,
        active: true,
        events: ['push'],
        contentType: 'json',
        secret: 'secret-v1',
      }),
    ]);
    expect((await sync(hooks, spec('v1'))).map((a) => a.kind)).toEqual(['unchanged']);
  });

  it('rotates the secret by creating the new hook before deleting the old one (EditHook ignores config.secret)', async () => {
    const old = server.seedHook('acme/app', { url: spec('v1').url, secret: 'secret-v1' });
    const hooks = api();
    const [action] = await sync(hooks, spec('v2'));
    expect(action).toMatchObject({ kind: 'update', reasons: ['secret rotated'] });
    const writes = server.requests.filter((r) => r.method !== 'GET').map((r) => `${r.method} ${r.path}`);
    expect(writes).toEqual(['POST /api/v1/repos/acme/app/hooks', `DELETE /api/v1/repos/acme/app/hooks/${old}`]);
    expect(server.hooks('acme/app')).toEqual([expect.objectContaining({ url: spec('v2').url, secret: 'secret-v2' })]);
  });

  it('keeps the old hook when creating the new one fails', async () => {
    const old = server.seedHook('acme/app', { url: spec('v1').url, secret: 'secret-v1' });
    server.fault = {
      match: (r) => r.method === 'POST',
      status: 500,
      contentType: 'application/json',
      body: '{"message":"boom"}',
    };
    const err = await rejection(api().updateHook(repo, String(old), spec('v2')));
    expect(err.message).toMatch(/^gogs acme\/app: POST \/repos\/acme\/app\/hooks: HTTP 500/);
    expect(server.hooks('acme/app').map((h) => h.id)).toEqual([old]);
    expect(server.requests.some((r) => r.method === 'DELETE')).toBe(false);
  });

  it('leaves foreign hooks alone', async () => {
    server.seedHook('acme/app', { url: 'https://ci.example.com/hook', events: ['push', 'create'] });
    server.seedHook('acme/app', { type: 'slack', url: 'https://hooks.slack.com/services/T/B/x' });
    const actions = await sync(api(), spec('v1'));
    expect(actions.map((a) => a.kind)).toEqual(['foreign', 'foreign', 'create']);
    expect(server.hooks('acme/app').map((h) => h.url)).toEqual([
      'https://ci.example.com/hook',
      'https://hooks.slack.com/services/T/B/x',
      spec('v1').url,
    ]);
  });

  it.each([
    ['an HTML page', 200, 'text/html', '<html>sign in</html>'],
    ['truncated JSON', 200, 'application/json', '[{"id": 1, "type"'],
    ['a list that is not a list', 200, 'application/json', '{"hooks": []}'],
    ['a hook without an id', 200, 'application/json', '[{"type":"gogs","config":{}}]'],
    ['a 200 with an error body', 200, 'application/json', '{"message":"internal error"}'],
  ])('fails the target, without a crash or a write, on %s', async (_name, status, contentType, body) => {
    server.fault = { match: (r) => r.method === 'GET', status, contentType, body };
    const err = await rejection(api().listHooks(repo));
    expect(err).toBeInstanceOf(ApiError);
    expect(err.message).toMatch(/^gogs acme\/app: /);
    expect(server.requests.filter((r) => r.method !== 'GET')).toEqual([]);
  });

  it('fails with 401 for an unknown token, 403 for a reader, 404 for an unknown or unreadable repository (api.go route order)', async () => {
    expect(await rejection(api('gogs_unknown_token_000000000000').listHooks(repo))).toMatchObject({ status: 401 });
    expect(await rejection(api('gogs_bob_is_not_admin_of_acme_app_000').listHooks(repo))).toMatchObject({
      status: 403,
    });
    expect(await rejection(api().listHooks({ kind: 'repository', path: 'acme/none' }))).toMatchObject({ status: 404 });
    expect(
      await rejection(
        api('gogs_bob_is_not_admin_of_acme_app_000').listHooks({ kind: 'repository', path: 'acme/private' }),
      ),
    ).toMatchObject({ status: 404 });
  });

  it('refuses organisation targets and non-numeric ids before any call', async () => {
    await expect(api().listHooks({ kind: 'organization', path: 'acme' })).rejects.toThrow(/per repository/);
    await expect(api().deleteHook(repo, '../1')).rejects.toThrow(/not a gogs hook id/);
    expect(server.requests).toEqual([]);
  });
});
