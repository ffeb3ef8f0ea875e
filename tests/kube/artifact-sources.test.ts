import { HttpsCluster } from '../../lib/kube/https-cluster';
import { listArtifactSources } from '../../lib/kube/artifact-sources';
import { ClusterCallError } from '../../lib/kube/cluster-client';
import { KubeApiTestServer, type KubeObject } from '../support/kube-api-server';
import { relayUser } from '../support/relay-harness';

const token = 'artifact-lister-token-0123456789';
const signal = new AbortController().signal;
let server: KubeApiTestServer;
const clients: HttpsCluster[] = [];

const object = (
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

beforeAll(async () => {
  server = await KubeApiTestServer.start();
  // As infra/kubernetes grants, but without ImageRepositories: a cluster without image automation's RBAC.
  server.addServiceAccount(token, relayUser, [
    { apiGroups: ['source.toolkit.fluxcd.io'], resources: ['*'], verbs: ['get', 'list', 'patch'] },
  ]);
  server.put(
    object('OCIRepository', 'source.toolkit.fluxcd.io/v1', 'apps', 'app', {
      url: 'oci://GHCR.io/org/app',
      ref: { semver: '^1', semverFilter: '.*' },
    }),
  );
  server.put(
    object('OCIRepository', 'source.toolkit.fluxcd.io/v1', 'elsewhere', 'app', { url: 'oci://ghcr.io/org/app' }),
  );
  server.put(
    object('HelmRepository', 'source.toolkit.fluxcd.io/v1', 'apps', 'charts', {
      url: 'oci://ghcr.io/org/charts',
      type: 'oci',
    }),
  );
  server.put(
    object('HelmChart', 'source.toolkit.fluxcd.io/v1', 'apps', 'podinfo', {
      chart: 'podinfo',
      version: '6.x',
      sourceRef: { kind: 'HelmRepository', name: 'charts' },
    }),
  );
});

afterAll(async () => {
  for (const c of clients) c.destroy();
  await server.close();
});

test('lists the four kinds in the configured namespaces, reads what routing needs, and reports a kind it may not list by kind', async () => {
  const client = new HttpsCluster({
    name: 'c',
    kubeconfigYaml: server.kubeconfig(token),
    namespaces: ['apps'],
    index: false,
  });
  clients.push(client);
  const { sources, failed } = await listArtifactSources(client, signal);
  expect(sources.ociRepositories).toEqual([
    {
      namespace: 'apps',
      name: 'app',
      uid: expect.any(String),
      key: 'ghcr.io/org/app',
      ref: { semver: '^1', semverFilter: '.*' },
    },
  ]);
  expect(sources.helmRepositories).toEqual([
    { namespace: 'apps', name: 'charts', url: 'oci://ghcr.io/org/charts', oci: true },
  ]);
  expect(sources.helmCharts).toEqual([
    {
      namespace: 'apps',
      name: 'podinfo',
      uid: expect.any(String),
      chart: 'podinfo',
      version: '6.x',
      sourceKind: 'HelmRepository',
      sourceName: 'charts',
    },
  ]);
  expect(sources.imageRepositories).toEqual([]);
  expect(failed.map((f) => f.kind)).toEqual(['ImageRepository']);
  expect(failed[0]!.error).toBeInstanceOf(ClusterCallError);
  expect((failed[0]!.error as ClusterCallError).status).toBe(403);
  // One list per kind in the one namespace, nothing cluster-wide (and the first list's spare connections).
  expect(
    server.requests
      .filter((r) => r.method === 'GET' && r.path !== '/version')
      .map((r) => r.path.split('?')[0])
      .sort(),
  ).toEqual([
    '/apis/image.toolkit.fluxcd.io/v1/namespaces/apps/imagerepositories',
    '/apis/source.toolkit.fluxcd.io/v1/namespaces/apps/helmcharts',
    '/apis/source.toolkit.fluxcd.io/v1/namespaces/apps/helmrepositories',
    '/apis/source.toolkit.fluxcd.io/v1/namespaces/apps/ocirepositories',
  ]);
});

test('objects without what routing needs are skipped, not a failure', async () => {
  const { sources, failed } = await listArtifactSources(
    {
      listObjects: async (kind) =>
        kind === 'OCIRepository'
          ? [
              { metadata: { name: 'x', namespace: 'n' }, spec: {} },
              { metadata: { name: 'y' }, spec: { url: 'oci://a.io/b' } },
              null,
              'junk',
            ]
          : kind === 'HelmChart'
            ? [{ metadata: { name: 'c', namespace: 'n' }, spec: { chart: 'c', sourceRef: { kind: 'HelmRepository' } } }]
            : [
                {
                  metadata: { name: 'i', namespace: 'n' },
                  spec: { image: 'not a reference', exclusionList: [1, 'ok'] },
                },
              ],
    },
    signal,
  );
  expect(failed).toEqual([]);
  expect(sources.ociRepositories).toEqual([]);
  expect(sources.helmCharts).toEqual([]);
  expect(sources.imageRepositories).toEqual([{ namespace: 'n', name: 'i', exclusionList: ['ok'] }]);
});
