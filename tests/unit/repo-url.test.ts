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

test.each(['', 'not a url', 'https://github.com/', 'https://', '/just/a/path'])('%j is not a repository URL', (url) => {
  expect(repoKey(url)).toBeUndefined();
});

test.each([
  ['https://github.com/org/repo', 'https://github.com/org/repo2'],
  ['https://github.com/org/repo', 'https://gitlab.com/org/repo'],
  ['https://github.com/org/repo', 'https://github.com/other/repo'],
  ['https://github.com/org/repo', 'https://github.com/org/repo/sub'],
])('%s and %s are different repositories', (a, b) => {
  expect(repoKey(a)).not.toBe(repoKey(b));
});
