import { readFileSync } from 'node:fs';
import { describeProviderContract } from '../../support/provider-contract';
import type { KubeObject } from '../../support/kube-api-server';
import { gitRepository } from '../../support/relay-harness';

// Harbor's documented PUSH_ARTIFACT example, byte for byte (tests/fixtures/harbor/SOURCE.md): hub.harbor.com/test-webhook/debian:latest.
const push = readFileSync('tests/fixtures/harbor/push-artifact.json', 'utf8');
const json = { 'content-type': 'application/json' };

const source = (kind: string, apiVersion: string, name: string, spec: Record<string, unknown>): KubeObject => ({
  apiVersion,
  kind,
  metadata: { name, namespace: 'flux-system' },
  spec: { interval: '5m', ...spec },
});

describeProviderContract({
  provider: 'harbor',
  secrets: ['harbor-old-auth-header', 'harbor-new-auth-header'],
  // The policy's "Auth Header" value, verbatim.
  credential: (_body, secret) => ({ authorization: secret }),
  push: { body: push, headers: json },
  objects: [
    source('OCIRepository', 'source.toolkit.fluxcd.io/v1', 'debian-latest', {
      url: 'oci://hub.harbor.com/test-webhook/debian',
    }),
    source('OCIRepository', 'source.toolkit.fluxcd.io/v1', 'debian-pinned', {
      url: 'oci://hub.harbor.com/test-webhook/debian',
      ref: { tag: 'bookworm' },
    }),
    source('OCIRepository', 'source.toolkit.fluxcd.io/v1', 'debian-digest', {
      url: 'oci://hub.harbor.com/test-webhook/debian',
      ref: { digest: 'sha256:8a9e9863dbb6e10edb5adfe917c00da84e1700fa76e7ed02476aa6e6fb8ee0d8' },
    }),
    source('ImageRepository', 'image.toolkit.fluxcd.io/v1', 'debian', {
      image: 'HUB.harbor.com:443/test-webhook/debian',
      exclusionList: ['^.*\\.sig$'],
    }),
    source('ImageRepository', 'image.toolkit.fluxcd.io/v1', 'ubuntu', { image: 'hub.harbor.com/test-webhook/ubuntu' }),
    gitRepository('flux-system', 'debian-git', 'https://hub.harbor.com/test-webhook/debian', { branch: 'latest' }),
  ],
  expectPatched: ['c/flux-system/ImageRepository/debian', 'c/flux-system/OCIRepository/debian-latest'],
  forgeries: [
    ['the value wrapped as Bearer', (_body, secret) => ({ authorization: `Bearer ${secret}` })],
    ['the value in upper case', (_body, secret) => ({ authorization: secret.toUpperCase() })],
    ['a truncated value', (_body, secret) => ({ authorization: secret.slice(0, -1) })],
    ['the value with a trailing space', (_body, secret) => ({ authorization: `${secret} ` })],
    ['the value in another header', (_body, secret) => ({ 'x-harbor-auth': secret })],
  ],
  signsBody: false,
  emptyBodyStatus: 400,
  // The same envelope with another documented type (the page gives no DELETE_ARTIFACT payload).
  eventNotAllowed: { body: push.replace('"PUSH_ARTIFACT"', '"DELETE_ARTIFACT"'), headers: json },
});
