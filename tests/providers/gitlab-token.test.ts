import { MissingSignature, UnsupportedMediaType } from '../../lib/delivery/errors';
import type { WebhookRequest } from '../../lib/http/request';
import { receiverConfig } from '../support/receiver';
import { gitlab } from '../../lib/providers/gitlab';
import push from '../fixtures/gitlab/push.json';
import tagPush from '../fixtures/gitlab/tag-push.json';

const receiver = receiverConfig('gitlab');

function req(headers: Record<string, string>, body = '{}'): WebhookRequest {
  return {
    method: 'POST',
    receiver: 'r',
    headers: { 'content-type': 'application/json', ...headers },
    body,
    isBase64Encoded: false,
  };
}

test.each([
  ['the same token', 's3cr3t-token', true],
  ['another token', 's3cr3t-tokem', false],
  ['a prefix of it', 's3cr3t', false],
  ['it with a trailing newline', 's3cr3t-token\n', false],
])('%s verifies: %s', (_name, presented, expected) => {
  expect(
    gitlab
      .inspect(req({ 'x-gitlab-token': presented, 'x-gitlab-event': 'Push Hook' }), Buffer.alloc(0), receiver)
      .verify('s3cr3t-token'),
  ).toBe(expected);
});

test('a missing token is refused before any secret is read', () => {
  expect(() => gitlab.inspect(req({ 'x-gitlab-event': 'Push Hook' }), Buffer.alloc(0), receiver)).toThrow(
    MissingSignature,
  );
});

test('only JSON is accepted', () => {
  expect(() =>
    gitlab.inspect(req({ 'content-type': 'text/plain', 'x-gitlab-token': 't' }), Buffer.alloc(0), receiver),
  ).toThrow(UnsupportedMediaType);
});

test("GitLab's documented push example", () => {
  const parsed = gitlab.parsePush(req({}), Buffer.from(JSON.stringify(push)), 'Push Hook');
  expect(parsed.repository).toBe('mike/diaspora');
  expect(parsed.changes).toEqual([{ ref: 'refs/heads/master', commit: push.checkout_sha, deleted: false }]);
  expect(parsed.repositoryUrls).toEqual(
    expect.arrayContaining(['git@example.com:mike/diaspora.git', 'http://example.com/mike/diaspora.git']),
  );
});

test("GitLab's documented tag push example", () => {
  const parsed = gitlab.parsePush(req({}), Buffer.from(JSON.stringify(tagPush)), 'Tag Push Hook');
  expect(parsed.changes).toEqual([{ ref: 'refs/tags/v1.0.0', commit: tagPush.checkout_sha, deleted: false }]);
});

test('a branch deletion (after all zeros, checkout_sha null) is marked deleted', () => {
  const deleted = { ...push, after: '0'.repeat(40), checkout_sha: null, commits: [], total_commits_count: 0 };
  const parsed = gitlab.parsePush(req({}), Buffer.from(JSON.stringify(deleted)), 'Push Hook');
  expect(parsed.changes).toEqual([{ ref: 'refs/heads/master', commit: '0'.repeat(40), deleted: true }]);
});
