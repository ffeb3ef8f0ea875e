import { describeError } from '../errors';
import type { ClusterConfig } from '../config/schema';
import type { SecretStore } from '../secrets/store';
import { ClientNodeCluster } from './client-node-cluster';
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
 * only then is the client rebuilt.
 */
export class ClusterRegistry {
  private readonly built = new Map<string, Built>();

  constructor(
    private readonly clusters: Readonly<Record<string, ClusterConfig>>,
    private readonly secrets: SecretStore,
    private readonly factory: ClusterClientFactory = (o) => new ClientNodeCluster(o),
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
}
