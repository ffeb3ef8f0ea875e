import { createHmac } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { describeProviderContract } from '../../support/provider-contract';
import { gitRepository } from '../../support/relay-harness';

// A Codeberg (Forgejo) push, converted from a captured delivery (tests/fixtures/forgejo/SOURCE.md); signed as is.
const push = readFileSync('tests/fixtures/forgejo/push.json', 'utf8');
const headers = (event: string) => ({
  'content-type': 'application/json',
  'x-forgejo-event': event,
  'x-forgejo-delivery': '3a7eee03-a3b4-473e-be5a-9e73f44bc382',
});
const hex = (body: string, secret: string) => createHmac('sha256', secret).update(body).digest('hex');

describeProviderContract({
  provider: 'forgejo',
  secrets: ['forgejo-old-secret', 'forgejo-new-secret'],
  credential: (body, secret) => ({ 'x-forgejo-signature': hex(body, secret) }),
  push: { body: push, headers: headers('push') },
  objects: [
    gitRepository('flux-system', 'w2fm-pull', 'https://codeberg.org/fedora/w2fm-test', { branch: 'pull' }),
    gitRepository('flux-system', 'w2fm-pull-ssh', 'ssh://git@codeberg.org/Fedora/W2FM-test.git', { branch: 'pull' }),
    gitRepository('flux-system', 'w2fm-main', 'https://codeberg.org/fedora/w2fm-test.git', { branch: 'main' }),
    gitRepository('flux-system', 'w2fm-fork', 'https://codeberg.org/gridhead/w2fm-test.git', { branch: 'pull' }),
  ],
  expectPatched: ['c/flux-system/GitRepository/w2fm-pull', 'c/flux-system/GitRepository/w2fm-pull-ssh'],
  forgeries: [
    ['the sha256= prefix', (body, secret) => ({ 'x-forgejo-signature': `sha256=${hex(body, secret)}` })],
    ['upper-case hex', (body, secret) => ({ 'x-forgejo-signature': hex(body, secret).toUpperCase() })],
    ['a truncated signature', (body, secret) => ({ 'x-forgejo-signature': hex(body, secret).slice(0, -1) })],
    ['an empty signature (hook without a secret)', () => ({ 'x-forgejo-signature': '' })],
    [
      'the GitHub-style X-Hub-Signature-256 alone',
      (body, secret) => ({ 'x-hub-signature-256': `sha256=${hex(body, secret)}` }),
    ],
    // Forgejo sends every Gitea header too; a forgejo receiver reads only its own.
    ['the X-Gitea-Signature copy alone', (body, secret) => ({ 'x-gitea-signature': hex(body, secret) })],
  ],
  signsBody: true,
  emptyBodyStatus: 400,
  eventNotAllowed: { body: '{"action":"opened"}', headers: headers('issues') },
});
