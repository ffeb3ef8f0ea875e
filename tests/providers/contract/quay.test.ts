import { readFileSync } from 'node:fs';
import { describeProviderContract } from '../../support/provider-contract';
import type { KubeObject } from '../../support/kube-api-server';

// Quay's documented "Repository Push" notification (tests/fixtures/quay/SOURCE.md): quay.io/dgangaia/test, tag latest.
const push = readFileSync('tests/fixtures/quay/repo-push.json', 'utf8');
const json = { 'content-type': 'application/json' };
const source = (kind: string, apiVersion: string, name: string, spec: Record<string, unknown>): KubeObject => ({
  apiVersion,
  kind,
  metadata: { name, namespace: 'flux-system' },
  spec: { interval: '5m', ...spec },
});

describeProviderContract({
  provider: 'quay',
  secrets: ['quay-old-path-token-01234567', 'quay-new-path-token-89abcdef'],
  credentialIn: 'path',
  credential: (_body, secret) => ({ token: secret }),
  push: { body: push, headers: json },
  objects: [
    source('OCIRepository', 'source.toolkit.fluxcd.io/v1', 'test', { url: 'oci://quay.io/dgangaia/test' }),
    source('OCIRepository', 'source.toolkit.fluxcd.io/v1', 'test-semver', {
      url: 'oci://quay.io/dgangaia/test',
      ref: { semver: '>=1.0.0' },
    }),
    source('ImageRepository', 'image.toolkit.fluxcd.io/v1', 'test', { image: 'quay.io/dgangaia/test' }),
  ],
  expectPatched: ['c/flux-system/ImageRepository/test', 'c/flux-system/OCIRepository/test'],
  forgeries: [
    ['the token in upper case', (_body, secret) => ({ token: secret.toUpperCase() })],
    ['a truncated token', (_body, secret) => ({ token: secret.slice(0, -1) })],
    ['the token as a header instead of in the path', (_body, secret) => ({ authorization: secret })],
  ],
  signsBody: false,
  emptyBodyStatus: 400,
  // A build notification (the documented "Dockerfile Build Queued" shape, trimmed): acknowledged, never routed.
  eventNotAllowed: {
    body: JSON.stringify({
      build_id: '296ec063-5f86-4706-a469-f0a400bf9df2',
      name: 'test',
      repository: 'dgangaia/test',
      namespace: 'dgangaia',
      docker_url: 'quay.io/dgangaia/test',
      docker_tags: ['master', 'latest'],
    }),
    headers: json,
  },
});
