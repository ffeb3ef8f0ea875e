import { readFileSync } from 'node:fs';
import { describeProviderContract } from '../../support/provider-contract';
import { gitRepository } from '../../support/relay-harness';

// Argo CD's captured git.push (a dev.azure.com org/project/_git/repo remoteUrl) and Microsoft's documented
// git.pullrequest.created sample, byte for byte (tests/fixtures/azure-devops/SOURCE.md).
const push = readFileSync('tests/fixtures/azure-devops/argo-cd-git-push.json', 'utf8');
const pullRequest = readFileSync('tests/fixtures/azure-devops/git-pullrequest-created.json', 'utf8');
const headers = {
  'content-type': 'application/json; charset=utf-8',
  'x-vss-activityid': 'c9f7b2c4-0000-4000-8000-000000000001',
};
const basic = (credentials: string) => `Basic ${Buffer.from(credentials, 'utf8').toString('base64')}`;
const repo = (name: string, url: string, branch = 'master') => gitRepository('flux-system', name, url, { branch });

describeProviderContract({
  provider: 'azure-devops',
  secrets: ['flux-relay:old-password', 'flux-relay:new-password'],
  credential: (_body, secret) => ({ authorization: basic(secret) }),
  push: { body: push, headers },
  objects: [
    // The payload names only the HTTPS remoteUrl; clusters clone with any Azure DevOps spelling of the repository.
    repo('ssh', 'ssh://git@ssh.dev.azure.com/v3/my-org/my-project/my-repo'),
    repo('https-user', 'https://my-org@dev.azure.com/my-org/my-project/_git/my-repo'),
    repo('legacy-https', 'https://my-org.visualstudio.com/DefaultCollection/my-project/_git/my-repo'),
    repo('legacy-ssh', 'ssh://my-org@vs-ssh.visualstudio.com/v3/my-org/my-project/my-repo'),
    repo('other-branch', 'ssh://git@ssh.dev.azure.com/v3/my-org/my-project/my-repo', 'develop'),
    repo('other-repo', 'ssh://git@ssh.dev.azure.com/v3/my-org/my-project/other-repo'),
    repo('other-project', 'https://dev.azure.com/my-org/other-project/_git/my-repo'),
  ],
  expectPatched: [
    'c/flux-system/GitRepository/https-user',
    'c/flux-system/GitRepository/legacy-https',
    'c/flux-system/GitRepository/legacy-ssh',
    'c/flux-system/GitRepository/ssh',
  ],
  forgeries: [
    ['the password in another case', (_body, secret) => ({ authorization: basic(secret.toUpperCase()) })],
    ['the password alone', (_body, secret) => ({ authorization: basic(secret.slice(secret.indexOf(':'))) })],
    ['a truncated password', (_body, secret) => ({ authorization: basic(secret.slice(0, -1)) })],
    ['the credentials unencoded', (_body, secret) => ({ authorization: `Basic ${secret}` })],
    [
      'the credentials as a Bearer token',
      (_body, secret) => ({ authorization: `Bearer ${Buffer.from(secret).toString('base64')}` }),
    ],
    ['the credentials in another header', (_body, secret) => ({ 'x-authorization': basic(secret) })],
  ],
  signsBody: false,
  emptyBodyStatus: 400,
  eventNotAllowed: { body: pullRequest, headers },
});
