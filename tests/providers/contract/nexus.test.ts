import { createHmac } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { describeProviderContract } from '../../support/provider-contract';
import type { KubeObject } from '../../support/kube-api-server';
import { gitRepository } from '../../support/relay-harness';

// A Docker component pushed to the hosted repository `docker-hosted` (tests/fixtures/nexus/SOURCE.md): team/app:1.4.2,
// served on the connector nexus.example.com:8082 (the receiver's registryHosts).
const push = readFileSync('tests/fixtures/nexus/component-docker-created.json', 'utf8');
const json = { 'content-type': 'application/json; charset=UTF-8' };
const sign = (body: string, secret: string) => createHmac('sha1', secret).update(body).digest('hex');

const source = (kind: string, apiVersion: string, name: string, spec: Record<string, unknown>): KubeObject => ({
  apiVersion,
  kind,
  metadata: { name, namespace: 'flux-system' },
  spec: { interval: '5m', ...spec },
});

describeProviderContract({
  provider: 'nexus',
  receiverFields: "registryHosts: { docker-hosted: 'nexus.example.com:8082' }",
  secrets: ['nexus-old-secret-key-0123', 'nexus-new-secret-key-0123'],
  credential: (body, secret) => ({ 'x-nexus-webhook-signature': sign(body, secret) }),
  push: { body: push, headers: json },
  objects: [
    source('OCIRepository', 'source.toolkit.fluxcd.io/v1', 'app-semver', {
      url: 'oci://nexus.example.com:8082/team/app',
      ref: { semver: '>=1.4.0 <2.0.0' },
    }),
    source('OCIRepository', 'source.toolkit.fluxcd.io/v1', 'app-old-line', {
      url: 'oci://nexus.example.com:8082/team/app',
      ref: { semver: '1.3.x' },
    }),
    source('ImageRepository', 'image.toolkit.fluxcd.io/v1', 'app', { image: 'nexus.example.com:8082/team/app' }),
    source('ImageRepository', 'image.toolkit.fluxcd.io/v1', 'other', { image: 'nexus.example.com:8082/team/other' }),
    gitRepository('flux-system', 'app-git', 'https://nexus.example.com/team/app', { branch: '1.4.2' }),
  ],
  expectPatched: ['c/flux-system/ImageRepository/app', 'c/flux-system/OCIRepository/app-semver'],
  forgeries: [
    ['upper-case hex', (body, secret) => ({ 'x-nexus-webhook-signature': sign(body, secret).toUpperCase() })],
    ['a sha1= prefix', (body, secret) => ({ 'x-nexus-webhook-signature': `sha1=${sign(body, secret)}` })],
    [
      'HMAC-SHA256 instead',
      (body, secret) => ({ 'x-nexus-webhook-signature': createHmac('sha256', secret).update(body).digest('hex') }),
    ],
    ['a truncated signature', (body, secret) => ({ 'x-nexus-webhook-signature': sign(body, secret).slice(0, -1) })],
    ['the signature in another header', (body, secret) => ({ 'x-hub-signature': sign(body, secret) })],
  ],
  signsBody: true,
  emptyBodyStatus: 400,
  eventNotAllowed: { body: push.replace('"CREATED"', '"DELETED"'), headers: json },
});
