import { readFileSync } from 'node:fs';
import { describeProviderContract } from '../../support/provider-contract';
import type { KubeObject } from '../../support/kube-api-server';
import { gitRepository } from '../../support/relay-harness';
import { GoogleCertsTestServer, idToken, pushClaims, pushEnvelope, signingKey } from '../../support/google-oidc';

// Artifact Registry pushed hello-world:1.1 (tests/fixtures/gcr/SOURCE.md), delivered by a Pub/Sub push subscription
// signing as relay-push@my-project: the receiver's secret is the path token, and the token Google signs is checked too.
const identity = {
  audience: 'https://relay.example.com/hooks/hook',
  serviceAccount: 'relay-push@my-project.iam.gserviceaccount.com',
};
const google = signingKey('google-key-1');
const json = { 'content-type': 'application/json' };
const message = (file: string) => JSON.parse(readFileSync(`tests/fixtures/gcr/${file}`, 'utf8')) as unknown;
const push = pushEnvelope(message('insert-tagged.json'));
const bearer = `Bearer ${idToken(google, pushClaims(identity))}`;

let certs: GoogleCertsTestServer;
beforeAll(async () => {
  certs = await GoogleCertsTestServer.start([google]);
  process.env.RELAY_GOOGLE_CERTS_URL = certs.url;
});
afterAll(async () => {
  delete process.env.RELAY_GOOGLE_CERTS_URL;
  await certs.close();
});

const source = (kind: string, apiVersion: string, name: string, spec: Record<string, unknown>): KubeObject => ({
  apiVersion,
  kind,
  metadata: { name, namespace: 'flux-system' },
  spec: { interval: '5m', ...spec },
});
const image = 'us-east1-docker.pkg.dev/my-project/my-repo/hello-world';

describeProviderContract({
  provider: 'gcr',
  receiverFields: `audience: '${identity.audience}', serviceAccount: ${identity.serviceAccount}`,
  secrets: ['gcr-old-path-token-0123456789', 'gcr-new-path-token-0123456789'],
  credentialIn: 'path',
  credential: (_body, secret) => ({ token: secret, authorization: bearer }),
  push: { body: push, headers: json },
  objects: [
    source('OCIRepository', 'source.toolkit.fluxcd.io/v1', 'hello-tag', { url: `oci://${image}`, ref: { tag: '1.1' } }),
    source('OCIRepository', 'source.toolkit.fluxcd.io/v1', 'hello-semver-2', {
      url: `oci://${image}`,
      ref: { semver: '>=2.0.0' },
    }),
    source('ImageRepository', 'image.toolkit.fluxcd.io/v1', 'hello', { image }),
    source('ImageRepository', 'image.toolkit.fluxcd.io/v1', 'other', { image: `${image}-other` }),
    gitRepository('flux-system', 'hello-git', 'https://us-east1-docker.pkg.dev/my-project/my-repo/hello-world', {
      branch: '1.1',
    }),
  ],
  expectPatched: ['c/flux-system/ImageRepository/hello', 'c/flux-system/OCIRepository/hello-tag'],
  forgeries: [
    ['the token in upper case', (_body, secret) => ({ token: secret.toUpperCase(), authorization: bearer })],
    ['a truncated token', (_body, secret) => ({ token: secret.slice(0, -1), authorization: bearer })],
    ['the token with a trailing space', (_body, secret) => ({ token: `${secret} `, authorization: bearer })],
  ],
  signsBody: false,
  emptyBodyStatus: 400,
  eventNotAllowed: { body: pushEnvelope(message('delete-tag.json')), headers: json },
});
