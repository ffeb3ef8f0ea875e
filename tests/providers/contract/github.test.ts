import examples from '@octokit/webhooks-examples/api.github.com/index.json';
import { describeProviderContract } from '../../support/provider-contract';
import { gitRepository, signGitHub } from '../../support/relay-harness';

type Example = { name: string; examples: Array<Record<string, unknown>> };
const byName = (name: string) => (examples as unknown as Example[]).find((e) => e.name === name)!.examples;
// Real payloads from @octokit/webhooks-examples, serialised once here and then only ever signed as these bytes.
const push = JSON.stringify(byName('push').find((p) => p.ref === 'refs/heads/master' && p.deleted === false));
const ping = JSON.stringify(byName('ping')[0]);
const headers = (event: string) => ({
  'content-type': 'application/json',
  'x-github-event': event,
  'x-github-delivery': 'd-1',
});
const hex = (body: string, secret: string) => signGitHub(secret, body).slice('sha256='.length);

describeProviderContract({
  provider: 'github',
  secrets: ['github-old-secret', 'github-new-secret'],
  credential: (body, secret) => ({ 'x-hub-signature-256': signGitHub(secret, body) }),
  push: { body: push, headers: headers('push') },
  objects: [
    gitRepository('flux-system', 'hello', 'https://github.com/Codertocat/Hello-World', { branch: 'master' }),
    gitRepository('flux-system', 'hello-develop', 'https://github.com/Codertocat/Hello-World', { branch: 'develop' }),
  ],
  expectPatched: ['c/flux-system/GitRepository/hello'],
  forgeries: [
    ['upper-case hex', (body, secret) => ({ 'x-hub-signature-256': `sha256=${hex(body, secret).toUpperCase()}` })],
    ['upper-case prefix', (body, secret) => ({ 'x-hub-signature-256': `SHA256=${hex(body, secret)}` })],
    ['bare hex', (body, secret) => ({ 'x-hub-signature-256': hex(body, secret) })],
    ['a truncated signature', (body, secret) => ({ 'x-hub-signature-256': signGitHub(secret, body).slice(0, -1) })],
    ['SHA-1 in the legacy header only', () => ({ 'x-hub-signature': `sha1=${'0'.repeat(40)}` })],
  ],
  signsBody: true,
  emptyBodyStatus: 400,
  eventNotAllowed: { body: '{"action":"opened"}', headers: headers('issues') },
  ping: { body: ping, headers: headers('ping') },
});
