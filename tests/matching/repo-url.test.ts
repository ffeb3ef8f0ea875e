import { repoKey } from '../../lib/matching/repo-url';

const same = 'github.com/org/repo';

test.each([
  ['https://github.com/org/repo', same],
  ['https://github.com/org/repo.git', same],
  ['https://github.com/org/repo/', same],
  ['https://github.com/org/repo.git/', same],
  ['http://github.com/org/repo', same],
  ['https://github.com:443/org/repo', same],
  ['https://user:token@github.com/org/repo.git', same],
  ['https://GitHub.COM/Org/Repo.git', same],
  ['ssh://git@github.com/org/repo.git', same],
  ['ssh://git@github.com:22/org/repo', same],
  ['ssh://git@ssh.github.com:443/org/repo.git', same],
  ['git@github.com:org/repo.git', same],
  ['git@github.com:Org/Repo', same],
  ['github.com:org/repo.git', same],
  ['git://github.com/org/repo.git', same],
  ['  https://github.com/org/repo  ', same],
  ['ssh://git@altssh.gitlab.com:443/group/sub/project.git', 'gitlab.com/group/sub/project'],
  ['https://gitlab.example.com/group/sub/project.git', 'gitlab.example.com/group/sub/project'],
  ['ssh://git@gitlab.example.com:2222/group/sub/project.git', 'gitlab.example.com/group/sub/project'],
  ['git@example.com:mike/diaspora.git', 'example.com/mike/diaspora'],
  ['https://github.com/org/repo-two', 'github.com/org/repo-two'],
  ['https://github.com/org/repo.github.io', 'github.com/org/repo.github.io'],
])('%s → %s', (url, key) => {
  expect(repoKey(url)).toBe(key);
});

// Azure DevOps: every spelling of one repository has one key (lib/matching/repo-url.ts azureDevOpsKey).
const azure = 'dev.azure.com/org/project/_git/repo';

test.each([
  ['https://dev.azure.com/org/project/_git/repo', azure],
  ['https://org@dev.azure.com/org/project/_git/repo', azure],
  ['https://dev.azure.com/Org/Project/_git/Repo', azure],
  ['https://dev.azure.com/org/project/_git/repo/', azure],
  ['https://org.visualstudio.com/project/_git/repo', azure],
  ['https://org.visualstudio.com/DefaultCollection/project/_git/repo', azure],
  ['https://user@org.visualstudio.com/DefaultCollection/project/_git/repo', azure],
  ['ssh://git@ssh.dev.azure.com/v3/org/project/repo', azure],
  ['ssh://git@ssh.dev.azure.com:22/v3/org/project/repo', azure],
  ['git@ssh.dev.azure.com:v3/org/project/repo', azure],
  ['ssh.dev.azure.com:v3/org/project/repo', azure],
  ['org@vs-ssh.visualstudio.com:v3/org/project/repo', azure],
  ['ssh://org@vs-ssh.visualstudio.com/v3/org/project/repo', azure],
  // Spaces in project names are percent-encoded in both syntaxes.
  ['https://dev.azure.com/org/My%20Project/_git/repo', 'dev.azure.com/org/my project/_git/repo'],
  ['git@ssh.dev.azure.com:v3/org/My%20Project/repo', 'dev.azure.com/org/my project/_git/repo'],
  // The repository named like its project may leave the project out.
  ['https://dev.azure.com/org/_git/repo', 'dev.azure.com/org/repo/_git/repo'],
  ['https://org.visualstudio.com/DefaultCollection/_git/repo', 'dev.azure.com/org/repo/_git/repo'],
  ['git@ssh.dev.azure.com:v3/org/repo/repo', 'dev.azure.com/org/repo/_git/repo'],
  // An organization named v3 is read from the HTTPS form, not mistaken for the SSH one.
  ['https://dev.azure.com/v3/project/_git/repo', 'dev.azure.com/v3/project/_git/repo'],
  // Azure DevOps Server keeps one path over HTTPS and SSH; the generic rules equate them.
  [
    'https://tfs.example.com/tfs/DefaultCollection/project/_git/repo',
    'tfs.example.com/tfs/defaultcollection/project/_git/repo',
  ],
  [
    'ssh://tfs.example.com:22/tfs/DefaultCollection/project/_git/repo',
    'tfs.example.com/tfs/defaultcollection/project/_git/repo',
  ],
  // Other Azure URLs are left alone.
  ['https://dev.azure.com/org/project', 'dev.azure.com/org/project'],
  ['https://org.visualstudio.com/project', 'org.visualstudio.com/project'],
])('Azure DevOps %s → %s', (url, key) => {
  expect(repoKey(url)).toBe(key);
});

test.each(['', 'not a url', 'https://github.com/', 'https://', '/just/a/path'])('%j is not a repository URL', (url) => {
  expect(repoKey(url)).toBeUndefined();
});

test.each([
  ['https://github.com/org/repo', 'https://github.com/org/repo2'],
  ['https://github.com/org/repo', 'https://gitlab.com/org/repo'],
  ['https://github.com/org/repo', 'https://github.com/other/repo'],
  ['https://github.com/org/repo', 'https://github.com/org/repo/sub'],
  ['https://dev.azure.com/org/project/_git/repo', 'https://dev.azure.com/org/project/_git/repo2'],
  ['https://dev.azure.com/org/project/_git/repo', 'https://dev.azure.com/org/other/_git/repo'],
  ['https://dev.azure.com/org/project/_git/repo', 'https://dev.azure.com/org2/project/_git/repo'],
  ['https://dev.azure.com/org/project/_git/repo', 'https://org2.visualstudio.com/project/_git/repo'],
  ['git@ssh.dev.azure.com:v3/org/project/repo', 'git@ssh.dev.azure.com:v3/org/project/repo2'],
  ['https://dev.azure.com/org/project/_git/repo', 'https://dev.azure.com/org/project/_git/repo/pullrequest/1'],
])('%s and %s are different repositories', (a, b) => {
  expect(repoKey(a)).not.toBe(repoKey(b));
});
