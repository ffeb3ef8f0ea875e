import { createHmac } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { describeProviderContract, type Delivery } from '../../support/provider-contract';
import { gitRepository, signGitHub } from '../../support/relay-harness';

// Fixtures are read as bytes and signed as read (tests/fixtures/bitbucket-cloud/SOURCE.md).
const fixture = (name: string) => readFileSync(`tests/fixtures/bitbucket-cloud/${name}`, 'utf8');
const headers = (event: string) => ({
  'content-type': 'application/json',
  'x-event-key': event,
  'x-request-uuid': '3f0e6b4e-1c9a-4a1e-9a63-6f4f1f1e2a10',
  'x-hook-uuid': '{0b4a7c0e-9f5e-4c3a-8d7e-2b1f6a9c4d21}',
  'x-attempt-number': '1',
});
const delivery = (name: string): Delivery => ({ body: fixture(name), headers: headers('repo:push') });
// Bitbucket Cloud's signature is GitHub's construction under the X-Hub-Signature header.
const sign = (body: string, secret: string) => ({ 'x-hub-signature': signGitHub(secret, body) });
const hex = (body: string, secret: string) => signGitHub(secret, body).slice('sha256='.length);
const forgeries: Parameters<typeof describeProviderContract>[0]['forgeries'] = [
  ['upper-case hex', (body, secret) => ({ 'x-hub-signature': `sha256=${hex(body, secret).toUpperCase()}` })],
  ['a SHA256= prefix', (body, secret) => ({ 'x-hub-signature': `SHA256=${hex(body, secret)}` })],
  ['bare hex', (body, secret) => ({ 'x-hub-signature': hex(body, secret) })],
  ['a truncated signature', (body, secret) => ({ 'x-hub-signature': signGitHub(secret, body).slice(0, -1) })],
  [
    'an HMAC-SHA1 under sha1=',
    (body, secret) => ({ 'x-hub-signature': `sha1=${createHmac('sha1', secret).update(body).digest('hex')}` }),
  ],
  [
    'the signature under GitHub’s X-Hub-Signature-256 only',
    (body, secret) => ({ 'x-hub-signature-256': signGitHub(secret, body) }),
  ],
];

// The documented repo:push example: branch `name-of-branch` of `team_name/repo_name`.
describeProviderContract({
  provider: 'bitbucket-cloud',
  secrets: ['bitbucket-cloud-old-secret', 'bitbucket-cloud-new-secret'],
  credential: sign,
  push: delivery('repo-push.json'),
  objects: [
    gitRepository('flux-system', 'repo-ssh', 'ssh://git@bitbucket.org/team_name/repo_name.git', {
      branch: 'name-of-branch',
    }),
    gitRepository('flux-system', 'repo-https', 'https://bitbucket.org/team_name/repo_name', {
      branch: 'name-of-branch',
    }),
    gitRepository('flux-system', 'repo-master', 'https://bitbucket.org/team_name/repo_name.git', { branch: 'master' }),
    gitRepository('flux-system', 'repo-tag', 'ssh://git@bitbucket.org/team_name/repo_name.git', {
      tag: 'name-of-branch',
    }),
    gitRepository('flux-system', 'other-repo', 'https://bitbucket.org/team_name/other_repo', {
      branch: 'name-of-branch',
    }),
  ],
  expectPatched: ['c/flux-system/GitRepository/repo-https', 'c/flux-system/GitRepository/repo-ssh'],
  forgeries,
  signsBody: true,
  emptyBodyStatus: 400,
  eventNotAllowed: { body: '{"pullrequest":{"id":1}}', headers: headers('pullrequest:created') },
  // Bitbucket Cloud has no ping or test delivery.
});

describe('a tag push', () => {
  // Adapted from a real tag push, tag renamed `a` -> `v1.2.0` (SOURCE.md).
  describeProviderContract({
    provider: 'bitbucket-cloud',
    secrets: ['bitbucket-cloud-old-secret', 'bitbucket-cloud-new-secret'],
    credential: sign,
    push: delivery('repo-push-tag-v1.2.0.json'),
    objects: [
      gitRepository('apps', 'pinned-tag', 'ssh://git@bitbucket.org/kolaszek/repository-name.git', { tag: 'v1.2.0' }),
      gitRepository('apps', 'semver-1', 'https://bitbucket.org/kolaszek/repository-name.git', {
        semver: '>=1.0.0 <2.0.0',
      }),
      gitRepository('apps', 'semver-2', 'https://bitbucket.org/kolaszek/repository-name.git', { semver: '>=2.0.0' }),
      gitRepository('apps', 'other-tag', 'https://bitbucket.org/kolaszek/repository-name.git', { tag: 'v1.1.0' }),
      gitRepository('apps', 'main-branch', 'https://bitbucket.org/kolaszek/repository-name.git', { branch: 'master' }),
      gitRepository('apps', 'branch-named-like-the-tag', 'https://bitbucket.org/kolaszek/repository-name.git', {
        branch: 'v1.2.0',
      }),
    ],
    expectPatched: ['c/apps/GitRepository/pinned-tag', 'c/apps/GitRepository/semver-1'],
    forgeries: forgeries.slice(0, 1),
    signsBody: true,
    emptyBodyStatus: 400,
  });
});
