/**
 * Every provider's hook client against a loopback API that echoes what it was sent (body and credentials) in its
 * error answer, as some servers and proxies do in validation errors: the client's error must carry the reason, and
 * neither the API token nor the webhook secret it submitted.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { HookApi, HookApiOptions, HookSpec, HookTarget } from '../../lib/sync/hook-api';
import { ApiError } from '../../lib/sync/http';
import { bitbucketCloudHooks } from '../../lib/sync/providers/bitbucket-cloud';
import { bitbucketServerHooks } from '../../lib/sync/providers/bitbucket-server';
import { giteaHooks } from '../../lib/sync/providers/gitea';
import { githubHooks } from '../../lib/sync/providers/github';
import { gitlabHooks } from '../../lib/sync/providers/gitlab';
import { closeServer } from '../support/http-body';
import { registerTestSecret } from '../support/log-scan';

const TOKEN = 'echo-api-token-5b1f0c9e7d';
const SECRET = 'echo-hook-secret-8c2d4e6f';
registerTestSecret(TOKEN, 'secret-echo test token');
registerTestSecret(SECRET, 'secret-echo test hook secret');

let server: Server;
let apiUrl: string;
const received: string[] = [];

beforeAll(async () => {
  server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks).toString('utf8');
      received.push(body);
      const credentials = `${req.headers.authorization ?? ''} ${String(req.headers['private-token'] ?? '')}`;
      const text = JSON.stringify({ message: `invalid hook ${body} for ${credentials}` });
      res.writeHead(422, { 'content-type': 'application/json', 'content-length': String(Buffer.byteLength(text)) });
      res.end(text);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  apiUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(async () => {
  await closeServer(server);
});

const spec: HookSpec = {
  url: 'https://relay.example/hooks/r?relay-secret-version=v1',
  events: [],
  secret: SECRET,
  name: 'flux-webhook-relay',
};
const options = (): HookApiOptions => ({
  apiUrl,
  token: TOKEN,
  deadline: Date.now() + 60_000,
  allowHttpLoopback: true,
});

const clients: Array<[string, () => HookApi, HookTarget, string]> = [
  ['github', () => githubHooks(options()), { kind: 'repository', path: 'acme/app' }, '1'],
  ['gitlab', () => gitlabHooks(options()), { kind: 'repository', path: 'acme/app' }, '1'],
  ['gitea', () => giteaHooks({ ...options(), provider: 'gitea' }), { kind: 'repository', path: 'acme/app' }, '1'],
  [
    'bitbucket-cloud',
    () => bitbucketCloudHooks(options()),
    { kind: 'repository', path: 'acme/app' },
    '{0b0e5f9c-3f0c-4d52-9a8a-6f8b1f2e7c11}',
  ],
  ['bitbucket-server', () => bitbucketServerHooks(options()), { kind: 'repository', path: 'PROJ/app' }, '1'],
];

describe.each(clients)('%s', (_name, make, target, id) => {
  const withEvents = (api: HookApi): HookSpec => ({ ...spec, events: api.relayEvents });

  test.each(['create', 'update'] as const)(
    '%s: an error echoing the request names the reason, not the token or the hook secret',
    async (call) => {
      const api = make();
      received.length = 0;
      const error = await (
        call === 'create' ? api.createHook(target, withEvents(api)) : api.updateHook(target, id, withEvents(api))
      ).then(
        () => undefined,
        (e: unknown) => e as Error,
      );
      // The secret did go out (so the echo had it to give back).
      expect(received.join('\n')).toContain(SECRET);
      expect(error).toBeInstanceOf(ApiError);
      expect((error as ApiError).status).toBe(422);
      expect(error!.message).toContain('invalid hook');
      expect(error!.message).not.toContain(SECRET);
      expect(error!.message).not.toContain(TOKEN);
      expect(error!.message).toContain('[REDACTED]');
    },
  );
});
