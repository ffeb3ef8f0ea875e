/**
 * The name the registry, scripts/bench.ts, scripts/kubeconfig.ts and the tests know the cluster client by. It no
 * longer uses @kubernetes/client-node (see https-cluster.ts for why and what it cost).
 */
export { HttpsCluster as ClientNodeCluster, type HttpsClusterOptions as ClientNodeClusterOptions } from './https-cluster';
export { firstLine, statusMessage } from './status';
