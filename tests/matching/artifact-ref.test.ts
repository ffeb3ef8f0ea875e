import { artifactKey, parseArtifactReference } from '../../lib/matching/artifact-ref';

const digest = `sha256:${'a'.repeat(64)}`;

test.each<[string, string, string | undefined]>([
  ['a single Docker Hub name gains docker.io/library', 'nginx', 'docker.io/library/nginx'],
  ['a Docker Hub short name with a tag', 'nginx:1.27', 'docker.io/library/nginx'],
  ['a Docker Hub user image', 'stefanprodan/podinfo', 'docker.io/stefanprodan/podinfo'],
  ['docker.io single name', 'docker.io/nginx', 'docker.io/library/nginx'],
  ['index.docker.io is Docker Hub', 'index.docker.io/library/nginx', 'docker.io/library/nginx'],
  [
    'registry-1.docker.io is Docker Hub',
    'registry-1.docker.io/stefanprodan/podinfo:6.0.0',
    'docker.io/stefanprodan/podinfo',
  ],
  ['an oci:// URL', 'oci://ghcr.io/stefanprodan/manifests/podinfo', 'ghcr.io/stefanprodan/manifests/podinfo'],
  ['OCI:// in upper case', 'OCI://ghcr.io/org/app', 'ghcr.io/org/app'],
  ['the host is lower-cased', 'GHCR.IO/org/app', 'ghcr.io/org/app'],
  ['the default port 443 is dropped', 'harbor.example.com:443/library/app:v1', 'harbor.example.com/library/app'],
  ['another port is kept', 'harbor.example.com:8443/library/app', 'harbor.example.com:8443/library/app'],
  ['localhost with a port is a host', 'localhost:5000/app:dev', 'localhost:5000/app'],
  ['localhost is a host', 'localhost/app', 'localhost/app'],
  ['a tag is stripped', 'ghcr.io/org/app:v1.2.3', 'ghcr.io/org/app'],
  ['a digest is stripped', `ghcr.io/org/app@${digest}`, 'ghcr.io/org/app'],
  ['a tag and a digest are stripped', `ghcr.io/org/app:v1@${digest}`, 'ghcr.io/org/app'],
  ['a trailing slash is ignored', 'oci://ghcr.io/org/charts/', 'ghcr.io/org/charts'],
  [
    'an ECR repository',
    '123456789012.dkr.ecr.eu-west-1.amazonaws.com/team/app:1.0',
    '123456789012.dkr.ecr.eu-west-1.amazonaws.com/team/app',
  ],
  ['an IPv6 host', '[::1]:5000/app', '[::1]:5000/app'],
  ['another scheme is not a reference', 'https://ghcr.io/org/app', undefined],
  ['an empty path component', 'ghcr.io//app', undefined],
  ['whitespace inside', 'ghcr.io/org/my app', undefined],
  ['an empty string', '', undefined],
  ['a bad tag', 'ghcr.io/org/app:-x', undefined],
  ['a bad digest', 'ghcr.io/org/app@sha256:xyz', undefined],
  ['path traversal is not a component', 'ghcr.io/org/../app', undefined],
  ['over the length bound', `ghcr.io/${'a'.repeat(2000)}`, undefined],
])('%s', (_name, reference, key) => {
  expect(artifactKey(reference)).toBe(key);
});

test('the tag and digest are reported beside the key', () => {
  expect(parseArtifactReference(`harbor.example.com/library/app:v1.0@${digest}`)).toEqual({
    key: 'harbor.example.com/library/app',
    tag: 'v1.0',
    digest,
  });
  expect(parseArtifactReference('nginx:1.27')).toEqual({ key: 'docker.io/library/nginx', tag: '1.27' });
  expect(parseArtifactReference('localhost:5000/app')).toEqual({ key: 'localhost:5000/app' });
});
