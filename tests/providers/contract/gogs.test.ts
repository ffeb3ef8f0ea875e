import { createHmac } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { describeProviderContract } from '../../support/provider-contract';
import { gitRepository } from '../../support/relay-harness';

// Argo CD's Gogs push and Drone's Gogs tag `create`, byte for byte (tests/fixtures/gogs/SOURCE.md).
const push = readFileSync('tests/fixtures/gogs/push.json', 'utf8');
const tagCreate = readFileSync('tests/fixtures/gogs/tag-create.json', 'utf8');
const branchCreate = readFileSync('tests/fixtures/gogs/branch-create.json', 'utf8');
const json = 'application/json';
const form = 'application/x-www-form-urlencoded';
const headers = (event: string, contentType = json) => ({
  'content-type': contentType,
  'x-gogs-event': event,
  'x-gogs-delivery': 'd-1',
  'x-github-event': event,
});
const hex = (body: string, secret: string) => createHmac('sha256', secret).update(body).digest('hex');

/** As Gogs posts a form hook (internal/httplib): `payload=` + Go's url.QueryEscape of the JSON. */
const goForm = (payload: string) =>
  `payload=${encodeURIComponent(payload)
    .replace(/%20/g, '+')
    .replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`)}`;
/** Gogs signs the JSON, not the form: the signature of a form delivery covers its payload field. */
const signedPart = (body: string) => new URLSearchParams(body).get('payload') ?? body;

describeProviderContract({
  provider: 'gogs',
  secrets: ['gogs-old-webhook-secret', 'gogs-new-webhook-secret'],
  credential: (body, secret) => ({ 'x-gogs-signature': hex(body, secret) }),
  push: { body: push, headers: headers('push') },
  objects: [
    gitRepository('flux-system', 'repo-test', 'http://gogs-server/john/repo-test'),
    gitRepository('flux-system', 'repo-test-ssh', 'ssh://git@gogs-server:2222/john/repo-test.git', {
      branch: 'master',
    }),
    gitRepository('flux-system', 'repo-test-develop', 'http://gogs-server/john/repo-test.git', { branch: 'develop' }),
    gitRepository('flux-system', 'other', 'http://gogs-server/john/other.git', { branch: 'master' }),
  ],
  expectPatched: ['c/flux-system/GitRepository/repo-test', 'c/flux-system/GitRepository/repo-test-ssh'],
  forgeries: [
    ['the sha256= prefix', (body, secret) => ({ 'x-gogs-signature': `sha256=${hex(body, secret)}` })],
    ['upper-case hex', (body, secret) => ({ 'x-gogs-signature': hex(body, secret).toUpperCase() })],
    ['a truncated signature', (body, secret) => ({ 'x-gogs-signature': hex(body, secret).slice(0, -1) })],
    ['an empty signature (hook without a secret)', () => ({ 'x-gogs-signature': '' })],
    [
      'the GitHub-style X-Hub-Signature-256 alone',
      (body, secret) => ({ 'x-hub-signature-256': `sha256=${hex(body, secret)}` }),
    ],
    ['the Gitea header alone', (body, secret) => ({ 'x-gitea-signature': hex(body, secret) })],
  ],
  signsBody: true,
  emptyBodyStatus: 400,
  eventNotAllowed: { body: '{"action":"opened"}', headers: headers('issues') },
});

// Gogs sends a pushed tag only as `create` (no `push`): routed, here as a form delivery.
describeProviderContract({
  provider: 'gogs',
  secrets: ['gogs-old-webhook-secret', 'gogs-new-webhook-secret'],
  credential: (body, secret) => ({ 'x-gogs-signature': hex(signedPart(body), secret) }),
  push: { body: goForm(tagCreate), headers: headers('create', form) },
  objects: [
    gitRepository('flux-system', 'hello-tag', 'http://gogs.golang.org/gordon/hello-world.git', { tag: 'v1.0.0' }),
    gitRepository('flux-system', 'hello-semver', 'ssh://git@gogs.golang.org/gordon/hello-world.git', {
      semver: '~1.0',
    }),
    gitRepository('flux-system', 'hello-semver-2', 'http://gogs.golang.org/gordon/hello-world', { semver: '>=2.0.0' }),
    gitRepository('flux-system', 'hello-master', 'http://gogs.golang.org/gordon/hello-world', { branch: 'master' }),
  ],
  expectPatched: ['c/flux-system/GitRepository/hello-semver', 'c/flux-system/GitRepository/hello-tag'],
  forgeries: [
    [
      'a signature over the form bytes instead of the JSON',
      (body, secret) => ({ 'x-gogs-signature': hex(body, secret) }),
    ],
    ['upper-case hex', (body, secret) => ({ 'x-gogs-signature': hex(signedPart(body), secret).toUpperCase() })],
  ],
  signsBody: true,
  // An empty form has no payload field for the signature to cover: unauthenticated, never parsed.
  emptyBodyStatus: 401,
  // A branch `create` comes with a `push` of that branch: it carries nothing to reconcile by itself.
  eventNotAllowed: { body: goForm(branchCreate), headers: headers('create', form) },
});
