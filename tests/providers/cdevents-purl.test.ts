import { ociArtifactOfPurl } from '../../lib/providers/cdevents';
import { MalformedPayload } from '../../lib/delivery/errors';

const digest = `sha256:${'0'.repeat(64)}`;

test.each<[string, string, unknown]>([
  [
    'digest, repository and tag',
    `pkg:oci/myapp@sha256%3A${'0'.repeat(64)}?repository_url=mycr.io%2Forg%2Fmyapp&tag=v1`,
    { reference: 'mycr.io/org/myapp', tag: 'v1', digest },
  ],
  [
    'the repository not percent-encoded',
    'pkg:oci/myapp?repository_url=mycr.io/org/myapp',
    { reference: 'mycr.io/org/myapp' },
  ],
  [
    "Harbor's form: the reference carries tag and digest",
    `pkg:oci/busybox@${digest}?repository_url=harbor.dev%2Flibrary%2Fbusybox:v1.0@${digest}&tag=v1.0`,
    { reference: `harbor.dev/library/busybox:v1.0@${digest}`, tag: 'v1.0', digest },
  ],
  ['the type in upper case', 'pkg:OCI/app?repository_url=r.io/app', { reference: 'r.io/app' }],
  ['no repository_url: not routable', 'pkg:oci/app@sha256%3Aab', undefined],
  ['another type', 'pkg:golang/mygit.com/myorg/myapp@234fd47e07d1004f0aed9c', undefined],
  ['not a package URL', 'https://mycr.io/org/myapp', undefined],
])('%s', (_name, purl, expected) => {
  expect(ociArtifactOfPurl(purl)).toEqual(expected);
});

test('a bad percent-encoding is malformed', () => {
  expect(() => ociArtifactOfPurl('pkg:oci/app@%E0%A4?repository_url=r.io/app')).toThrow(MalformedPayload);
});
