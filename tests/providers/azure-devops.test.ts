import { claimedIdentity } from '../../lib/delivery/relay';
import { readFileSync } from 'node:fs';
import { MalformedPayload, UnsupportedMediaType } from '../../lib/delivery/errors';
import type { WebhookRequest } from '../../lib/http/request';
import { repoKey } from '../../lib/matching/repo-url';
import { azureDevops } from '../../lib/providers/azure-devops';
import { receiverConfig } from '../support/receiver';
import { verdictOf, webhookRequest } from '../support/provider-verdict';

// Microsoft's documented git.push sample and Argo CD's captured one, byte for byte (tests/fixtures/azure-devops/SOURCE.md).
const documented = readFileSync('tests/fixtures/azure-devops/git-push.json');
const argo = readFileSync('tests/fixtures/azure-devops/argo-cd-git-push.json');
const pullRequest = readFileSync('tests/fixtures/azure-devops/git-pullrequest-created.json');

const receiver = receiverConfig('azure-devops');
// 13 bytes, so its base64 ends in padding.
const secret = 'relay:s3cr3t!';
const basic = (credentials: string) => `Basic ${Buffer.from(credentials, 'utf8').toString('base64')}`;

function req(headers: Record<string, string>): WebhookRequest {
  return webhookRequest({ 'content-type': 'application/json; charset=utf-8', ...headers }, Buffer.alloc(0));
}

function verdict(authorization: string | undefined, key = secret): string {
  const headers = {
    'content-type': 'application/json; charset=utf-8',
    ...(authorization === undefined ? {} : { authorization }),
  };
  return verdictOf(azureDevops, headers, documented, key, receiver);
}

test.each([
  ['the configured user:password', 'ok', basic(secret)],
  ['a wrong password', 'mismatch', basic('relay:s3cr3T!')],
  ['a wrong user', 'mismatch', basic('Relay:s3cr3t!')],
  ['the password alone', 'mismatch', basic(':s3cr3t!')],
  ['the password with a trailing newline', 'mismatch', basic(`${secret}\n`)],
  ['no Authorization header', 'missing', undefined],
  ['an empty Authorization header', 'missing', ''],
  ['the Bearer scheme', 'malformed', `Bearer ${Buffer.from(secret).toString('base64')}`],
  ['the credentials unencoded', 'malformed', `Basic ${secret}`],
  ['the scheme word alone', 'malformed', 'Basic'],
  ['the lower-case scheme word', 'ok', basic(secret).replace('Basic', 'basic')],
  ['the upper-case scheme word', 'ok', basic(secret).replace('Basic', 'BASIC')],
  ['two spaces after the scheme', 'ok', basic(secret).replace('Basic ', 'Basic  ')],
  ['base64 without its padding', 'ok', basic(secret).replace(/=+$/, '')],
  ['base64 with extra padding', 'malformed', `${basic(secret)}==`],
  ['malformed base64', 'malformed', 'Basic cmVsYXk6c3Nj*3I='],
  ['base64 with stray bits in its last character', 'malformed', basic(secret).replace('IQ==', 'IR==')],
  ['base64 of impossible length', 'malformed', basic(secret).replace('IQ==', 'I')],
  [
    'base64 of bytes that are not UTF-8',
    'malformed',
    `Basic ${Buffer.from([0x72, 0x3a, 0xff, 0xfe]).toString('base64')}`,
  ],
  ['base64 of a credential without a colon', 'malformed', basic('relays3cr3t!')],
  ['a trailing space', 'malformed', `${basic(secret)} `],
])('%s → %s', (_name, expected, authorization) => {
  expect(verdict(authorization)).toBe(expected);
});

test.each([
  ['a password containing colons', 'relay:pa:ss:word'],
  ['an empty user', ':pat-as-password'],
  ['non-ASCII characters', 'rélay:pässwörd'],
])('%s verifies only as the whole user:password', (_name, credentials) => {
  expect(verdict(basic(credentials), credentials)).toBe('ok');
  const [user, ...password] = credentials.split(':');
  expect(verdict(basic(`${user}:${password.join(':')}x`), credentials)).toBe('mismatch');
  expect(verdict(basic(`${user}x:${password.join(':')}`), credentials)).toBe('mismatch');
});

test.each([undefined, 'text/plain', 'application/x-www-form-urlencoded'])(
  'content type %s is refused before any secret is read',
  (type) => {
    const headers: Record<string, string> = { authorization: basic(secret) };
    const request: WebhookRequest = {
      method: 'POST',
      receiver: 'r',
      headers: type ? { ...headers, 'content-type': type } : headers,
      body: '',
      isBase64Encoded: false,
    };
    expect(() => azureDevops.inspect(request, documented, receiver)).toThrow(UnsupportedMediaType);
  },
);

test('the delivery id is X-Vss-ActivityId, and no event is read before authentication', () => {
  expect(
    claimedIdentity(
      azureDevops,
      req({ authorization: basic(secret), 'x-vss-activityid': 'a-1', 'x-event-key': 'git.push' }),
    ),
  ).toEqual({ deliveryId: 'a-1' });
});

test.each([
  ['the documented git.push', documented, 'git.push'],
  ['the documented git.pullrequest.created', pullRequest, 'git.pullrequest.created'],
])('the event of %s is read from the body after authentication', (_name, body, event) => {
  expect(azureDevops.eventAfterAuthentication!(body)).toBe(event);
  expect(azureDevops.isPush(event)).toBe(event === 'git.push');
});

test.each([
  ['an empty body', ''],
  ['invalid JSON', '{"eventType":'],
  ['a JSON array', '[]'],
  ['no eventType', '{"resource":{}}'],
  ['a non-string eventType', '{"eventType":7}'],
])('%s has no event: 400', (_name, body) => {
  expect(() => azureDevops.eventAfterAuthentication!(Buffer.from(body))).toThrow(MalformedPayload);
});

const parse = (body: Buffer | string) =>
  azureDevops.parsePush(req({}), Buffer.isBuffer(body) ? body : Buffer.from(body), 'git.push');

test("Microsoft's documented git.push sample", () => {
  expect(parse(documented)).toEqual({
    repository: 'Fabrikam-Fiber-Git/Fabrikam-Fiber-Git',
    repositoryUrls: ['https://dev.azure.com/fabrikam-fiber-inc/DefaultCollection/_git/Fabrikam-Fiber-Git'],
    changes: [{ ref: 'refs/heads/master', commit: '33b55f7cb7e7e245323987634f960cf4a6e6bc74', deleted: false }],
  });
});

test("Argo CD's captured git.push matches the repository's SSH and legacy URLs", () => {
  const push = parse(argo);
  expect(push).toEqual({
    repository: 'my-repo/my-repo',
    repositoryUrls: ['https://dev.azure.com/my-org/my-project/_git/my-repo'],
    changes: [{ ref: 'refs/heads/master', commit: '298a79aa1552799a70718a0ee914d153d5a1a76b', deleted: false }],
  });
  const key = repoKey(push.repositoryUrls[0]!);
  for (const url of [
    'ssh://git@ssh.dev.azure.com/v3/my-org/my-project/my-repo',
    'my-org@vs-ssh.visualstudio.com:v3/my-org/my-project/my-repo',
    'https://my-org.visualstudio.com/DefaultCollection/my-project/_git/my-repo',
  ]) {
    expect(repoKey(url)).toBe(key);
  }
});

/** The documented sample with its `resource` edited: refUpdates and repository fields replaced. */
function edited(change: (resource: Record<string, unknown>) => void): string {
  const payload = JSON.parse(documented.toString('utf8')) as { resource: Record<string, unknown> };
  change(payload.resource);
  return JSON.stringify(payload);
}
const zeros = '0'.repeat(40);
const sha = (c: string) => c.repeat(40);

test.each([
  [
    'a tag',
    [{ name: 'refs/tags/v1.2.0', oldObjectId: zeros, newObjectId: sha('a') }],
    [{ ref: 'refs/tags/v1.2.0', commit: sha('a'), deleted: false }],
  ],
  [
    'a branch deletion',
    [{ name: 'refs/heads/feature', oldObjectId: sha('b'), newObjectId: zeros }],
    [{ ref: 'refs/heads/feature', commit: zeros, deleted: true }],
  ],
  [
    'several refUpdates in one push',
    [
      { name: 'refs/heads/main', oldObjectId: sha('1'), newObjectId: sha('2') },
      { name: 'refs/heads/old', oldObjectId: sha('3'), newObjectId: zeros },
      { name: 'refs/tags/v2', oldObjectId: zeros, newObjectId: sha('4') },
    ],
    [
      { ref: 'refs/heads/main', commit: sha('2'), deleted: false },
      { ref: 'refs/heads/old', commit: zeros, deleted: true },
      { ref: 'refs/tags/v2', commit: sha('4'), deleted: false },
    ],
  ],
  ['a ref update without newObjectId', [{ name: 'refs/heads/main' }], [{ ref: 'refs/heads/main', deleted: false }]],
  ['no ref updates at all (Argo CD crashed on this, GHSA-gpx4-37g2-c8pv)', [], []],
])('%s', (_name, refUpdates, changes) => {
  expect(parse(edited((r) => (r.refUpdates = refUpdates))).changes).toEqual(changes);
});

test('sshUrl and webUrl are matched too when the payload has them, each URL once', () => {
  const body = edited((r) => {
    r.repository = {
      name: 'repo',
      project: { name: 'project' },
      remoteUrl: 'https://org@dev.azure.com/org/project/_git/repo',
      sshUrl: 'git@ssh.dev.azure.com:v3/org/project/repo',
      webUrl: 'https://dev.azure.com/org/project/_git/repo',
    };
  });
  const push = parse(body);
  expect(push.repository).toBe('project/repo');
  expect(push.repositoryUrls).toEqual([
    'https://org@dev.azure.com/org/project/_git/repo',
    'git@ssh.dev.azure.com:v3/org/project/repo',
    'https://dev.azure.com/org/project/_git/repo',
  ]);
  expect(new Set(push.repositoryUrls.map(repoKey))).toEqual(new Set(['dev.azure.com/org/project/_git/repo']));
});

test.each([
  ['no resource (Resource details to send: None)', (p: Record<string, unknown>) => delete p.resource],
  [
    'no refUpdates (Resource details to send: Minimal)',
    (p: Record<string, unknown>) => delete (p.resource as Record<string, unknown>).refUpdates,
  ],
  [
    'a short ref name',
    (p: Record<string, unknown>) =>
      ((p.resource as Record<string, unknown>).refUpdates = [{ name: 'master', newObjectId: sha('a') }]),
  ],
  [
    'a refUpdate that is not an object',
    (p: Record<string, unknown>) => ((p.resource as Record<string, unknown>).refUpdates = ['refs/heads/master']),
  ],
  ['no repository', (p: Record<string, unknown>) => delete (p.resource as Record<string, unknown>).repository],
  [
    'a repository without URLs',
    (p: Record<string, unknown>) => ((p.resource as Record<string, unknown>).repository = { name: 'repo' }),
  ],
])('%s: 400', (_name, change) => {
  const payload = JSON.parse(documented.toString('utf8')) as Record<string, unknown>;
  change(payload);
  expect(() => parse(JSON.stringify(payload))).toThrow(MalformedPayload);
});
