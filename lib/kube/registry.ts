import { describeError } from '../errors';
import type { ClusterConfig } from '../config/schema';
import type { SecretStore } from '../secrets/store';
import { HttpsCluster } from './https-cluster';
import { ClusterCallError, type ClusterClient } from './cluster-client';

export type ClusterClientFactory = (options: {
  name: string;
  kubeconfigYaml: string;
  context?: string;
  namespaces?: readonly string[];
}) => ClusterClient & { destroy?(): void };

interface Built {
  kubeconfig: string;
  client: ClusterClient & { destroy?(): void };
}

/**
 * One client per cluster for the life of a warm container (its keep-alive connections are the point). The kubeconfig
 * is re-read through the secret cache, so a rotated service-account token is picked up within the cache TTL, and
 * only then is the client rebuilt. When the API server rejects the client's credentials or TLS session, the client
 * is dropped and the kubeconfig re-read at once (rate-limited), so a rotated token or CA is picked up by the next
 * delivery rather than after the TTL.
 */
export class ClusterRegistry {
  private readonly built = new Map<string, Built>();

  constructor(
    private readonly clusters: Readonly<Record<string, ClusterConfig>>,
    private readonly secrets: SecretStore,
    private readonly factory: ClusterClientFactory = (o) => new HttpsCluster(o),
  ) {}

  async clientFor(name: string): Promise<ClusterClient> {
    const cluster = this.clusters[name];
    if (!cluster) throw new ClusterCallError(`cluster ${name} is not configured`);
    let kubeconfig: string;
    try {
      kubeconfig = (await this.secrets.current(cluster.kubeconfig)).value;
    } catch (error) {
      throw new ClusterCallError(`cluster ${name}: kubeconfig ${cluster.kubeconfig.text} could not be read (${describeError(error)})`);
    }
    const existing = this.built.get(name);
    if (existing?.kubeconfig === kubeconfig) return existing.client;
    existing?.client.destroy?.();
    const client = this.factory({
      name,
      kubeconfigYaml: kubeconfig,
      ...(cluster.context ? { context: cluster.context } : {}),
      ...(cluster.namespaces ? { namespaces: cluster.namespaces } : {}),
    });
    this.built.set(name, { kubeconfig, client });
    return client;
  }

  /** Told by the core about a failed call; rebuilds what a rejected credential or TLS session says is stale. */
  reportFailure(name: string, error: ClusterCallError): void {
    if (!error.credentialsRejected) return;
    const cluster = this.clusters[name];
    const existing = this.built.get(name);
    if (!cluster || !existing) return;
    this.built.delete(name);
    // Other calls of this delivery may still be running on the old client's connections: close it a little later.
    setTimeout(() => existing.client.destroy?.(), 15_000).unref();
    this.secrets.invalidate(cluster.kubeconfig);
  }
}
