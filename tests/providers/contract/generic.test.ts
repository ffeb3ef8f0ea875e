import { describeProviderContract } from '../../support/provider-contract';
import { gitRepository } from '../../support/relay-harness';

// Any sender (a CI job, curl): the body is not read and the token does not cover it.
const body = '{"reason":"manual trigger"}';

describeProviderContract({
  provider: 'generic',
  receiverFields:
    'targets: [{ cluster: c, kind: GitRepository, name: app, namespace: flux-system }, { cluster: c, kind: GitRepository, name: config, namespace: flux-system }]',
  secrets: ['generic-old-token', 'generic-new-token'],
  credential: (_body, secret) => ({ authorization: `Bearer ${secret}` }),
  push: { body, headers: { 'content-type': 'application/json' } },
  objects: [
    gitRepository('flux-system', 'app', 'https://github.com/org/app', { branch: 'main' }),
    gitRepository('flux-system', 'config', 'ssh://git@ssh.dev.azure.com/v3/org/project/config', { branch: 'main' }),
    gitRepository('flux-system', 'not-a-target', 'https://github.com/org/app', { branch: 'main' }),
  ],
  expectPatched: ['c/flux-system/GitRepository/app', 'c/flux-system/GitRepository/config'],
  forgeries: [
    ['the token in another case', (_body, secret) => ({ authorization: `Bearer ${secret.toUpperCase()}` })],
    ['a truncated token', (_body, secret) => ({ authorization: `Bearer ${secret.slice(0, -1)}` })],
    ['the token without the scheme', (_body, secret) => ({ authorization: secret })],
    [
      'the token as Basic credentials',
      (_body, secret) => ({ authorization: `Basic ${Buffer.from(`x:${secret}`).toString('base64')}` }),
    ],
    ['the token in another header', (_body, secret) => ({ 'x-gitlab-token': secret })],
  ],
  signsBody: false,
  emptyBodyStatus: 200,
});
