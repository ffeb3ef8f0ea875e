import { createHmac } from 'node:crypto';
import type { KubeObject } from '../../support/kube-api-server';
import { describeProviderContract } from '../../support/provider-contract';
import { gitRepository } from '../../support/relay-harness';

// Flux's documented sender: `curl <webhook-url> -X POST -H "X-Signature: <hash-function>=<hash>" -d '<request-body>'`,
// so form content type and a body nobody reads.
const body = '{"image":"ghcr.io/org/app:v1.0.0"}';
const headers = { 'content-type': 'application/x-www-form-urlencoded' };
const hex = (algorithm: string, payload: string, secret: string) =>
  createHmac(algorithm, secret).update(payload).digest('hex');

const kustomization = (name: string, labels?: Record<string, string>): KubeObject => ({
  apiVersion: 'kustomize.toolkit.fluxcd.io/v1',
  kind: 'Kustomization',
  metadata: { name, namespace: 'apps', ...(labels ? { labels } : {}) },
  spec: { interval: '10m', prune: true, sourceRef: { kind: 'GitRepository', name: 'app', namespace: 'flux-system' } },
});

describeProviderContract({
  provider: 'generic-hmac',
  receiverFields:
    'targets: [{ cluster: c, kind: GitRepository, name: app, namespace: flux-system }, ' +
    '{ cluster: c, kind: Kustomization, name: "*", namespace: apps, matchLabels: { relay: "yes" } }]',
  secrets: ['generic-hmac-old', 'generic-hmac-new'],
  credential: (payload, secret) => ({ 'x-signature': `sha256=${hex('sha256', payload, secret)}` }),
  push: { body, headers },
  objects: [
    gitRepository('flux-system', 'app', 'https://github.com/org/app', { branch: 'main' }),
    gitRepository('flux-system', 'not-a-target', 'https://github.com/org/app', { branch: 'main' }),
    kustomization('labelled', { relay: 'yes' }),
    kustomization('unlabelled'),
  ],
  expectPatched: ['c/apps/Kustomization/labelled', 'c/flux-system/GitRepository/app'],
  forgeries: [
    [
      'upper-case hex',
      (payload, secret) => ({ 'x-signature': `sha256=${hex('sha256', payload, secret).toUpperCase()}` }),
    ],
    ['upper-case prefix', (payload, secret) => ({ 'x-signature': `SHA256=${hex('sha256', payload, secret)}` })],
    ['bare hex', (payload, secret) => ({ 'x-signature': hex('sha256', payload, secret) })],
    [
      'a truncated signature',
      (payload, secret) => ({ 'x-signature': `sha256=${hex('sha256', payload, secret).slice(0, -1)}` }),
    ],
    [
      'SHA-1 on a receiver without allowSha1',
      (payload, secret) => ({ 'x-signature': `sha1=${hex('sha1', payload, secret)}` }),
    ],
    ["GitHub's header", (payload, secret) => ({ 'x-hub-signature-256': `sha256=${hex('sha256', payload, secret)}` })],
  ],
  signsBody: true,
  // The body is never read: an empty one signed correctly is a trigger like any other.
  emptyBodyStatus: 200,
});

// The same receiver with `allowSha1: true`: Flux's documented `openssl dgst -sha1` signature is accepted end to end,
// and the stronger algorithms still are.
describeProviderContract({
  provider: 'generic-hmac',
  title: 'generic-hmac receiver with allowSha1',
  receiverFields: 'allowSha1: true, targets: [{ cluster: c, kind: GitRepository, name: app, namespace: flux-system }]',
  secrets: ['generic-hmac-sha1-old', 'generic-hmac-sha1-new'],
  credential: (payload, secret) => ({ 'x-signature': `sha1=${hex('sha1', payload, secret)}` }),
  push: { body, headers },
  objects: [gitRepository('flux-system', 'app', 'https://github.com/org/app', { branch: 'main' })],
  expectPatched: ['c/flux-system/GitRepository/app'],
  forgeries: [
    [
      'upper-case SHA-1 hex',
      (payload, secret) => ({ 'x-signature': `sha1=${hex('sha1', payload, secret).toUpperCase()}` }),
    ],
    [
      'a truncated SHA-1 signature',
      (payload, secret) => ({ 'x-signature': `sha1=${hex('sha1', payload, secret).slice(0, -2)}` }),
    ],
    ['SHA-1 hex under sha256=', (payload, secret) => ({ 'x-signature': `sha256=${hex('sha1', payload, secret)}` })],
  ],
  signsBody: true,
  emptyBodyStatus: 200,
});
