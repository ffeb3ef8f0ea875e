/**
 * A registry push end to end through functions/relay.ts: a Harbor receiver, two loopback clusters, Secrets Manager.
 * The push reconciles exactly the objects that use the pushed artifact on each cluster (OCIRepository by tag or
 * semver, HelmCharts of an OCI HelmRepository by chart name and version, ImageRepository), static targets still apply,
 * and what is not a push or not a valid payload touches no cluster.
 */
import { createHmac } from 'node:crypto';
import { KubeApiTestServer, type KubeObject } from '../support/kube-api-server';
import { SecretsManagerTestServer } from '../support/secrets-manager-server';
import { GoogleCertsTestServer, idToken, pushClaims, pushEnvelope, signingKey } from '../support/google-oidc';
import {
  apiGatewayEvent,
  captureOutput,
  type Handler,
  loadRelayHandler,
  logLines,
  patchRequests,
  relayRules,
  relayUser,
  requestedAt,
  useSecretsManager,
} from '../support/relay-harness';

const authHeader = 'harbor-auth-header-0123456789';
const quayToken = 'quay-path-token-5f0c2b7e9a41d8c6';
const otherSecrets = {
  dockerhub: 'dockerhub-path-token-1b9e04c7d2',
  acr: 'X-Relay-Token: acr-header-value-7c1d0e93',
  cdevents: 'cdevents-hmac-key-3f6a91b0e2',
  github: 'github-hmac-secret-8d2e6b1f04',
  gcr: 'gcr-path-token-6a0d3e8b15c2',
};
// The gcr receiver's second credential: a token Google signs for the Pub/Sub push (tests/support/google-oidc.ts).
const google = signingKey('google-key');
const gcrIdentity = {
  audience: 'https://relay.example.com/hooks/gcr',
  serviceAccount: 'push@proj.iam.gserviceaccount.com',
};
const digest = `sha256:${'c'.repeat(64)}`;

const harborPush = (
  resources: Array<{ resource_url: string; tag?: string; digest?: string }>,
  type = 'PUSH_ARTIFACT',
) =>
  JSON.stringify({
    type,
    occur_at: 1586922308,
    operator: 'admin',
    event_data: {
      resources,
      repository: { name: 'podinfo', namespace: 'charts', repo_full_name: 'charts/podinfo', repo_type: 'private' },
    },
  });

const source = (
  kind: string,
  apiVersion: string,
  namespace: string,
  name: string,
  spec: Record<string, unknown>,
): KubeObject => ({
  apiVersion,
  kind,
  metadata: { name, namespace },
  spec: { interval: '5m', ...spec },
});
const oci = (namespace: string, name: string, url: string, ref?: Record<string, string>) =>
  source('OCIRepository', 'source.toolkit.fluxcd.io/v1', namespace, name, { url, ...(ref ? { ref } : {}) });
const helmRepo = (namespace: string, name: string, url: string, type?: string) =>
  source('HelmRepository', 'source.toolkit.fluxcd.io/v1', namespace, name, { url, ...(type ? { type } : {}) });
const chart = (namespace: string, name: string, chartName: string, repo: string, version?: string) =>
  source('HelmChart', 'source.toolkit.fluxcd.io/v1', namespace, name, {
    chart: chartName,
    sourceRef: { kind: 'HelmRepository', name: repo },
    ...(version ? { version } : {}),
  });
const image = (namespace: string, name: string, imageRef: string) =>
  source('ImageRepository', 'image.toolkit.fluxcd.io/v1', namespace, name, { image: imageRef });

const objectsA: KubeObject[] = [
  oci('apps', 'manifests-semver', 'oci://harbor.example.com/apps/manifests', { semver: '>=1.0.0 <2.0.0' }),
  oci('apps', 'manifests-latest', 'oci://harbor.example.com/apps/manifests'),
  oci('apps', 'manifests-digest', 'oci://harbor.example.com/apps/manifests', { digest }),
  image('apps', 'manifests', 'harbor.example.com/apps/manifests'),
  oci('apps', 'quay-app', 'oci://quay.io/org/app', { semver: '^1' }),
  oci('apps', 'hub-app', 'oci://docker.io/org/app', { tag: 'v2' }),
  oci('apps', 'acr-app', 'oci://reg.azurecr.io/team/app', { semver: '>=2.0.0' }),
  oci('apps', 'cde-app', 'oci://cd.example.com/team/app', { tag: 'v2' }),
  oci('apps', 'ghcr-app', 'oci://ghcr.io/org/app', { tag: 'v2' }),
  oci('apps', 'gar-app', 'oci://europe-docker.pkg.dev/proj/repo/app', { tag: 'v2' }),
  helmRepo('apps', 'charts', 'oci://harbor.example.com/charts', 'oci'),
  chart('apps', 'podinfo', 'podinfo', 'charts', '6.x'),
  chart('apps', 'podinfo-5', 'podinfo', 'charts', '5.x'),
  chart('apps', 'redis', 'redis', 'charts'),
  {
    apiVersion: 'kustomize.toolkit.fluxcd.io/v1',
    kind: 'Kustomization',
    metadata: { name: 'static', namespace: 'apps' },
    spec: { interval: '10m', prune: true, sourceRef: { kind: 'OCIRepository', name: 'x' } },
  },
];
const objectsB: KubeObject[] = [
  oci('flux-system', 'manifests', 'oci://HARBOR.example.com:443/apps/manifests', { tag: 'v1.2.0' }),
  helmRepo('flux-system', 'charts', 'oci://harbor.example.com/charts', 'oci'),
  helmRepo('flux-system', 'charts-http', 'https://harbor.example.com/chartrepo/charts'),
  chart('flux-system', 'podinfo', 'podinfo', 'charts'),
  chart('flux-system', 'podinfo-http', 'podinfo', 'charts-http'),
  image('flux-system', 'podinfo', 'harbor.example.com/charts/podinfo'),
  oci('flux-system', 'quay-app', 'oci://quay.io/org/app', { tag: 'v1.2.0' }),
  oci('flux-system', 'quay-app-latest', 'oci://quay.io/org/app'),
  oci('flux-system', 'hub-app', 'oci://registry-1.docker.io/org/app', { semver: '2.x' }),
  oci('flux-system', 'acr-app', 'oci://REG.azurecr.io/team/app', { tag: 'v2' }),
  oci('flux-system', 'cde-app', 'oci://cd.example.com/team/app', { semver: '^2' }),
  oci('flux-system', 'ghcr-app', 'oci://ghcr.io/org/app', { semver: '^2' }),
  oci('flux-system', 'gar-app', 'oci://europe-docker.pkg.dev/proj/repo/app', { semver: '^2' }),
];

let a: KubeApiTestServer;
let b: KubeApiTestServer;
let sm: SecretsManagerTestServer;
let certs: GoogleCertsTestServer;
let handler: Handler;

beforeAll(async () => {
  [a, b, sm, certs] = await Promise.all([
    KubeApiTestServer.start(),
    KubeApiTestServer.start(),
    SecretsManagerTestServer.start(),
    GoogleCertsTestServer.start([google]),
  ]);
  process.env.RELAY_GOOGLE_CERTS_URL = certs.url;
  a.addServiceAccount('sa-a', relayUser, relayRules);
  // Cluster b has no image automation RBAC: its ImageRepositories cannot be listed.
  b.addServiceAccount('sa-b', relayUser, [
    { ...relayRules[0]!, apiGroups: ['source.toolkit.fluxcd.io'] },
    relayRules[1]!,
  ]);
  sm.put('relay/a', a.kubeconfig('sa-a'));
  sm.put('relay/b', b.kubeconfig('sa-b'));
  sm.put('relay/harbor', authHeader);
  sm.put('relay/quay', quayToken);
  for (const [name, value] of Object.entries(otherSecrets)) sm.put(`relay/${name}`, value);
  useSecretsManager(sm);
  handler = loadRelayHandler(`
clusters:
  a: { kubeconfig: relay/a }
  b: { kubeconfig: relay/b }
receivers:
  harbor:
    provider: harbor
    secret: relay/harbor
    targets:
      - { cluster: a, kind: Kustomization, name: static, namespace: apps }
  quay: { provider: quay, secret: relay/quay }
  dockerhub: { provider: dockerhub, secret: relay/dockerhub }
  acr: { provider: acr, secret: relay/acr }
  cdevents: { provider: cdevents, secret: relay/cdevents }
  github: { provider: github, secret: relay/github, events: [push, package] }
  gcr:
    provider: gcr
    secret: relay/gcr
    audience: ${gcrIdentity.audience}
    serviceAccount: ${gcrIdentity.serviceAccount}
`);
});

afterAll(async () => {
  delete process.env.RELAY_GOOGLE_CERTS_URL;
  await Promise.all([a.close(), b.close(), sm.close(), certs.close()]);
});

beforeEach(() => {
  for (const [server, objects] of [
    [a, objectsA],
    [b, objectsB],
  ] as const) {
    for (const obj of objects) {
      server.remove(obj.apiVersion, obj.kind, obj.metadata.namespace!, obj.metadata.name);
      server.put(structuredClone(obj));
    }
    server.clearRequests();
  }
});

const send = (body: string, authorization = authHeader) =>
  captureOutput(() =>
    handler(
      apiGatewayEvent({ receiver: 'harbor', body, headers: { 'content-type': 'application/json', authorization } }),
    ),
  );

const patched = () =>
  [...patchRequests(a).map((r) => `a${r.path}`), ...patchRequests(b).map((r) => `b${r.path}`)]
    .map((p) => p.replace(/\/apis\/[^/]+\/v\d+\/namespaces\//, ' '))
    .sort();

test('an image tag in range: the semver OCIRepository and the ImageRepository on a, the tag-pinned one on b; static targets too', async () => {
  const { result, lines } = await send(
    harborPush([{ resource_url: `harbor.example.com/apps/manifests:v1.2.0@${digest}`, tag: 'v1.2.0', digest }]),
  );
  const answer = JSON.parse(result.body as string);
  expect(answer.patched).toEqual([
    'a/apps/ImageRepository/manifests',
    'a/apps/Kustomization/static',
    'a/apps/OCIRepository/manifests-semver',
    'b/flux-system/OCIRepository/manifests',
  ]);
  // b's ImageRepositories could not be listed (no RBAC): reported by kind, the rest of b still routed.
  expect(answer.failed).toEqual([{ target: 'b/*/ImageRepository/*', error: expect.stringContaining('HTTP 403') }]);
  expect(result.statusCode).toBe(502);
  expect(answer).toMatchObject({ repository: 'harbor.example.com/apps/manifests', tag: 'v1.2.0', digest });
  expect(requestedAt(a, 'apps', 'manifests-latest', 'OCIRepository')).toBeUndefined();
  expect(requestedAt(a, 'apps', 'manifests-digest', 'OCIRepository')).toBeUndefined();
  const [line] = logLines(lines, 'delivery');
  expect(line).toMatchObject({
    provider: 'harbor',
    event: 'PUSH_ARTIFACT',
    repository: 'harbor.example.com/apps/manifests',
    tag: 'v1.2.0',
    digest,
  });
});

test('a chart version: the HelmCharts of the OCI HelmRepositories whose chart and version fit, on both clusters; never the HelmRepository, never an HTTP one', async () => {
  const { result } = await send(
    harborPush([{ resource_url: 'harbor.example.com/charts/podinfo:6.5.0', tag: '6.5.0', digest }]),
  );
  const answer = JSON.parse(result.body as string);
  expect(answer.patched).toEqual([
    'a/apps/HelmChart/podinfo',
    'a/apps/Kustomization/static',
    'b/flux-system/HelmChart/podinfo',
  ]);
  expect(patched()).toEqual([
    'a apps/helmcharts/podinfo',
    'a apps/kustomizations/static',
    'b flux-system/helmcharts/podinfo',
  ]);
});

test('an event that is not a push (PULL_ARTIFACT) is acknowledged and touches no cluster', async () => {
  const { result } = await send(
    harborPush([{ resource_url: 'harbor.example.com/apps/manifests:latest', tag: 'latest' }], 'PULL_ARTIFACT'),
  );
  expect(result.statusCode).toBe(200);
  expect(JSON.parse(result.body as string).outcome).toBe('ignored');
  expect([...a.requests, ...b.requests]).toEqual([]);
});

test.each([
  [
    'resources is not an array',
    JSON.stringify({ type: 'PUSH_ARTIFACT', event_data: { resources: {}, repository: {} } }),
  ],
  ['a resource without resource_url', harborPush([{ resource_url: '' }])],
  ['a tag that is not an OCI tag', harborPush([{ resource_url: 'harbor.example.com/apps/manifests', tag: '../etc' }])],
  [
    'a digest that is not a digest',
    harborPush([{ resource_url: 'harbor.example.com/apps/manifests', digest: 'md5:x' }]),
  ],
  ['no event_data', JSON.stringify({ type: 'PUSH_ARTIFACT' })],
])('an authenticated push with %s is a 400 and touches no cluster', async (_what, body) => {
  const { result } = await send(body);
  expect(result.statusCode).toBe(400);
  expect([...a.requests, ...b.requests]).toEqual([]);
});

test('a wrong Auth Header is a 401 and touches no cluster', async () => {
  const { result } = await send(
    harborPush([{ resource_url: 'harbor.example.com/apps/manifests:latest', tag: 'latest' }]),
    `Bearer ${authHeader}`,
  );
  expect(result.statusCode).toBe(401);
  expect([...a.requests, ...b.requests]).toEqual([]);
});

test('a resource_url that is no registry reference routes nothing but the static targets', async () => {
  const { result } = await send(
    harborPush([{ resource_url: 'https://harbor.example.com/apps/manifests', tag: 'latest' }]),
  );
  expect(JSON.parse(result.body as string).patched).toEqual(['a/apps/Kustomization/static']);
  // No artifact to route: no list of the artifact kinds either.
  expect(b.requests).toEqual([]);
});

describe('a path-token receiver (Quay)', () => {
  const quayPush = JSON.stringify({
    name: 'repository',
    repository: 'org/app',
    namespace: 'org',
    docker_url: 'quay.io/org/app',
    updated_tags: ['v1.2.0', 'latest'],
  });
  const sendQuay = (token: string | undefined) =>
    captureOutput(() =>
      handler(
        apiGatewayEvent({
          receiver: 'quay',
          body: quayPush,
          headers: { 'content-type': 'application/json' },
          ...(token !== undefined ? { pathToken: token } : {}),
        }),
      ),
    );

  test('the right token: every tag of the push routes on both clusters', async () => {
    const { result } = await sendQuay(quayToken);
    const answer = JSON.parse(result.body as string);
    expect(answer.patched).toEqual([
      'a/apps/OCIRepository/quay-app',
      'b/flux-system/OCIRepository/quay-app',
      'b/flux-system/OCIRepository/quay-app-latest',
    ]);
    expect(answer).toMatchObject({ repository: 'quay.io/org/app', tag: 'v1.2.0,latest' });
  });

  test.each([
    ['a wrong token', `${quayToken}x`],
    ['no token (the route without one)', undefined],
    ['an empty token', ''],
  ])('%s: 404 as for an unknown receiver, no cluster request, the token in no log line', async (_what, token) => {
    const { result, lines } = await sendQuay(token);
    expect(result.statusCode).toBe(404);
    expect(JSON.parse(result.body as string)).toMatchObject({ outcome: 'rejected', reason: 'unknown_receiver' });
    expect([...a.requests, ...b.requests]).toEqual([]);
    if (token) expect(lines.join('\n')).not.toContain(token);
  });

  test('a header receiver reached on the token route is a 404 and reads no secret', async () => {
    const before = sm.calls.length;
    const { result } = await captureOutput(() =>
      handler(
        apiGatewayEvent({
          receiver: 'harbor',
          body: '{}',
          headers: { 'content-type': 'application/json', authorization: authHeader },
          pathToken: authHeader,
        }),
      ),
    );
    expect(result.statusCode).toBe(404);
    expect(sm.calls.length).toBe(before);
  });
});

describe('every other registry receiver routes its push on both clusters', () => {
  const json = { 'content-type': 'application/json' };
  const hmac = (key: string, body: string) => createHmac('sha256', key).update(body).digest('hex');
  const cdeBody = JSON.stringify({
    context: { type: 'dev.cdevents.artifact.published.0.1.1' },
    subject: { id: 'pkg:oci/app?repository_url=cd.example.com%2Fteam%2Fapp&tag=v2' },
  });
  const ghcrBody = JSON.stringify({
    action: 'published',
    package: {
      name: 'app',
      package_type: 'CONTAINER',
      owner: { login: 'Org' },
      package_version: { package_url: 'ghcr.io/Org/app:v2', container_metadata: { tag: { name: 'v2' } } },
    },
  });
  const cases: Array<[string, { body: string; headers: Record<string, string>; pathToken?: string }, string[]]> = [
    [
      'dockerhub',
      {
        body: JSON.stringify({ push_data: { tag: 'v2' }, repository: { repo_name: 'org/app' } }),
        headers: json,
        pathToken: otherSecrets.dockerhub,
      },
      ['a/apps/OCIRepository/hub-app', 'b/flux-system/OCIRepository/hub-app'],
    ],
    [
      'acr',
      {
        body: JSON.stringify({
          action: 'push',
          target: { repository: 'team/app', tag: 'v2', digest },
          request: { host: 'reg.azurecr.io' },
        }),
        headers: { ...json, 'x-relay-token': 'acr-header-value-7c1d0e93' },
      },
      ['a/apps/OCIRepository/acr-app', 'b/flux-system/OCIRepository/acr-app'],
    ],
    [
      'cdevents',
      {
        body: cdeBody,
        headers: {
          ...json,
          'ce-type': 'dev.cdevents.artifact.published.0.1.1',
          'ce-id': 'e-1',
          'x-signature': `sha256=${hmac(otherSecrets.cdevents, cdeBody)}`,
        },
      },
      ['a/apps/OCIRepository/cde-app', 'b/flux-system/OCIRepository/cde-app'],
    ],
    [
      'github',
      {
        body: ghcrBody,
        headers: {
          ...json,
          'x-github-event': 'package',
          'x-hub-signature-256': `sha256=${hmac(otherSecrets.github, ghcrBody)}`,
        },
      },
      ['a/apps/OCIRepository/ghcr-app', 'b/flux-system/OCIRepository/ghcr-app'],
    ],
    [
      'gcr',
      {
        body: pushEnvelope({
          action: 'INSERT',
          digest: `europe-docker.pkg.dev/proj/repo/app@${digest}`,
          tag: 'europe-docker.pkg.dev/proj/repo/app:v2',
        }),
        headers: { ...json, authorization: `Bearer ${idToken(google, pushClaims(gcrIdentity))}` },
        pathToken: otherSecrets.gcr,
      },
      ['a/apps/OCIRepository/gar-app', 'b/flux-system/OCIRepository/gar-app'],
    ],
  ];

  test.each(cases)('%s', async (receiver, delivery, expected) => {
    const { result } = await captureOutput(() => handler(apiGatewayEvent({ receiver, ...delivery })));
    const answer = JSON.parse(result.body as string);
    expect(answer.patched).toEqual(expected);
    // Cluster b cannot list ImageRepositories (its RBAC): reported, nothing else failed.
    expect(answer.failed).toEqual([{ target: 'b/*/ImageRepository/*', error: expect.stringContaining('HTTP 403') }]);
    expect(patchRequests(a).length + patchRequests(b).length).toBe(expected.length);
  });
});
