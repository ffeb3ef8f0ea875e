import {
  artifactMatches,
  chartVersionMatches,
  imageTagWanted,
  ociRefMatches,
  re2Finds,
  type ArtifactSources,
  type OciRef,
} from '../../lib/matching/artifact-routing';

test.each<[string, OciRef | undefined, string | undefined, boolean]>([
  ['no ref means latest', undefined, 'latest', true],
  ['no ref ignores another tag', undefined, 'v1.0.0', false],
  ['an empty ref means latest', {}, 'latest', true],
  ['tag matches its tag', { tag: 'v1.0.0' }, 'v1.0.0', true],
  ['tag ignores another tag', { tag: 'v1.0.0' }, 'v1.0.1', false],
  ['tag is case-sensitive', { tag: 'Latest' }, 'latest', false],
  ['semver satisfied', { semver: '>=1.0.0 <2.0.0' }, 'v1.4.0', true],
  ['semver, Masterminds comma syntax', { semver: '>=1.0.0, <2.0.0' }, '1.4.0', true],
  ['semver not satisfied', { semver: '^1' }, '2.0.0', false],
  ['semver ignores a non-version tag', { semver: '*' }, 'latest', false],
  ['semver takes precedence over tag', { semver: '^2', tag: 'v1.0.0' }, 'v1.0.0', false],
  ['semverFilter admits', { semver: '>=1.2.0-0', semverFilter: '.*-rc.*' }, '1.2.0-rc.1', true],
  ['semverFilter excludes', { semver: '>=1.2.0-0', semverFilter: '.*-rc.*' }, '1.2.0', false],
  ['an invalid semverFilter matches nothing', { semver: '*', semverFilter: '(' }, '1.2.0', false],
  ['digest never triggers', { digest: 'sha256:abc' }, 'latest', false],
  ['digest wins over tag', { digest: 'sha256:abc', tag: 'v1' }, 'v1', false],
  ['a push without a tag matches no tag ref', { tag: 'latest' }, undefined, false],
  ['a push without a tag matches no default ref', undefined, undefined, false],
  ['an overlong semver range matches nothing', { semver: `>=1.0.0${' '.repeat(300)}` }, '1.2.0', false],
])('OCIRepository: %s', (_name, ref, tag, expected) => {
  expect(ociRefMatches(ref, tag === undefined ? {} : { tag })).toBe(expected);
});

test.each<[string, string | undefined, string | undefined, boolean]>([
  ['no version constraint (Flux default *)', undefined, '6.5.0', true],
  ['a constraint satisfied', '6.x', '6.5.0', true],
  ['a constraint not satisfied', '6.x', '7.0.0', false],
  ['Helm writes + as _ in a tag', '>=1.0.0', '1.2.0_build.1', true],
  ['a pre-release is outside *', '*', '1.0.0-rc.1', false],
  ['a non-version tag cannot be checked: matched', '6.x', 'latest', true],
  ['no tag cannot be checked: matched', '6.x', undefined, true],
])('HelmChart version: %s', (_name, version, tag, expected) => {
  expect(chartVersionMatches(version, tag === undefined ? {} : { tag })).toBe(expected);
});

test.each<[string, string[] | undefined, string | undefined, boolean]>([
  ['no exclusion list', undefined, 'v1', true],
  ['Flux default excludes signatures', ['^.*\\.sig$'], 'sha256-abc.sig', false],
  ['Flux default keeps a version', ['^.*\\.sig$'], 'v1.0.0', true],
  ['unanchored, as Go MatchString', ['rc'], 'v1.0.0-rc.1', false],
  ['an invalid pattern excludes nothing', ['('], 'v1', true],
  [
    'a pattern that backtracks catastrophically in JavaScript runs in linear time under RE2',
    ['^(a+)+$'],
    `${'a'.repeat(128)}`,
    false,
  ],
  ['no tag: scanned', ['.*'], undefined, true],
])('ImageRepository exclusionList: %s', (_name, list, tag, expected) => {
  expect(imageTagWanted(list, tag === undefined ? {} : { tag })).toBe(expected);
});

test('re2Finds refuses an overlong pattern instead of compiling it', () => {
  expect(re2Finds('a'.repeat(2000), 'a')).toBeUndefined();
  expect(re2Finds('^(a+)+$', `${'a'.repeat(5000)}b`)).toBe(false);
});

const sources: ArtifactSources = {
  ociRepositories: [
    { namespace: 'apps', name: 'latest', key: 'ghcr.io/org/app' },
    { namespace: 'apps', name: 'pinned-tag', key: 'ghcr.io/org/app', ref: { tag: 'v1.0.0' } },
    { namespace: 'apps', name: 'semver', key: 'ghcr.io/org/app', ref: { semver: '^1' } },
    { namespace: 'apps', name: 'digest', key: 'ghcr.io/org/app', ref: { digest: 'sha256:0' } },
    { namespace: 'apps', name: 'other', key: 'ghcr.io/org/other' },
    { namespace: 'apps', name: 'no-key' },
  ],
  helmRepositories: [
    { namespace: 'apps', name: 'oci-charts', oci: true, url: 'oci://ghcr.io/org/charts' },
    { namespace: 'apps', name: 'http-charts', oci: false, url: 'https://charts.example.com' },
    { namespace: 'other', name: 'oci-charts', oci: true, url: 'oci://ghcr.io/elsewhere' },
  ],
  helmCharts: [
    {
      namespace: 'apps',
      name: 'podinfo',
      chart: 'podinfo',
      version: '6.x',
      sourceKind: 'HelmRepository',
      sourceName: 'oci-charts',
    },
    {
      namespace: 'apps',
      name: 'podinfo-old',
      chart: 'podinfo',
      version: '5.x',
      sourceKind: 'HelmRepository',
      sourceName: 'oci-charts',
    },
    {
      namespace: 'apps',
      name: 'podinfo-http',
      chart: 'podinfo',
      sourceKind: 'HelmRepository',
      sourceName: 'http-charts',
    },
    { namespace: 'apps', name: 'other-chart', chart: 'redis', sourceKind: 'HelmRepository', sourceName: 'oci-charts' },
    { namespace: 'other', name: 'podinfo', chart: 'podinfo', sourceKind: 'HelmRepository', sourceName: 'oci-charts' },
    {
      namespace: 'apps',
      name: 'from-git',
      chart: './charts/podinfo',
      sourceKind: 'GitRepository',
      sourceName: 'oci-charts',
    },
  ],
  imageRepositories: [
    { namespace: 'apps', name: 'app', key: 'ghcr.io/org/app', exclusionList: ['^.*\\.sig$'] },
    { namespace: 'apps', name: 'charts', key: 'ghcr.io/org/charts/podinfo' },
    { namespace: 'apps', name: 'other', key: 'ghcr.io/org/other' },
  ],
};

const names = (pushed: Parameters<typeof artifactMatches>[1]) =>
  artifactMatches(sources, pushed)
    .map((m) => `${m.namespace}/${m.kind}/${m.name}`)
    .sort();

test.each<[string, Parameters<typeof artifactMatches>[1], string[]]>([
  [
    'a semver tag: the semver source, and the image scan',
    [{ key: 'ghcr.io/org/app', tag: 'v1.2.0' }],
    ['apps/ImageRepository/app', 'apps/OCIRepository/semver'],
  ],
  [
    'the pinned tag',
    [{ key: 'ghcr.io/org/app', tag: 'v1.0.0' }],
    ['apps/ImageRepository/app', 'apps/OCIRepository/pinned-tag', 'apps/OCIRepository/semver'],
  ],
  ['latest', [{ key: 'ghcr.io/org/app', tag: 'latest' }], ['apps/ImageRepository/app', 'apps/OCIRepository/latest']],
  ['an excluded signature tag: only what its ref names', [{ key: 'ghcr.io/org/app', tag: 'sha256-1.sig' }], []],
  [
    'a chart version: HelmCharts by chart name and constraint, and the image scan',
    [{ key: 'ghcr.io/org/charts/podinfo', tag: '6.5.0' }],
    ['apps/HelmChart/podinfo', 'apps/ImageRepository/charts'],
  ],
  [
    'another chart of the same HelmRepository',
    [{ key: 'ghcr.io/org/charts/redis', tag: '1.0.0' }],
    ['apps/HelmChart/other-chart'],
  ],
  ['another repository', [{ key: 'ghcr.io/org/unknown', tag: 'latest' }], []],
  [
    'two artifacts in one push',
    [
      { key: 'ghcr.io/org/app', tag: 'latest' },
      { key: 'ghcr.io/org/other', tag: 'latest' },
    ],
    ['apps/ImageRepository/app', 'apps/ImageRepository/other', 'apps/OCIRepository/latest', 'apps/OCIRepository/other'],
  ],
])('routing: %s', (_name, pushed, expected) => {
  expect(names(pushed)).toEqual(expected);
});
