import { readFileSync } from 'node:fs';
import { describeProviderContract } from '../../support/provider-contract';
import type { KubeObject } from '../../support/kube-api-server';

// ACR's documented image push (tests/fixtures/acr/SOURCE.md): myregistry.azurecr.io/hello-world:v1.
const push = readFileSync('tests/fixtures/acr/push.json', 'utf8');
const json = { 'content-type': 'application/json' };
const source = (kind: string, apiVersion: string, name: string, spec: Record<string, unknown>): KubeObject => ({
  apiVersion,
  kind,
  metadata: { name, namespace: 'flux-system' },
  spec: { interval: '5m', ...spec },
});
const objects = [
  source('OCIRepository', 'source.toolkit.fluxcd.io/v1', 'hello-v1', {
    url: 'oci://MyRegistry.azurecr.io/hello-world',
    ref: { tag: 'v1' },
  }),
  source('OCIRepository', 'source.toolkit.fluxcd.io/v1', 'hello-latest', {
    url: 'oci://myregistry.azurecr.io/hello-world',
  }),
  source('ImageRepository', 'image.toolkit.fluxcd.io/v1', 'hello', { image: 'myregistry.azurecr.io/hello-world' }),
];
const expectPatched = ['c/flux-system/ImageRepository/hello', 'c/flux-system/OCIRepository/hello-v1'];
const ping = { body: push.replace('"action": "push"', '"action": "ping"'), headers: json };
const deleted = { body: push.replace('"action": "push"', '"action": "delete"'), headers: json };

// The webhook's custom header carries the secret's value: the secret is `X-Relay-Token: <value>`.
const value = (secret: string) => secret.slice('X-Relay-Token: '.length);
describeProviderContract({
  provider: 'acr',
  title: 'acr receiver, custom header',
  secrets: ['X-Relay-Token: acr-old-header-value', 'X-Relay-Token: acr-new-header-value'],
  credential: (_body, secret) => ({ 'x-relay-token': value(secret) }),
  push: { body: push, headers: json },
  objects,
  expectPatched,
  forgeries: [
    ['the value in upper case', (_body, secret) => ({ 'x-relay-token': value(secret).toUpperCase() })],
    ['a truncated value', (_body, secret) => ({ 'x-relay-token': value(secret).slice(0, -1) })],
    ['the value in another header', (_body, secret) => ({ authorization: value(secret) })],
    ['the whole secret line as the value', (_body, secret) => ({ 'x-relay-token': secret })],
  ],
  signsBody: false,
  emptyBodyStatus: 400,
  ping,
  eventNotAllowed: deleted,
});

describeProviderContract({
  provider: 'acr',
  title: 'acr receiver, path token',
  secrets: ['acr-old-path-token-0123456789', 'acr-new-path-token-abcdef0123'],
  credentialIn: 'path',
  pathTokenOptional: true,
  credential: (_body, secret) => ({ token: secret }),
  push: { body: push, headers: json },
  objects,
  expectPatched,
  forgeries: [
    ['the token in upper case', (_body, secret) => ({ token: secret.toUpperCase() })],
    ['a truncated token', (_body, secret) => ({ token: secret.slice(0, -1) })],
  ],
  signsBody: false,
  emptyBodyStatus: 400,
  ping,
  eventNotAllowed: deleted,
});
