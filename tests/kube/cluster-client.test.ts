import { HttpsCluster } from '../../lib/kube/https-cluster';
import { KubeApiTestServer } from '../support/kube-api-server';
import { gitRepository, relayRules, relayUser } from '../support/relay-harness';

let server: KubeApiTestServer;

beforeAll(async () => {
  server = await KubeApiTestServer.start();
  server.addServiceAccount('sa', relayUser, relayRules);
  for (let i = 0; i < 620; i += 1) {
    const repo = gitRepository('flux-system', `repo-${i}`, `https://github.com/acme/repo-${i}`, { branch: 'main' });
    if (i % 3 === 0) repo.metadata.labels = { tier: 'gold' };
    server.put(repo);
  }
});

afterAll(() => server.close());

test('lists follow the API server continue token across pages (500 per page)', async () => {
  const cluster = new HttpsCluster({ name: 'c', kubeconfigYaml: server.kubeconfig('sa') });
  const signal = new AbortController().signal;
  server.clearRequests();
  const repos = await cluster.listGitRepositories(signal);
  expect(repos).toHaveLength(620);
  expect(new Set(repos.map((r) => r.name)).size).toBe(620);
  const names = await cluster.listNames(
    { cluster: 'c', apiVersion: 'source.toolkit.fluxcd.io/v1', kind: 'GitRepository', namespace: 'flux-system' },
    { tier: 'gold' },
    signal,
  );
  expect(names).toHaveLength(207);
  const lists = server.requests.filter((r) => r.verb === 'list');
  expect(lists.map((r) => Boolean(r.query.continue))).toEqual([false, true, false]);
  cluster.destroy();
});
