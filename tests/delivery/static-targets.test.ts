import { KubeApiTestServer, type KubeObject } from '../support/kube-api-server';
import { SecretsManagerTestServer } from '../support/secrets-manager-server';
import {
  apiGatewayEvent,
  githubBranchPush,
  gitRepository,
  type Handler,
  loadRelayHandler,
  relayRules,
  relayUser,
  requestedAt,
  signGitHub,
  useSecretsManager,
} from '../support/relay-harness';

const push = JSON.stringify(githubBranchPush);

/** One object of every Flux kind a static target may name, each valid for its CRD. */
const objects: KubeObject[] = [
  {
    apiVersion: 'source.toolkit.fluxcd.io/v1',
    kind: 'HelmRepository',
    metadata: { name: 'charts', namespace: 'flux-system' },
    spec: { url: 'https://charts.example.com', interval: '1h' },
  },
  {
    apiVersion: 'source.toolkit.fluxcd.io/v1',
    kind: 'OCIRepository',
    metadata: { name: 'manifests', namespace: 'flux-system' },
    spec: { url: 'oci://ghcr.io/org/manifests', interval: '5m' },
  },
  {
    apiVersion: 'source.toolkit.fluxcd.io/v1',
    kind: 'Bucket',
    metadata: { name: 'artifacts', namespace: 'flux-system' },
    spec: { bucketName: 'artifacts', endpoint: 's3.amazonaws.com', interval: '5m' },
  },
  {
    apiVersion: 'source.toolkit.fluxcd.io/v1',
    kind: 'HelmChart',
    metadata: { name: 'podinfo', namespace: 'flux-system' },
    spec: { chart: 'podinfo', interval: '5m', sourceRef: { kind: 'HelmRepository', name: 'charts' } },
  },
  {
    apiVersion: 'kustomize.toolkit.fluxcd.io/v1',
    kind: 'Kustomization',
    metadata: { name: 'apps', namespace: 'flux-system' },
    spec: { interval: '10m', prune: true, sourceRef: { kind: 'GitRepository', name: 'unrelated' } },
  },
  {
    apiVersion: 'helm.toolkit.fluxcd.io/v2',
    kind: 'HelmRelease',
    metadata: { name: 'podinfo', namespace: 'apps' },
    spec: {
      interval: '10m',
      chart: {
        spec: { chart: 'podinfo', sourceRef: { kind: 'HelmRepository', name: 'charts', namespace: 'flux-system' } },
      },
    },
  },
  {
    apiVersion: 'image.toolkit.fluxcd.io/v1',
    kind: 'ImageRepository',
    metadata: { name: 'podinfo', namespace: 'flux-system' },
    spec: { image: 'ghcr.io/stefanprodan/podinfo', interval: '5m' },
  },
  gitRepository('flux-system', 'unrelated', 'https://github.com/org/unrelated', { branch: 'main' }),
  {
    ...gitRepository('tenants', 'team-a', 'https://github.com/org/team-a', { branch: 'main' }),
    metadata: { name: 'team-a', namespace: 'tenants', labels: { 'relay.example/trigger': 'hello-world' } },
  },
  {
    ...gitRepository('tenants', 'team-b', 'https://github.com/org/team-b', { branch: 'main' }),
    metadata: {
      name: 'team-b',
      namespace: 'tenants',
      labels: { 'relay.example/trigger': 'hello-world', tier: 'gold' },
    },
  },
  {
    ...gitRepository('tenants', 'team-c', 'https://github.com/org/team-c', { branch: 'main' }),
    metadata: { name: 'team-c', namespace: 'tenants', labels: { 'relay.example/trigger': 'other' } },
  },
  {
    ...gitRepository('other-ns', 'team-d', 'https://github.com/org/team-d', { branch: 'main' }),
    metadata: { name: 'team-d', namespace: 'other-ns', labels: { 'relay.example/trigger': 'hello-world' } },
  },
];

let cluster: KubeApiTestServer;
let sm: SecretsManagerTestServer;
let handler: Handler;

beforeAll(async () => {
  [cluster, sm] = await Promise.all([KubeApiTestServer.start(), SecretsManagerTestServer.start()]);
  cluster.addServiceAccount('sa', relayUser, relayRules);
  sm.put('relay/kubeconfig', cluster.kubeconfig('sa'));
  sm.put('relay/github', 'static-hook-secret');
  for (const obj of objects) cluster.put(obj);
  useSecretsManager(sm);
  handler = loadRelayHandler(`
clusters:
  c: { kubeconfig: relay/kubeconfig }
receivers:
  github:
    provider: github
    secret: relay/github
    targets:
      - { cluster: c, kind: HelmRepository, name: charts, namespace: flux-system }
      - { cluster: c, kind: OCIRepository, name: manifests, namespace: flux-system }
      - { cluster: c, kind: Bucket, name: artifacts, namespace: flux-system }
      - { cluster: c, kind: HelmChart, name: podinfo, namespace: flux-system }
      - { cluster: c, kind: Kustomization, name: apps, namespace: flux-system }
      - { cluster: c, kind: HelmRelease, name: podinfo, namespace: apps }
      - { cluster: c, kind: ImageRepository, name: podinfo, namespace: flux-system }
      - { cluster: c, kind: GitRepository, name: '*', namespace: tenants, matchLabels: { relay.example/trigger: hello-world } }
      - { cluster: c, kind: HelmRepository, name: missing, namespace: flux-system }
`);
});

afterAll(async () => {
  await Promise.all([cluster.close(), sm.close()]);
});

test('static targets of every Flux kind are annotated, label-selected ones included; a missing one is named, not fatal', async () => {
  const result = await handler(
    apiGatewayEvent({
      receiver: 'github',
      body: push,
      headers: {
        'content-type': 'application/json',
        'x-github-event': 'push',
        'x-hub-signature-256': signGitHub('static-hook-secret', push),
      },
    }),
  );
  const answer = JSON.parse(result.body as string);
  expect(result.statusCode).toBe(502);
  expect(answer.patched).toEqual([
    'c/apps/HelmRelease/podinfo',
    'c/flux-system/Bucket/artifacts',
    'c/flux-system/HelmChart/podinfo',
    'c/flux-system/HelmRepository/charts',
    'c/flux-system/ImageRepository/podinfo',
    'c/flux-system/Kustomization/apps',
    'c/flux-system/OCIRepository/manifests',
    'c/tenants/GitRepository/team-a',
    'c/tenants/GitRepository/team-b',
  ]);
  expect(answer.failed).toEqual([
    { target: 'c/flux-system/HelmRepository/missing', error: expect.stringContaining('HTTP 404 NotFound') },
  ]);
  for (const obj of objects) {
    const value = requestedAt(cluster, obj.metadata.namespace!, obj.metadata.name, obj.kind, obj.apiVersion);
    const expected = answer.patched.includes(`c/${obj.metadata.namespace}/${obj.kind}/${obj.metadata.name}`);
    expect([obj.metadata.name, value === answer.requestedAt]).toEqual([obj.metadata.name, expected]);
  }
  // Each kind was patched at its own API group and version, with a merge patch.
  const paths = cluster.requests
    .filter((r) => r.method === 'PATCH')
    .map((r) => r.path.split('/').slice(2, 4).join('/'));
  expect(new Set(paths)).toEqual(
    new Set([
      'source.toolkit.fluxcd.io/v1',
      'kustomize.toolkit.fluxcd.io/v1',
      'helm.toolkit.fluxcd.io/v2',
      'image.toolkit.fluxcd.io/v1',
    ]),
  );
  const selector = cluster.requests.find(
    (r) => r.method === 'GET' && r.path.endsWith('/namespaces/tenants/gitrepositories'),
  );
  expect(selector?.query.labelSelector).toBe('relay.example/trigger=hello-world');
});
