import {
  maxSemverRangeLength,
  refMatches,
  semverRangeProblem,
  type GitRepositoryRef,
} from '../../lib/matching/git-ref';

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
  [
    'semver takes precedence over tag and branch',
    { semver: '^2', tag: 'v1.0.0', branch: 'main' },
    'refs/tags/v1.0.0',
    false,
  ],
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

describe('a semver range is bounded (it comes from a GitRepository any tenant may write)', () => {
  const padded = (length: number) => `>=1.0.0${' '.repeat(length - '>=1.0.0'.length)}`;
  const tag = 'refs/tags/v1.2.3';

  test('a 150,000-space range matches nothing, and the matcher returns', () => {
    // Before the bound, the comma split took ~19 s on this (quadratic backtracking), then matched.
    expect(refMatches({ semver: `>=1.0.0${' '.repeat(150_000)}` }, tag)).toBe(false);
    expect(refMatches({ semver: `>=1.0.0${' ,'.repeat(75_000)}` }, tag)).toBe(false);
  });

  test(`a range of ${maxSemverRangeLength} characters is read; one character more is not`, () => {
    expect(maxSemverRangeLength).toBe(256);
    expect(refMatches({ semver: padded(256) }, tag)).toBe(true);
    expect(semverRangeProblem({ semver: padded(256) })).toBeUndefined();
    expect(refMatches({ semver: padded(257) }, tag)).toBe(false);
    expect(semverRangeProblem({ semver: padded(257) })).toBe(
      'spec.ref.semver is 257 characters long; a range longer than 256 matches no tag',
    );
    // Only a range that would be used is a problem: `name` and `commit` take precedence.
    expect(semverRangeProblem({ semver: padded(257), name: 'refs/tags/v1' })).toBeUndefined();
    expect(semverRangeProblem(undefined)).toBeUndefined();
  });

  test.each([
    ['>=1.0.0,<2.0.0', true],
    ['>=1.0.0 , <2.0.0', true],
    [' >=1.0.0\t,\n<2.0.0 ', true],
    ['>=1.0.0,,<2.0.0', true],
    ['>=1.0.0, <1.2.0', false],
  ])('Masterminds commas still separate AND-ed constraints: %j', (range, expected) => {
    expect(refMatches({ semver: range }, tag)).toBe(expected);
  });
});
