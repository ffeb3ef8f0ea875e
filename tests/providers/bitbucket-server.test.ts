import { claimedIdentity } from '../../lib/delivery/relay';
import { createHmac } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { MalformedPayload } from '../../lib/delivery/errors';
import type { WebhookRequest } from '../../lib/http/request';
import { repoKey } from '../../lib/matching/repo-url';
import { bitbucketServer } from '../../lib/providers/bitbucket-server';
import { receiverConfig } from '../support/receiver';
import { verdictOf, webhookRequest } from '../support/provider-verdict';

const receiver = receiverConfig('bitbucket-server');
const fixture = (name: string) => readFileSync(`tests/fixtures/bitbucket-server/${name}`);

// Atlassian documents no test vector; the construction is GitHub's, so GitHub's documented vector is a known answer.
const secret = "It's a Secret to Everybody";
const body = Buffer.from('Hello, World!');
const documented = 'sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17';
const hex = documented.slice('sha256='.length);

function req(headers: Record<string, string>, payload: Buffer = body): WebhookRequest {
  return webhookRequest({ 'content-type': 'application/json; charset=utf-8', ...headers }, payload);
}

function verdict(headers: Record<string, string>, payload: Buffer = body, key = secret): string {
  return verdictOf(
    bitbucketServer,
    { 'content-type': 'application/json; charset=utf-8', ...headers },
    payload,
    key,
    receiver,
  );
}

describe('signature', () => {
  const sha1 = `sha1=${createHmac('sha1', secret).update(body).digest('hex')}`;
  test.each(
    (
      [
        ['the documented construction', { 'x-hub-signature': documented }, 'ok'],
        [
          'a fixture signed as sent',
          {
            'x-hub-signature': `sha256=${createHmac('sha256', 'k').update(fixture('repo-refs-changed.json')).digest('hex')}`,
          },
          'ok',
          fixture('repo-refs-changed.json'),
          'k',
        ],
        ['wrong secret', { 'x-hub-signature': documented }, 'mismatch', body, 'another secret'],
        ['tampered byte', { 'x-hub-signature': documented }, 'mismatch', Buffer.from('Hello, World?')],
        ['missing header', {}, 'missing'],
        ['empty header', { 'x-hub-signature': '' }, 'missing'],
        ['Basic credentials instead of a signature', { authorization: 'Basic dXNlcjpwYXNz' }, 'missing'],
        ['sha1=', { 'x-hub-signature': sha1 }, 'malformed'],
        ['upper-case hex', { 'x-hub-signature': `sha256=${hex.toUpperCase()}` }, 'malformed'],
        ['SHA256= prefix', { 'x-hub-signature': `SHA256=${hex}` }, 'malformed'],
        ['bare hex', { 'x-hub-signature': hex }, 'malformed'],
        ['truncated', { 'x-hub-signature': documented.slice(0, -1) }, 'malformed'],
        ['trailing space', { 'x-hub-signature': `${documented} ` }, 'malformed'],
      ] as Array<[string, Record<string, string>, string, Buffer?, string?]>
    ).map(([name, headers, expected, payload, key]) => ({ name, headers, expected, payload, key })),
  )('$name → $expected', ({ headers, expected, payload, key }) => {
    expect(verdict(headers, payload ?? body, key ?? secret)).toBe(expected);
  });

  test.each([
    ['application/json', 'ok'],
    ['application/json; charset=UTF-8', 'ok'],
    ['application/x-www-form-urlencoded', 'media'],
  ])('content type %s → %s', (type, expected) => {
    expect(verdict({ 'content-type': type, 'x-hub-signature': documented })).toBe(expected);
  });
});

describe('events', () => {
  test('the event comes from X-Event-Key and the delivery id from X-Request-Id', () => {
    const claimed = claimedIdentity(
      bitbucketServer,
      req({ 'x-hub-signature': documented, 'x-event-key': 'repo:refs_changed', 'x-request-id': 'd872ad25' }),
    );
    expect(claimed).toEqual({ event: 'repo:refs_changed', deliveryId: 'd872ad25' });
  });

  test.each([
    ['repo:refs_changed', true, false],
    ['diagnostics:ping', false, true],
    ['pr:opened', false, false],
    ['mirror:repo_synchronized', false, false],
    ['repo:push', false, false],
  ])('%s: push %s, ping %s', (event, push, ping) => {
    expect(bitbucketServer.isPush(event)).toBe(push);
    expect(bitbucketServer.isPing(event)).toBe(ping);
  });

  test('acts on repo:refs_changed unless the receiver lists its own events', () => {
    expect(bitbucketServer.defaultEvents).toEqual(['repo:refs_changed']);
  });
});

describe('push payloads', () => {
  const parse = (payload: Buffer | string) =>
    bitbucketServer.parsePush(req({}), Buffer.from(payload), 'repo:refs_changed');

  test.each([
    [
      'repo-refs-changed.json',
      'MYPROJECT/test-repo',
      [{ ref: 'refs/heads/master', commit: '22671f0349857934857983457983475ec39f196b', deleted: false }],
    ],
    [
      'repo-refs-changed-tag.json',
      'MYPROJECT/test-repo',
      [{ ref: 'refs/tags/v1.2.0', commit: '22671f0349857934857983457983475ec39f196b', deleted: false }],
    ],
    [
      'repo-refs-changed-delete.json',
      '~gopher/webhook-test',
      [{ ref: 'refs/heads/feature/wip', commit: '0'.repeat(40), deleted: true }],
    ],
    [
      'repo-refs-changed-delete-tag.json',
      'SBOX/sandbox',
      [{ ref: 'refs/tags/test-tag', commit: '0'.repeat(40), deleted: true }],
    ],
    [
      'repo-refs-changed-multiple.json',
      'SBOX/sandbox',
      [
        { ref: 'refs/heads/branch1', commit: '3980c2be32a7e23c795741d5dc1a2eecb9b85d6d', deleted: false },
        { ref: 'refs/heads/master', commit: 'fc43d13cff1abb28631196944ba4fc4ad06a2cf2', deleted: false },
      ],
    ],
  ])('%s', (name, repository, changes) => {
    const parsed = parse(fixture(name));
    expect(parsed.repository).toBe(repository);
    expect(parsed.changes).toEqual(changes);
  });

  test.each([
    [
      'repo-refs-changed.json',
      [
        'ssh://git@bitbucketserver:7999/myproject/test-repo.git',
        'https://bitbucketserver/scm/myproject/test-repo.git',
        'ssh://git@bitbucketserver/MYPROJECT/test-repo.git',
      ],
    ],
    [
      'repo-refs-changed-delete.json',
      [
        'ssh://git@server.bitbucket.local:7999/~gopher/webhook-test.git',
        'https://server.bitbucket.local/scm/~gopher/webhook-test.git',
        'ssh://git@server.bitbucket.local/~gopher/webhook-test.git',
      ],
    ],
    [
      'repo-refs-changed-multiple.json',
      [
        'ssh://git@139.59.64.214:7999/sbox/sandbox.git',
        'http://139.59.64.214:7990/scm/sbox/sandbox.git',
        'ssh://git@139.59.64.214/SBOX/sandbox.git',
      ],
    ],
  ])('%s: the clone links, then the SSH form on each host', (name, urls) => {
    expect(parse(fixture(name)).repositoryUrls).toEqual(urls);
  });

  test.each([
    ['ssh://git@bitbucketserver:7999/myproject/test-repo.git', true],
    ['ssh://git@bitbucketserver:7999/MYPROJECT/test-repo.git', true],
    ['https://bitbucketserver/scm/myproject/test-repo.git', true],
    ['https://flux@bitbucketserver/scm/MYPROJECT/test-repo', true],
    ['https://bitbucketserver/scm/myproject/other-repo.git', false],
    ['ssh://git@bitbucketserver:7999/otherproject/test-repo.git', false],
    // The web page is not a clone URL and no GitRepository uses it.
    ['https://bitbucketserver/projects/MYPROJECT/repos/test-repo/browse', false],
  ])('a GitRepository cloning %s matches: %s', (url, matches) => {
    const keys = parse(fixture('repo-refs-changed.json')).repositoryUrls.map(repoKey);
    expect(keys.includes(repoKey(url))).toBe(matches);
  });

  const base = JSON.parse(fixture('repo-refs-changed.json').toString('utf8')) as {
    repository: { links: { clone: Array<{ href: string; name: string }>; self: Array<{ href: string }> } } & Record<
      string,
      unknown
    >;
    changes: Array<Record<string, unknown>>;
  };
  const change = base.changes[0]!;
  const variant = (edit: (p: typeof base) => unknown) => JSON.stringify(edit(structuredClone(base)));

  test('an SSH base URL on another host still leaves the SSH form on the web host, with any context path', () => {
    const parsed = parse(
      variant((p) => ({
        ...p,
        repository: {
          ...p.repository,
          links: {
            clone: [
              { href: 'ssh://git@git-ssh.example.com:7999/myproject/test-repo.git', name: 'ssh' },
              { href: 'https://code.example.com/bitbucket/scm/myproject/test-repo.git', name: 'http' },
            ],
            self: [{ href: 'https://code.example.com/bitbucket/projects/MYPROJECT/repos/test-repo/browse' }],
          },
        },
      })),
    );
    const keys = parsed.repositoryUrls.map(repoKey);
    expect(keys).toEqual(
      expect.arrayContaining([
        'git-ssh.example.com/myproject/test-repo',
        'code.example.com/bitbucket/scm/myproject/test-repo',
      ]),
    );
    expect(keys).toContain(repoKey('ssh://git@code.example.com:7999/myproject/test-repo.git'));
  });

  test('only the http link: a GitRepository using the SSH URL still matches', () => {
    const parsed = parse(
      variant((p) => ({ ...p, repository: { ...p.repository, links: { clone: [p.repository.links.clone[1]] } } })),
    );
    expect(parsed.repositoryUrls.map(repoKey)).toContain(
      repoKey('ssh://git@bitbucketserver:7999/myproject/test-repo.git'),
    );
  });

  test('a project key or slug that is not a URL path segment adds no derived URL', () => {
    const parsed = parse(variant((p) => ({ ...p, repository: { ...p.repository, slug: '../x' } })));
    expect(parsed.repositoryUrls).toEqual(base.repository.links.clone.map((l) => l.href));
  });

  test('refId stands in for a missing ref.id, and an all-zero toHash is a deletion', () => {
    const parsed = parse(
      variant((p) => ({ ...p, changes: [{ refId: 'refs/heads/x', toHash: '0'.repeat(40), type: 'UPDATE' }] })),
    );
    expect(parsed.changes).toEqual([{ ref: 'refs/heads/x', commit: '0'.repeat(40), deleted: true }]);
  });

  test("Atlassian's documented example has no links, so nothing identifies the repository", () => {
    expect(() => parse(fixture('documented-example-no-links.json'))).toThrow(/no clone or self link/);
  });

  test.each([
    ['not JSON', '{"changes":'],
    ['an empty body', ''],
    ['no repository', variant((p) => ({ changes: p.changes }))],
    ['no changes', variant((p) => ({ repository: p.repository }))],
    ['changes not an array', variant((p) => ({ ...p, changes: {} }))],
    ['a change that is not an object', variant((p) => ({ ...p, changes: [null] }))],
    ['a short ref name', variant((p) => ({ ...p, changes: [{ ...change, ref: { id: 'master' }, refId: 'master' }] }))],
    ['no ref at all', variant((p) => ({ ...p, changes: [{ ...change, ref: undefined, refId: undefined }] }))],
    ['an unknown change type', variant((p) => ({ ...p, changes: [{ ...change, type: 'RENAME' }] }))],
    ['a missing change type', variant((p) => ({ ...p, changes: [{ ...change, type: undefined }] }))],
  ])('%s is malformed', (_name, payload) => {
    expect(() => parse(payload)).toThrow(MalformedPayload);
  });
});
