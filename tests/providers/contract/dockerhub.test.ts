import { readFileSync } from 'node:fs';
import { describeProviderContract } from '../../support/provider-contract';
import type { KubeObject } from '../../support/kube-api-server';

// Docker Hub's documented webhook payload (tests/fixtures/dockerhub/SOURCE.md): svendowideit/testhook:latest.
const push = readFileSync('tests/fixtures/dockerhub/push.json', 'utf8');
const json = { 'content-type': 'application/json' };
const source = (kind: string, apiVersion: string, name: string, spec: Record<string, unknown>): KubeObject => ({
  apiVersion,
  kind,
  metadata: { name, namespace: 'flux-system' },
  spec: { interval: '5m', ...spec },
});

describeProviderContract({
  provider: 'dockerhub',
  secrets: ['dockerhub-old-path-token-0123', 'dockerhub-new-path-token-4567'],
  credentialIn: 'path',
  credential: (_body, secret) => ({ token: secret }),
  push: { body: push, headers: json },
  objects: [
    // Docker Hub references in every form name one repository.
    source('ImageRepository', 'image.toolkit.fluxcd.io/v1', 'testhook', { image: 'svendowideit/testhook' }),
    source('OCIRepository', 'source.toolkit.fluxcd.io/v1', 'testhook', {
      url: 'oci://registry-1.docker.io/svendowideit/testhook',
    }),
    source('OCIRepository', 'source.toolkit.fluxcd.io/v1', 'testhook-pinned', {
      url: 'oci://docker.io/svendowideit/testhook',
      ref: { tag: '1.0' },
    }),
    source('ImageRepository', 'image.toolkit.fluxcd.io/v1', 'other', { image: 'svendowideit/other' }),
  ],
  expectPatched: ['c/flux-system/ImageRepository/testhook', 'c/flux-system/OCIRepository/testhook'],
  forgeries: [
    ['the token in upper case', (_body, secret) => ({ token: secret.toUpperCase() })],
    ['a truncated token', (_body, secret) => ({ token: secret.slice(0, -1) })],
    ['the token with a suffix', (_body, secret) => ({ token: `${secret}x` })],
    ['the token as a header instead of in the path', (_body, secret) => ({ authorization: `Bearer ${secret}` })],
    ['an empty token segment', () => ({ token: '' })],
  ],
  signsBody: false,
  emptyBodyStatus: 400,
});
