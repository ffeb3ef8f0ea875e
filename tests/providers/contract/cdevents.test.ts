import { createHmac } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { describeProviderContract } from '../../support/provider-contract';
import type { KubeObject } from '../../support/kube-api-server';

// tests/fixtures/cdevents/SOURCE.md: the spec's artifact.published example, and the same event for an OCI artifact.
const oci = readFileSync('tests/fixtures/cdevents/artifact-published-oci.json', 'utf8');
const golang = readFileSync('tests/fixtures/cdevents/artifact-published.json', 'utf8');
const headers = (type: string) => ({
  'content-type': 'application/json',
  'ce-specversion': '1.0',
  'ce-id': '271069a8-fc18-44f1-b38f-9d70a1695819',
  'ce-source': '/event/source/123',
  'ce-type': type,
});
const published = headers('dev.cdevents.artifact.published.0.1.1');
const sign = (body: string, secret: string) => `sha256=${createHmac('sha256', secret).update(body).digest('hex')}`;
const source = (kind: string, apiVersion: string, name: string, spec: Record<string, unknown>): KubeObject => ({
  apiVersion,
  kind,
  metadata: { name, namespace: 'flux-system' },
  spec: { interval: '5m', ...spec },
});
const objects = [
  source('OCIRepository', 'source.toolkit.fluxcd.io/v1', 'myapp', {
    url: 'oci://mycr.io/myorg/myapp',
    ref: { semver: '1.x' },
  }),
  source('OCIRepository', 'source.toolkit.fluxcd.io/v1', 'myapp-latest', { url: 'oci://mycr.io/myorg/myapp' }),
  source('ImageRepository', 'image.toolkit.fluxcd.io/v1', 'myapp', { image: 'mycr.io/myorg/myapp' }),
];
const expectPatched = ['c/flux-system/ImageRepository/myapp', 'c/flux-system/OCIRepository/myapp'];

describeProviderContract({
  provider: 'cdevents',
  title: 'cdevents receiver, X-Signature',
  secrets: ['cdevents-old-hmac-key-0123', 'cdevents-new-hmac-key-4567'],
  credential: (body, secret) => ({ 'x-signature': sign(body, secret) }),
  push: { body: oci, headers: published },
  objects,
  expectPatched,
  forgeries: [
    [
      'upper-case hex',
      (body, secret) => ({ 'x-signature': sign(body, secret).toUpperCase().replace('SHA256=', 'sha256=') }),
    ],
    ['bare hex', (body, secret) => ({ 'x-signature': sign(body, secret).slice('sha256='.length) })],
    ['sha1', (body, secret) => ({ 'x-signature': `sha1=${createHmac('sha1', secret).update(body).digest('hex')}` })],
    ['a truncated signature', (body, secret) => ({ 'x-signature': sign(body, secret).slice(0, -1) })],
  ],
  signsBody: true,
  emptyBodyStatus: 400,
  // The spec's own example: a Go module, no OCI repository to route.
  eventNotAllowed: { body: golang, headers: published },
});

describeProviderContract({
  provider: 'cdevents',
  title: 'cdevents receiver, path token',
  secrets: ['cdevents-old-path-token-0123', 'cdevents-new-path-token-4567'],
  credentialIn: 'path',
  pathTokenOptional: true,
  credential: (_body, secret) => ({ token: secret }),
  push: { body: oci, headers: published },
  objects,
  expectPatched,
  forgeries: [['a truncated token', (_body, secret) => ({ token: secret.slice(0, -1) })]],
  signsBody: false,
  emptyBodyStatus: 400,
  eventNotAllowed: { body: oci, headers: headers('dev.cdevents.artifact.deleted.0.1.0') },
});
