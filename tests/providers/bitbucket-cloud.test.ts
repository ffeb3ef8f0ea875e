import { claimedIdentity } from '../../lib/delivery/relay';
import { createHmac } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { MalformedPayload, UnsupportedMediaType } from '../../lib/delivery/errors';
import type { WebhookRequest } from '../../lib/http/request';
import { repoKey } from '../../lib/matching/repo-url';
import { bitbucketCloud } from '../../lib/providers/bitbucket-cloud';
import { receiverConfig } from '../support/receiver';
import { verdictOf, webhookRequest } from '../support/provider-verdict';

const receiver = receiverConfig('bitbucket-cloud');
const fixture = (name: string) => readFileSync(`tests/fixtures/bitbucket-cloud/${name}`);

// Bitbucket documents no test vector. The construction (HMAC-SHA256 of the raw body, lower-case hex after `sha256=`)
// is GitHub's, so GitHub's documented vector is a known answer for it too.
const secret = "It's a Secret to Everybody";
const body = Buffer.from('Hello, World!');
const documented = 'sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17';
const hex = documented.slice('sha256='.length);

function req(headers: Record<string, string>, payload: Buffer = body): WebhookRequest {
  return webhookRequest({ 'content-type': 'application/json', ...headers }, payload);
}

function verdict(headers: Record<string, string>, payload: Buffer = body, key = secret): string {
  return verdictOf(bitbucketCloud, { 'content-type': 'application/json', ...headers }, payload, key, receiver);
}

describe('signature', () => {
  const sha1 = `sha1=${createHmac('sha1', secret).update(body).digest('hex')}`;
  const sha512 = `sha512=${createHmac('sha512', secret).update(body).digest('hex')}`;
  test.each(
    (
      [
        ['the documented construction', { 'x-hub-signature': documented }, 'ok'],
        [
          'a fixture signed as sent',
          { 'x-hub-signature': `sha256=${createHmac('sha256', 'k').update(fixture('repo-push.json')).digest('hex')}` },
          'ok',
          fixture('repo-push.json'),
          'k',
        ],
        ['wrong secret', { 'x-hub-signature': documented }, 'mismatch', body, 'another secret'],
        ['tampered byte', { 'x-hub-signature': documented }, 'mismatch', Buffer.from('Hello, World?')],
        ['missing header', {}, 'missing'],
        ['empty header', { 'x-hub-signature': '' }, 'missing'],
        ['only the GitHub header name', { 'x-hub-signature-256': documented }, 'missing'],
        ['sha1=', { 'x-hub-signature': sha1 }, 'malformed'],
        ['sha512=', { 'x-hub-signature': sha512 }, 'malformed'],
        ['upper-case hex', { 'x-hub-signature': `sha256=${hex.toUpperCase()}` }, 'malformed'],
        ['SHA256= prefix', { 'x-hub-signature': `SHA256=${hex}` }, 'malformed'],
        ['bare hex', { 'x-hub-signature': hex }, 'malformed'],
        ['truncated', { 'x-hub-signature': documented.slice(0, -1) }, 'malformed'],
        ['one hex digit too many', { 'x-hub-signature': `${documented}0` }, 'malformed'],
        ['trailing space', { 'x-hub-signature': `${documented} ` }, 'malformed'],
      ] as Array<[string, Record<string, string>, string, Buffer?, string?]>
    ).map(([name, headers, expected, payload, key]) => ({ name, headers, expected, payload, key })),
  )('$name → $expected', ({ headers, expected, payload, key }) => {
    expect(verdict(headers, payload ?? body, key ?? secret)).toBe(expected);
  });

  test.each([
    ['application/json', 'ok'],
    ['application/json; charset=utf-8', 'ok'],
    ['application/x-www-form-urlencoded', 'media'],
    ['text/plain', 'media'],
  ])('content type %s → %s', (type, expected) => {
    expect(verdict({ 'content-type': type, 'x-hub-signature': documented })).toBe(expected);
  });

  test('no content type is refused before any secret is needed', () => {
    const request: WebhookRequest = {
      method: 'POST',
      receiver: 'r',
      headers: { 'x-hub-signature': documented },
      body: '',
      isBase64Encoded: false,
    };
    expect(() => bitbucketCloud.inspect(request, body, receiver)).toThrow(UnsupportedMediaType);
  });
});

describe('events', () => {
  test('the event comes from X-Event-Key and the delivery id from X-Request-UUID, not the hook UUID', () => {
    const claimed = claimedIdentity(
      bitbucketCloud,
      req({
        'x-hub-signature': documented,
        'x-event-key': 'repo:push',
        'x-request-uuid': 'req-1',
        'x-hook-uuid': 'hook-1',
        'x-attempt-number': '2',
      }),
    );
    expect(claimed).toEqual({ event: 'repo:push', deliveryId: 'req-1' });
    expect(claimedIdentity(bitbucketCloud, req({ 'x-hub-signature': documented }))).toEqual({});
  });

  test.each([
    ['repo:push', true, false],
    ['pullrequest:created', false, false],
    ['repo:commit_status_updated', false, false],
    ['diagnostics:ping', false, false],
    ['push', false, false],
  ])('%s: push %s, ping %s', (event, push, ping) => {
    expect(bitbucketCloud.isPush(event)).toBe(push);
    expect(bitbucketCloud.isPing(event)).toBe(ping);
  });

  test('acts on repo:push unless the receiver lists its own events', () => {
    expect(bitbucketCloud.defaultEvents).toEqual(['repo:push']);
  });
});

describe('push payloads', () => {
  const parse = (payload: Buffer | string) => bitbucketCloud.parsePush(req({}), Buffer.from(payload), 'repo:push');

  test.each([
    [
      'repo-push.json',
      'team_name/repo_name',
      [{ ref: 'refs/heads/name-of-branch', commit: '709d658dc5b6d6afcd46049c2f332ee3f515a67d', deleted: false }],
    ],
    [
      'repo-push-tag.json',
      'kolaszek/repository-name',
      [{ ref: 'refs/tags/a', commit: '450118afff93569d1ce362174e9f1a7f104f9166', deleted: false }],
    ],
    [
      'repo-push-tag-v1.2.0.json',
      'kolaszek/repository-name',
      [{ ref: 'refs/tags/v1.2.0', commit: '450118afff93569d1ce362174e9f1a7f104f9166', deleted: false }],
    ],
    ['repo-push-branch-deleted.json', 'kolaszek/repository-name', [{ ref: 'refs/heads/master', deleted: true }]],
    ['repo-push-tag-deleted.json', 'kolaszek/repository-name', [{ ref: 'refs/tags/a', deleted: true }]],
    [
      'repo-push-two-changes.json',
      'kolaszek/repository-name',
      [
        { ref: 'refs/heads/master', commit: '84b96adc644a30fd6465b3d196369d880762afed', deleted: false },
        { ref: 'refs/tags/a', commit: '450118afff93569d1ce362174e9f1a7f104f9166', deleted: false },
      ],
    ],
  ])('%s', (name, repository, changes) => {
    const parsed = parse(fixture(name));
    expect(parsed.repository).toBe(repository);
    expect(parsed.changes).toEqual(changes);
  });

  test('the repository is identified by full_name on bitbucket.org and by links.html.href', () => {
    expect(parse(fixture('repo-push-tag.json')).repositoryUrls).toEqual([
      'https://bitbucket.org/kolaszek/repository-name',
    ]);
    // The documented example's html link points elsewhere than its full_name; both are kept, full_name first.
    expect(parse(fixture('repo-push.json')).repositoryUrls).toEqual([
      'https://bitbucket.org/team_name/repo_name',
      'https://api.bitbucket.org/bitbucket/bitbucket',
    ]);
  });

  test.each([
    ['https://bitbucket.org/team_name/repo_name', true],
    ['https://bitbucket.org/team_name/repo_name.git', true],
    ['ssh://git@bitbucket.org/team_name/repo_name.git', true],
    ['git@bitbucket.org:team_name/repo_name.git', true],
    ['https://x-token-auth@bitbucket.org/Team_Name/Repo_Name.git', true],
    ['https://bitbucket.org/team_name/other_repo', false],
    ['https://github.com/team_name/repo_name', false],
  ])('a GitRepository cloning %s matches: %s', (url, matches) => {
    const keys = parse(fixture('repo-push.json')).repositoryUrls.map(repoKey);
    expect(keys.includes(repoKey(url))).toBe(matches);
  });

  const base = JSON.parse(fixture('repo-push-tag.json').toString('utf8')) as {
    repository: Record<string, unknown>;
    push: { changes: Array<Record<string, unknown>> };
  };
  const change = base.push.changes[0]!;
  const variant = (edit: (p: typeof base) => unknown) => JSON.stringify(edit(structuredClone(base)));

  test('closed: true marks a change deleted even if new is present', () => {
    const parsed = parse(variant((p) => ({ ...p, push: { changes: [{ ...change, closed: true }] } })));
    expect(parsed.changes).toEqual([
      { ref: 'refs/tags/a', commit: '450118afff93569d1ce362174e9f1a7f104f9166', deleted: true },
    ]);
  });

  test('a push without changes parses to no changes', () => {
    expect(parse(variant((p) => ({ ...p, push: { changes: [] } }))).changes).toEqual([]);
  });

  test('without full_name the html link alone identifies the repository', () => {
    const parsed = parse(variant((p) => ({ ...p, repository: { ...p.repository, full_name: undefined } })));
    expect(parsed).toMatchObject({
      repository: 'https://bitbucket.org/kolaszek/repository-name',
      repositoryUrls: ['https://bitbucket.org/kolaszek/repository-name'],
    });
  });

  test.each([
    ['not JSON', '{"push":'],
    ['a JSON array', '[]'],
    ['an empty body', ''],
    ['no repository', variant((p) => ({ push: p.push }))],
    ['a repository with neither full_name nor html link', variant((p) => ({ ...p, repository: { name: 'x' } }))],
    [
      'a full_name that is not workspace/slug',
      variant((p) => ({ ...p, repository: { ...p.repository, full_name: 'a/b/c' } })),
    ],
    ['no push', variant((p) => ({ repository: p.repository }))],
    ['push.changes not an array', variant((p) => ({ ...p, push: { changes: {} } }))],
    ['a change that is not an object', variant((p) => ({ ...p, push: { changes: ['x'] } }))],
    ['new and old both null', variant((p) => ({ ...p, push: { changes: [{ ...change, new: null, old: null }] } }))],
    [
      'a ref type other than branch or tag',
      variant((p) => ({
        ...p,
        push: { changes: [{ ...change, new: { ...(change.new as object), type: 'bookmark' } }] },
      })),
    ],
    [
      'a ref without a name',
      variant((p) => ({ ...p, push: { changes: [{ ...change, new: { ...(change.new as object), name: '' } }] } })),
    ],
  ])('%s is malformed', (_name, payload) => {
    expect(() => parse(payload)).toThrow(MalformedPayload);
  });
});
