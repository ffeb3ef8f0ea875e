import examples from '@octokit/webhooks-examples/api.github.com/index.json';
import { describeProviderContract } from '../../support/provider-contract';
import type { KubeObject } from '../../support/kube-api-server';
import { signGitHub } from '../../support/relay-harness';

type Example = { name: string; examples: Array<Record<string, unknown>> };
const byName = (name: string) => (examples as unknown as Example[]).find((e) => e.name === name)!.examples;
// GitHub's container `package` sample from @octokit/webhooks-examples (package_url ghcr.io/Codertocat/hello-world:, an
// untagged version with its digest), serialised once and only ever signed as these bytes.
const published = byName('package').find((p) =>
  (p.package as { package_version?: { package_url?: string } }).package_version?.package_url?.startsWith('ghcr.io/'),
)!;
const push = JSON.stringify(published);
const headers = (event: string) => ({
  'content-type': 'application/json',
  'x-github-event': event,
  'x-github-delivery': 'd-1',
});
const source = (kind: string, apiVersion: string, name: string, spec: Record<string, unknown>): KubeObject => ({
  apiVersion,
  kind,
  metadata: { name, namespace: 'flux-system' },
  spec: { interval: '5m', ...spec },
});

describeProviderContract({
  provider: 'github',
  title: 'github receiver, package events (GHCR)',
  receiverFields: 'events: [push, package]',
  secrets: ['github-old-package-secret', 'github-new-package-secret'],
  credential: (body, secret) => ({ 'x-hub-signature-256': signGitHub(secret, body) }),
  push: { body: push, headers: headers('package') },
  objects: [
    // The login's case does not matter: GHCR names are lower-case.
    source('ImageRepository', 'image.toolkit.fluxcd.io/v1', 'hello', { image: 'ghcr.io/codertocat/hello-world' }),
    // An untagged version changes no tag: no OCIRepository follows it.
    source('OCIRepository', 'source.toolkit.fluxcd.io/v1', 'hello', { url: 'oci://ghcr.io/codertocat/hello-world' }),
    source('ImageRepository', 'image.toolkit.fluxcd.io/v1', 'other', { image: 'ghcr.io/codertocat/other' }),
  ],
  expectPatched: ['c/flux-system/ImageRepository/hello'],
  forgeries: [
    [
      'upper-case hex',
      (body, secret) => ({
        'x-hub-signature-256': signGitHub(secret, body).toUpperCase().replace('SHA256=', 'sha256='),
      }),
    ],
    ['a truncated signature', (body, secret) => ({ 'x-hub-signature-256': signGitHub(secret, body).slice(0, -1) })],
  ],
  signsBody: true,
  emptyBodyStatus: 400,
  eventNotAllowed: { body: JSON.stringify(byName('watch')[0]), headers: headers('watch') },
});
