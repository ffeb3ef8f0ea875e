import { createHmac } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { describeProviderContract } from '../../support/provider-contract';
import { gitRepository } from '../../support/relay-harness';

// go-playground/webhooks' Gitea deliveries, byte for byte; push-tag.json is push.json made a tag push (SOURCE.md).
const push = readFileSync('tests/fixtures/gitea/push.json', 'utf8');
const pushTag = readFileSync('tests/fixtures/gitea/push-tag.json', 'utf8');
const create = readFileSync('tests/fixtures/gitea/create.json', 'utf8');
const deleteBranch = readFileSync('tests/fixtures/gitea/delete.json', 'utf8');
const headers = (event: string) => ({
  'content-type': 'application/json',
  'x-gitea-event': event,
  'x-gitea-delivery': 'f6266f16-1bf3-46a5-9ea4-602e06ead473',
});
const hex = (body: string, secret: string) => createHmac('sha256', secret).update(body).digest('hex');
const credential = (body: string, secret: string) => ({ 'x-gitea-signature': hex(body, secret) });
const url = 'http://localhost:3000/example/example.git';

const forgeries: Parameters<typeof describeProviderContract>[0]['forgeries'] = [
  ['the sha256= prefix', (body, secret) => ({ 'x-gitea-signature': `sha256=${hex(body, secret)}` })],
  ['upper-case hex', (body, secret) => ({ 'x-gitea-signature': hex(body, secret).toUpperCase() })],
  ['a truncated signature', (body, secret) => ({ 'x-gitea-signature': hex(body, secret).slice(0, -1) })],
  ['an empty signature (hook without a secret)', () => ({ 'x-gitea-signature': '' })],
  [
    'the GitHub-style X-Hub-Signature-256 alone',
    (body, secret) => ({ 'x-hub-signature-256': `sha256=${hex(body, secret)}` }),
  ],
  ['the X-Gogs-Signature copy alone', (body, secret) => ({ 'x-gogs-signature': hex(body, secret) })],
];

describeProviderContract({
  provider: 'gitea',
  secrets: ['gitea-old-secret', 'gitea-new-secret'],
  credential,
  push: { body: push, headers: headers('push') },
  objects: [
    gitRepository('flux-system', 'example', 'http://localhost:3000/example/example', { branch: 'master' }),
    gitRepository('flux-system', 'example-ssh', 'ssh://git@localhost/example/example.git'),
    gitRepository('flux-system', 'example-develop', url, { branch: 'develop' }),
    gitRepository('flux-system', 'example-tag', url, { tag: 'master' }),
    gitRepository('apps', 'other', 'http://localhost:3000/example/other.git', { branch: 'master' }),
  ],
  expectPatched: ['c/flux-system/GitRepository/example', 'c/flux-system/GitRepository/example-ssh'],
  forgeries,
  signsBody: true,
  emptyBodyStatus: 400,
  // Gitea sends a branch deletion as `delete` only: nothing to reconcile.
  eventNotAllowed: { body: deleteBranch, headers: headers('delete') },
});

// A tag push arrives as `push` with `ref: refs/tags/...` (and beside it a `create`, which is not routed).
describeProviderContract({
  provider: 'gitea',
  secrets: ['gitea-old-secret', 'gitea-new-secret'],
  credential,
  push: { body: pushTag, headers: headers('push') },
  objects: [
    gitRepository('flux-system', 'pinned', url, { tag: 'v1.2.0' }),
    gitRepository('flux-system', 'semver', 'ssh://git@localhost:22/example/example.git', { semver: '>=1.0.0 <2.0.0' }),
    gitRepository('flux-system', 'semver-next', url, { semver: '^2' }),
    gitRepository('flux-system', 'pinned-older', url, { tag: 'v1.1.0' }),
    gitRepository('flux-system', 'branch', url, { branch: 'master' }),
    gitRepository('flux-system', 'default-branch', url),
  ],
  expectPatched: ['c/flux-system/GitRepository/pinned', 'c/flux-system/GitRepository/semver'],
  forgeries: forgeries.slice(0, 2),
  signsBody: true,
  emptyBodyStatus: 400,
  eventNotAllowed: { body: create, headers: headers('create') },
});
