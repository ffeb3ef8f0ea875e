import { describeError } from '../delivery/errors';
import type { ClusterConfig } from '../config/schema';
import type { SecretStore } from '../secrets/store';
import { EksClusterAuth, type EksAuthOptions } from './eks-auth';
import { HttpsCluster } from './https-cluster';
import type { ClusterEndpoint } from './kubeconfig';
import { ClusterCallError, type ClusterClient } from './cluster-client';

export type ClusterClientFactory = (options: {
  name: string;
  /** A kubeconfig cluster's kubeconfig text... */
  kubeconfigYaml?: string;
  /** ...or an EKS cluster's endpoint, CA and token source. */
  endpoint?: ClusterEndpoint;
  context?: string;
  namespaces?: readonly string[];
}) => ClusterClient & { destroy?(): void };

interface Built {
  /** The kubeconfig the client was built from (a kubeconfig cluster), to notice a rotated one. */
  kubeconfig?: string;
  client: ClusterClient & { destroy?(): void };
}

/**
 * One client per cluster for the life of a warm container (its keep-alive connections are the point).
 *
 * Kubeconfig clusters: the kubeconfig is re-read through the secret cache, so a rotated service-account token is
 * picked up within the cache TTL, and only then is the client rebuilt. When the API server rejects the client's
 * credentials or TLS session, the client is dropped and the kubeconfig re-read at once (rate-limited), so a rotated
 * token or CA is picked up by the next delivery rather than after the TTL.
 *
 * EKS clusters (lib/kube/eks-auth.ts): nothing is read from Secrets Manager. The endpoint and CA are described once
 * per container; the client asks for a token per request (signed locally, renewed before it gets old, and once more
 * after a 401). A rejected TLS session drops the client and the described endpoint, a rejected token the client.
 */
export class ClusterRegistry {
  private readonly built = new Map<string, Built>();
  private readonly eks = new Map<string, EksClusterAuth>();

  constructor(
    private readonly clusters: Readonly<Record<string, ClusterConfig>>,
    private readonly secrets: SecretStore,
    private readonly factory: ClusterClientFactory = (o) => new HttpsCluster(o),
    private readonly eksOptions: EksAuthOptions = {},
  ) {}

  async clientFor(name: string): Promise<ClusterClient> {
    const cluster = Object.hasOwn(this.clusters, name) ? this.clusters[name] : undefined;
    if (!cluster) throw new ClusterCallError(`cluster ${name} is not configured`);
    if (cluster.eks) return this.eksClientFor(name, cluster);
    const ref = cluster.kubeconfig;
    if (!ref) throw new ClusterCallError(`cluster ${name} has neither kubeconfig nor eks`, undefined, 'config');
    let kubeconfig: string;
    try {
      kubeconfig = (await this.secrets.current(ref)).value;
    } catch (error) {
      throw new ClusterCallError(`cluster ${name}: kubeconfig ${ref.text} could not be read (${describeError(error)})`);
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

  /** The EKS cluster's token source (one per container); exported for warm-up and tests. */
  eksAuth(name: string): EksClusterAuth | undefined {
    const cluster = Object.hasOwn(this.clusters, name) ? this.clusters[name] : undefined;
    if (!cluster?.eks) return undefined;
    let auth = this.eks.get(name);
    if (!auth) {
      auth = new EksClusterAuth(name, cluster.eks, this.eksOptions);
      this.eks.set(name, auth);
    }
    return auth;
  }

  private async eksClientFor(name: string, cluster: ClusterConfig): Promise<ClusterClient> {
    const existing = this.built.get(name);
    if (existing) return existing.client;
    const endpoint = await this.eksAuth(name)!.endpoint();
    // Calls that waited for the same DescribeCluster share the first one's client.
    const raced = this.built.get(name);
    if (raced) return raced.client;
    const client = this.factory({ name, endpoint, ...(cluster.namespaces ? { namespaces: cluster.namespaces } : {}) });
    this.built.set(name, { client });
    return client;
  }

  /** Told by the core about a failed call; rebuilds what a rejected credential or TLS session says is stale. */
  reportFailure(name: string, error: ClusterCallError): void {
    if (!error.credentialsRejected) return;
    const cluster = Object.hasOwn(this.clusters, name) ? this.clusters[name] : undefined;
    const existing = this.built.get(name);
    if (!cluster || !existing) return;
    this.built.delete(name);
    // Other calls of this delivery may still be running on the old client's connections: close it a little later.
    setTimeout(() => existing.client.destroy?.(), 15_000).unref();
    if (cluster.eks) {
      const auth = this.eks.get(name);
      auth?.forgetToken();
      if (error.failure === 'tls') auth?.forgetEndpoint();
      return;
    }
    if (cluster.kubeconfig) this.secrets.invalidate(cluster.kubeconfig);
  }
}
