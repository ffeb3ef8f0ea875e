import { createHmac } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { describeProviderContract, type Delivery } from '../../support/provider-contract';
import { gitRepository, signGitHub } from '../../support/relay-harness';

// Fixtures are read as bytes and signed as read (tests/fixtures/bitbucket-server/SOURCE.md).
const fixture = (name: string) => readFileSync(`tests/fixtures/bitbucket-server/${name}`, 'utf8');
const headers = (event: string) => ({
  'content-type': 'application/json; charset=utf-8',
  'x-event-key': event,
  'x-request-id': '96efd4cb-05ca-46cd-ac82-3cdf066ea77d',
});
const delivery = (name: string, event = 'repo:refs_changed'): Delivery => ({
  body: fixture(name),
  headers: headers(event),
});
// Data Center's signature is GitHub's construction under the X-Hub-Signature header.
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
    'Basic credentials instead of a signature',
    (_body, secret) => ({ authorization: `Basic ${Buffer.from(`flux:${secret}`).toString('base64')}` }),
  ],
];

// A real delivery that moved two branches (branch1 and master) of SBOX/sandbox, whose clone links are
// ssh://git@139.59.64.214:7999/sbox/sandbox.git and http://139.59.64.214:7990/scm/sbox/sandbox.git.
describeProviderContract({
  provider: 'bitbucket-server',
  secrets: ['bitbucket-dc-old-secret', 'bitbucket-dc-new-secret'],
  credential: sign,
  push: delivery('repo-refs-changed-multiple.json'),
  objects: [
    // Each form of the URL, and each of the two pushed branches.
    gitRepository('flux-system', 'sandbox-master-ssh', 'ssh://git@139.59.64.214:7999/sbox/sandbox.git', {
      branch: 'master',
    }),
    gitRepository('flux-system', 'sandbox-branch1-http', 'http://139.59.64.214:7990/scm/SBOX/sandbox.git', {
      branch: 'branch1',
    }),
    gitRepository('flux-system', 'sandbox-default-branch', 'http://139.59.64.214:7990/scm/sbox/sandbox'),
    gitRepository('flux-system', 'sandbox-develop', 'ssh://git@139.59.64.214:7999/sbox/sandbox.git', {
      branch: 'develop',
    }),
    gitRepository('flux-system', 'sandbox-tag', 'ssh://git@139.59.64.214:7999/sbox/sandbox.git', { tag: 'master' }),
    gitRepository('flux-system', 'other-repo', 'ssh://git@139.59.64.214:7999/sbox/other.git', { branch: 'master' }),
    gitRepository('flux-system', 'other-project', 'http://139.59.64.214:7990/scm/box/sandbox.git', {
      branch: 'master',
    }),
  ],
  expectPatched: [
    'c/flux-system/GitRepository/sandbox-branch1-http',
    'c/flux-system/GitRepository/sandbox-default-branch',
    'c/flux-system/GitRepository/sandbox-master-ssh',
  ],
  forgeries,
  signsBody: true,
  emptyBodyStatus: 400,
  eventNotAllowed: { body: '{"eventKey":"pr:opened"}', headers: headers('pr:opened') },
  ping: delivery('diagnostics-ping.json', 'diagnostics:ping'),
});

describe('a tag push', () => {
  // Adapted: two tags created in one push, v1.2.0 and v1.3.0 (SOURCE.md). `semver-1` matches both and is patched
  // once (the contract compares the patched list exactly).
  describeProviderContract({
    provider: 'bitbucket-server',
    secrets: ['bitbucket-dc-old-secret', 'bitbucket-dc-new-secret'],
    credential: sign,
    push: delivery('repo-refs-changed-two-tags.json'),
    objects: [
      gitRepository('apps', 'pinned-tag', 'ssh://git@bitbucketserver:7999/myproject/test-repo.git', { tag: 'v1.2.0' }),
      gitRepository('apps', 'semver-1', 'https://bitbucketserver/scm/myproject/test-repo.git', { semver: '^1.0.0' }),
      gitRepository('apps', 'semver-2', 'https://bitbucketserver/scm/myproject/test-repo.git', { semver: '>=2.0.0' }),
      gitRepository('apps', 'other-tag', 'https://bitbucketserver/scm/myproject/test-repo.git', { tag: 'v1.1.0' }),
      gitRepository('apps', 'main-branch', 'ssh://git@bitbucketserver:7999/myproject/test-repo.git', {
        branch: 'master',
      }),
    ],
    expectPatched: ['c/apps/GitRepository/pinned-tag', 'c/apps/GitRepository/semver-1'],
    forgeries: forgeries.slice(0, 1),
    signsBody: true,
    emptyBodyStatus: 400,
  });
});
