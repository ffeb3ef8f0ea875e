/**
 * The demo cluster of `npm start` when no kubeconfig is at hand: the project's loopback Kubernetes API server (real
 * HTTPS, bearer token, RBAC, Status objects) seeded with Flux GitRepositories that the samples of `npm run send`
 * match, plus one they do not, so the first run shows which objects a push reconciles and which it leaves alone.
 */
import { randomBytes } from 'node:crypto';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { KubeApiTestServer, type KubeObject, type RbacRule } from './kube-api-server';

/** Where the running demo cluster's kubeconfig is written (and removed on exit); `npm run demo` reads it. */
export const demoDir = join(__dirname, '..', '.demo');
export const demoKubeconfigPath = join(demoDir, 'kubeconfig');
/** An administrator's kubeconfig for the same cluster, for `npm run demo` (the relay's own may not read Events). */
export const demoAdminKubeconfigPath = join(demoDir, 'admin.kubeconfig');

/** What the relay's service account may do: the Role of infra/kubernetes/relay-role.yaml, cluster-wide. */
const relayRules: RbacRule[] = [
  { apiGroups: ['source.toolkit.fluxcd.io'], resources: ['gitrepositories'], verbs: ['get', 'list', 'watch', 'patch'] },
  { apiGroups: [''], resources: ['events'], verbs: ['create'] },
];

function gitRepository(name: string, url: string, branch: string): KubeObject {
  return {
    apiVersion: 'source.toolkit.fluxcd.io/v1',
    kind: 'GitRepository',
    metadata: { name, namespace: 'flux-system' },
    spec: { url, interval: '10m', ref: { branch } },
  };
}

/** Matched by `npm run send -- github push` and `npm run send -- gitlab push`; the third by neither. */
export const demoObjects: KubeObject[] = [
  // @octokit/webhooks-examples' push: Codertocat/Hello-World, refs/heads/master.
  gitRepository('hello-world', 'https://github.com/Codertocat/Hello-World', 'master'),
  // GitLab's documented Push Hook example: git@example.com:mike/diaspora.git, refs/heads/master.
  gitRepository('diaspora', 'ssh://git@example.com/mike/diaspora.git', 'master'),
  gitRepository('podinfo', 'https://github.com/stefanprodan/podinfo', 'master'),
];

export interface DemoCluster {
  server: KubeApiTestServer;
  /** A kubeconfig for the relay's service account on the demo cluster. */
  kubeconfig: string;
  close(): Promise<void>;
}

export async function startDemoCluster(): Promise<DemoCluster> {
  const server = await KubeApiTestServer.start();
  const token = randomBytes(24).toString('base64url');
  server.addServiceAccount(token, 'system:serviceaccount:flux-system:flux-webhook-relay', relayRules);
  for (const obj of demoObjects) server.put(obj);
  const kubeconfig = server.kubeconfig(token, { context: 'demo' });
  const adminToken = randomBytes(24).toString('base64url');
  server.addServiceAccount(adminToken, 'demo-admin', [{ apiGroups: ['*'], resources: ['*'], verbs: ['*'] }]);
  mkdirSync(demoDir, { recursive: true });
  writeFileSync(demoKubeconfigPath, kubeconfig, { mode: 0o600 });
  writeFileSync(demoAdminKubeconfigPath, server.kubeconfig(adminToken, { context: 'demo-admin' }), { mode: 0o600 });
  return {
    server,
    kubeconfig,
    async close() {
      for (const path of [demoKubeconfigPath, demoAdminKubeconfigPath]) rmSync(path, { force: true });
      await server.close();
    },
  };
}
