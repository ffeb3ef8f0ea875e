import { readFileSync } from 'node:fs';
import { describeProviderContract } from '../../support/provider-contract';
import { gitRepository } from '../../support/relay-harness';

// GitLab's documented Push Hook example, byte for byte (tests/fixtures/gitlab/SOURCE.md).
const push = readFileSync('tests/fixtures/gitlab/push.json', 'utf8');
const headers = (event: string) => ({ 'content-type': 'application/json', 'x-gitlab-event': event });

describeProviderContract({
  provider: 'gitlab',
  secrets: ['gitlab-old-token', 'gitlab-new-token'],
  credential: (_body, secret) => ({ 'x-gitlab-token': secret }),
  push: { body: push, headers: headers('Push Hook') },
  objects: [
    gitRepository('flux-system', 'diaspora', 'ssh://git@example.com/mike/diaspora.git', { branch: 'master' }),
    gitRepository('flux-system', 'diaspora-tag', 'ssh://git@example.com/mike/diaspora.git', { tag: 'master' }),
  ],
  expectPatched: ['c/flux-system/GitRepository/diaspora'],
  forgeries: [
    ['the token with different case', (_body, secret) => ({ 'x-gitlab-token': secret.toUpperCase() })],
    ['a truncated token', (_body, secret) => ({ 'x-gitlab-token': secret.slice(0, -1) })],
    ['the token with a trailing newline', (_body, secret) => ({ 'x-gitlab-token': `${secret}\n` })],
  ],
  signsBody: false,
  emptyBodyStatus: 400,
  eventNotAllowed: { body: '{"object_kind":"note"}', headers: headers('Note Hook') },
});
