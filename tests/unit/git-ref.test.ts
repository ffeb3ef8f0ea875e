import { refMatches, type GitRepositoryRef } from '../../lib/matching/git-ref';

const main = 'refs/heads/main';
const master = 'refs/heads/master';

test.each<[string, GitRepositoryRef | undefined, string, boolean]>([
  ['branch matches its branch', { branch: 'main' }, main, true],
  ['branch ignores another branch', { branch: 'main' }, 'refs/heads/develop', false],
  ['branch with slashes', { branch: 'release/1.x' }, 'refs/heads/release/1.x', true],
  ['branch is not a prefix match', { branch: 'main' }, 'refs/heads/main-2', false],
  ['branch never matches a tag of that name', { branch: 'v1' }, 'refs/tags/v1', false],
  ['tag matches its tag', { tag: 'v1.2.0' }, 'refs/tags/v1.2.0', true],
  ['tag never matches a branch of that name', { tag: 'v1.2.0' }, 'refs/heads/v1.2.0', false],
  ['tag takes precedence over branch', { branch: 'main', tag: 'v1' }, main, false],
  ['semver range satisfied by a pushed tag', { semver: '>=1.0.0 <2.0.0' }, 'refs/tags/v1.4.2', true],
  ['semver range, Masterminds comma syntax', { semver: '>=1.0.0, <2.0.0' }, 'refs/tags/1.4.2', true],
  ['semver caret', { semver: '^1.2' }, 'refs/tags/v1.9.0', true],
  ['semver short tag is padded as Masterminds does', { semver: '~1.2' }, 'refs/tags/v1.2', true],
  ['semver not satisfied', { semver: '^1.2' }, 'refs/tags/v2.0.0', false],
  ['semver ignores pre-releases unless the range has one', { semver: '^1.2' }, 'refs/tags/v1.3.0-rc.1', false],
  ['semver range with a pre-release admits one', { semver: '>=1.3.0-rc.0' }, 'refs/tags/v1.3.0-rc.1', true],
  ['semver ignores non-version tags', { semver: '*' }, 'refs/tags/latest', false],
  ['semver never matches a branch', { semver: '*' }, 'refs/heads/1.0.0', false],
  ['semver takes precedence over tag and branch', { semver: '^2', tag: 'v1.0.0', branch: 'main' }, 'refs/tags/v1.0.0', false],
  ['invalid semver range matches nothing', { semver: 'not a range' }, 'refs/tags/v1.0.0', false],
  ['name is a full ref', { name: 'refs/heads/main' }, main, true],
  ['name of a tag', { name: 'refs/tags/v1.0.0' }, 'refs/tags/v1.0.0', true],
  ['name takes precedence over branch', { name: 'refs/heads/feature', branch: 'main' }, main, false],
  ['name of a pull request ref', { name: 'refs/pull/420/head' }, 'refs/pull/420/head', true],
  ['commit never triggers', { commit: 'abc123' }, main, false],
  ['commit with branch never triggers', { commit: 'abc123', branch: 'main' }, main, false],
  ['no ref means master', undefined, master, true],
  ['no ref does not mean main', undefined, main, false],
  ['empty ref means master', {}, master, true],
  ['empty branch means master', { branch: '' }, master, true],
])('%s', (_name, ref, pushed, expected) => {
  expect(refMatches(ref, pushed)).toBe(expected);
});
