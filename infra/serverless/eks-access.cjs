'use strict';
/**
 * EKS access for the functions' roles, derived from the configuration's `clusters.<name>.eks` (lib/kube/eks-auth.ts):
 *
 * - An `AWS::EKS::AccessEntry` (type STANDARD, Kubernetes group `flux-webhook-relay`, which infra/kubernetes binds the
 *   relay's RBAC to) for each function role that talks to an EKS cluster of this account and the stack's region:
 *   `RelayRole` and `RetryRole` (both patch) for every such cluster, `SyncRole` for those it discovers repositories on
 *   (a registration that discovers: its receiver's clusters; the same rule as secret-arns.cjs's kubeconfigs), and
 *   `RegistryEventsRole` for the clusters of the `ecr` section (registry-events.cjs). The
 *   cluster's authentication mode must be API or API_AND_CONFIG_MAP ("Grant IAM users access to Kubernetes with EKS
 *   access entries", Amazon EKS user guide). A cluster with `roleArn` (another account) or another region gets no entry
 *   here: CloudFormation creates resources in the stack's own account and region; its entry is made where it lives.
 * - IAM statements for each role: `eks:DescribeCluster` on exactly those clusters' ARNs (not for a cluster whose
 *   endpoint and certificateAuthority are in the configuration, nor one reached through roleArn, which is described
 *   with the assumed role's credentials) and `sts:AssumeRole` on exactly the configured role ARNs. Never a wildcard.
 */
const { RelayDeployError, relayContext, syncDeployed, registryEventsDeployed } = require('./relay-config.cjs');

/** The group of lib/kube/scoped-kubeconfig.ts's relayIdentity (tests/infra/kubernetes/rbac-manifest.test.ts). */
const kubernetesGroup = 'flux-webhook-relay';

const normalized = (fn) => fn.charAt(0).toUpperCase() + fn.slice(1);

/** The configuration's cluster names each function talks to. */
function functionClusters(config) {
  const all = Object.keys(config.clusters);
  // With an `ecr` section: the clusters it routes on.
  const registryEvents = registryEventsDeployed(config)
    ? all.filter((c) => (config.ecr.clusters ?? all).includes(c))
    : [];
  if (!syncDeployed(config)) return { relay: all, retry: all, sync: [], registryEvents };
  const listed = new Set(
    Object.values(config.sync.registrations)
      .filter((r) => r.discover && !r.organizations)
      .flatMap((r) => config.receivers[r.receiver].clusters ?? all),
  );
  return { relay: all, retry: all, sync: all.filter((c) => listed.has(c)), registryEvents };
}

const unique = (values) => [...new Map(values.map((v) => [JSON.stringify(v), v])).values()];

function clusterArn(eks) {
  return {
    'Fn::Sub': `arn:\${AWS::Partition}:eks:${eks.region ?? '${AWS::Region}'}:\${AWS::AccountId}:cluster/${eks.cluster}`,
  };
}

/** The IAM statements of one function's role for its EKS clusters (none without any). */
function eksStatements(config, fn) {
  const clusters = functionClusters(config)[fn];
  const eks = clusters.map((c) => config.clusters[c].eks).filter(Boolean);
  const described = unique(eks.filter((e) => !e.roleArn && !(e.endpoint && e.certificateAuthority)).map(clusterArn));
  const roles = unique(eks.filter((e) => e.roleArn).map((e) => e.roleArn));
  const statements = [];
  if (described.length > 0) statements.push({ Effect: 'Allow', Action: 'eks:DescribeCluster', Resource: described });
  if (roles.length > 0) statements.push({ Effect: 'Allow', Action: 'sts:AssumeRole', Resource: roles });
  return statements;
}

/** `prod-eu_1` -> `ProdEu1`: a CloudFormation logical id part (letters and digits only). */
const idPart = (name) =>
  name
    .split(/[-_]/)
    .map((p) => p.charAt(0).toUpperCase() + p.slice(1))
    .join('');

/**
 * The access entries: `EksAccess<Fn><Cluster>` for each function role and each EKS cluster (by its EKS name, so two
 * configuration entries for one cluster make one entry) of the stack's account and `region`.
 */
function eksAccessEntries(config, { region }) {
  const resources = {};
  const owners = new Map();
  for (const [fn, names] of Object.entries(functionClusters(config))) {
    for (const name of names) {
      const eks = config.clusters[name].eks;
      if (!eks || eks.roleArn || (eks.region && eks.region !== region)) continue;
      const id = `EksAccess${normalized(fn)}${idPart(eks.cluster)}`;
      const owner = owners.get(id);
      if (owner !== undefined && owner !== eks.cluster) {
        throw new RelayDeployError(
          `the relay configuration cannot be deployed:\n  EKS clusters ${owner} and ${eks.cluster} would get the same access entry id ${id}; rename one in eks.cluster's configuration key or create the entries yourself`,
        );
      }
      owners.set(id, eks.cluster);
      resources[id] = {
        Type: 'AWS::EKS::AccessEntry',
        Properties: {
          ClusterName: eks.cluster,
          PrincipalArn: { 'Fn::GetAtt': [`${normalized(fn)}Role`, 'Arn'] },
          KubernetesGroups: [kubernetesGroup],
          Type: 'STANDARD',
        },
      };
    }
  }
  return resources;
}

/** The access entries for serverless.yml's configuration and region. */
async function resolveEksAccessEntries(resolver) {
  const { config } = await relayContext(resolver);
  const region = String((await resolver.resolveConfigurationProperty(['provider', 'region'])) ?? '');
  return eksAccessEntries(config, { region });
}

module.exports = { eksStatements, eksAccessEntries, resolveEksAccessEntries, functionClusters, kubernetesGroup };
