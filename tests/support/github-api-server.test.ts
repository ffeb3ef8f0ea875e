/**
 * The loopback GitHub API holds clients to GitHub's documented secondary limits and conditional requests
 * (https://docs.github.com/en/rest/using-the-rest-api/rate-limits-for-the-rest-api,
 * https://docs.github.com/en/rest/using-the-rest-api/best-practices-for-using-the-rest-api): a test of the sync's pacing
 * is only as good as this server's refusals, so they are tested here with raw requests on its fake clock.
 */
import { GitHubApiServer } from './github-api-server';

const token = 'ghp_server_limits_0123456789abcdef';
let clock = Date.parse('2026-12-04T06:00:00Z');
const now = () => clock;
let server: GitHubApiServer;

beforeEach(async () => {
  server = await GitHubApiServer.start({ now, minWriteIntervalMs: 0 });
  server.addToken(token, { repos: ['acme/app'] });
});
afterEach(() => server.close());

const call = (method: string, path: string, headers: Record<string, string> = {}, body?: unknown) =>
  fetch(`${server.url}${path}`, {
    method,
    headers: {
      authorization: `Bearer ${token}`,
      accept: 'application/vnd.github+json',
      'user-agent': 'limits-test',
      ...(body !== undefined ? { 'content-type': 'application/json' } : {}),
      ...headers,
    },
    ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
  });
const list = (headers: Record<string, string> = {}) => call('GET', '/repos/acme/app/hooks', headers);
const create = (n: number) =>
  call(
    'POST',
    '/repos/acme/app/hooks',
    {},
    {
      name: 'web',
      active: true,
      events: ['push'],
      config: { url: `https://ci.example/hook/${n}`, content_type: 'json' },
    },
  );
/** A write that can be repeated (GitHub caps a repository's hooks): the one hook's URL changed. */
let hookId = 0;
const update = (n: number) =>
  call(
    'PATCH',
    `/repos/acme/app/hooks/${hookId}`,
    {},
    { config: { url: `https://ci.example/hook/${n}`, content_type: 'json' } },
  );

test('900 points in a minute: the 901st GET is a 403 with retry-after and is not served; a minute later it is', async () => {
  for (let i = 0; i < 900; i += 1) expect((await list()).status).toBe(200);
  const refused = await list();
  expect(refused.status).toBe(403);
  expect(Number(refused.headers.get('retry-after'))).toBeGreaterThan(0);
  expect(((await refused.json()) as { message: string }).message).toMatch(/secondary rate limit/);
  expect(server.secondaryUse(token)).toMatchObject({ peakPointsPerMinute: 900, refusals: 1 });
  clock += 60_000;
  expect((await list()).status).toBe(200);
});

test('a write is 5 points; 80 writes in a minute, the 81st refused; 500 in an hour, the 501st refused', async () => {
  hookId = ((await (await create(0)).json()) as { id: number }).id;
  for (let i = 1; i < 80; i += 1) {
    clock += 100;
    expect((await update(i)).status).toBe(200);
  }
  const minute = await update(80);
  expect(minute.status).toBe(403);
  expect(server.secondaryUse(token)).toMatchObject({ peakWritesPerMinute: 80, peakPointsPerMinute: 400 });
  // 420 more, 80 a minute: 500 within the hour.
  for (let i = 0; i < 420; i += 1) {
    if (i % 80 === 0) clock += 61_000;
    expect((await update(100 + i)).status).toBe(200);
  }
  clock += 61_000;
  const hour = await update(999);
  expect(hour.status).toBe(403);
  expect(Number(hour.headers.get('retry-after'))).toBeGreaterThan(60);
  expect(server.secondaryUse(token)).toMatchObject({ peakWritesPerHour: 500, refusals: 2 });
});

test('ETags: a conditional GET that matches is a 304 without a body and costs no primary budget; a change makes it a 200', async () => {
  const first = await list();
  const etag = first.headers.get('etag')!;
  expect(etag).toMatch(/^W\/".+"$/);
  const used = server.rateLimit(token).used;
  const again = await list({ 'if-none-match': etag });
  expect(again.status).toBe(304);
  expect(await again.text()).toBe('');
  expect(server.rateLimit(token).used).toBe(used);
  expect(again.headers.get('x-ratelimit-used')).toBe(String(used));
  await create(1);
  const changed = await list({ 'if-none-match': etag });
  expect(changed.status).toBe(200);
  expect(changed.headers.get('etag')).not.toBe(etag);
  expect(server.violations).toEqual([]);
});
