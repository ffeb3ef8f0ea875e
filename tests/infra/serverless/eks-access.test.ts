import { parseConfig } from '../../../lib/config/load';
import { relayIdentity } from '../../../lib/kube/scoped-kubeconfig';
import { eksAccessEntries, eksStatements, kubernetesGroup } from '../../../infra/serverless/eks-access.cjs';
import { functionRoles } from '../../../infra/serverless/roles.cjs';

// Which EKS access entries and IAM statements a configuration gets (the packaged template: serverless-package.test.ts).

const config = parseConfig(
  `
clusters:
  prod: { eks: { cluster: prod-eu } }
  prod-again: { eks: { cluster: prod-eu }, namespaces: [apps] }
  described: { eks: { cluster: fixed, endpoint: "https://ABC.gr7.eu-west-1.eks.amazonaws.com", certificateAuthority: "QUJD" } }
  frankfurt: { eks: { cluster: fra_1, region: eu-central-1 } }
  partner: { eks: { cluster: partner-prod, region: us-east-1, roleArn: "arn:aws:iam::210987654321:role/relay-access" } }
  legacy: { kubeconfig: aws-sm:flux-relay/legacy }
receivers:
  github: { provider: github, secret: s, clusters: [prod, legacy] }
  gitlab: { provider: gitlab, secret: t }
sync:
  registrations:
    github: { provider: github, token: tok, receiver: github }
`,
  'x.yaml',
);

const entry = (fn: string, cluster: string) => ({
  Type: 'AWS::EKS::AccessEntry',
  Properties: {
    ClusterName: cluster,
    PrincipalArn: { 'Fn::GetAtt': [`${fn}Role`, 'Arn'] },
    KubernetesGroups: ['flux-webhook-relay'],
    Type: 'STANDARD',
  },
});

test('the access entries: one per role and same-account cluster of the stack region, with the relay group', () => {
  expect(kubernetesGroup).toBe(relayIdentity.group);
  expect(eksAccessEntries(config, { region: 'eu-west-1' })).toEqual({
    EksAccessRelayProdEu: entry('Relay', 'prod-eu'),
    EksAccessRelayFixed: entry('Relay', 'fixed'),
    EksAccessRetryProdEu: entry('Retry', 'prod-eu'),
    EksAccessRetryFixed: entry('Retry', 'fixed'),
    // The sync discovers through the github receiver only: prod (and legacy, a kubeconfig cluster).
    EksAccessSyncProdEu: entry('Sync', 'prod-eu'),
  });
  // Deployed in Frankfurt, the Frankfurt cluster gets its entries and the region-less ones still do.
  expect(Object.keys(eksAccessEntries(config, { region: 'eu-central-1' })).sort()).toEqual(
    [
      'EksAccessRelayFixed',
      'EksAccessRelayFra1',
      'EksAccessRelayProdEu',
      'EksAccessRetryFixed',
      'EksAccessRetryFra1',
      'EksAccessRetryProdEu',
      'EksAccessSyncProdEu',
    ].sort(),
  );
});

test('the IAM statements: DescribeCluster on exactly the clusters described with the role, AssumeRole on exactly the configured roles', () => {
  const arn = (region: string, name: string) => ({
    'Fn::Sub': `arn:\${AWS::Partition}:eks:${region}:\${AWS::AccountId}:cluster/${name}`,
  });
  expect(eksStatements(config, 'relay')).toEqual([
    {
      Effect: 'Allow',
      Action: 'eks:DescribeCluster',
      Resource: [arn('${AWS::Region}', 'prod-eu'), arn('eu-central-1', 'fra_1')],
    },
    { Effect: 'Allow', Action: 'sts:AssumeRole', Resource: ['arn:aws:iam::210987654321:role/relay-access'] },
  ]);
  expect(eksStatements(config, 'retry')).toEqual(eksStatements(config, 'relay'));
  expect(eksStatements(config, 'sync')).toEqual([
    { Effect: 'Allow', Action: 'eks:DescribeCluster', Resource: [arn('${AWS::Region}', 'prod-eu')] },
  ]);
  for (const fn of ['relay', 'retry', 'sync'] as const) {
    expect(JSON.stringify(eksStatements(config, fn))).not.toMatch(/[*?]/);
  }
  // In the roles, beside the secrets (the kubeconfig cluster's only).
  const roles = functionRoles(config);
  const statements = roles.RelayRole!.Properties.Policies[0]!.PolicyDocument.Statement;
  expect(statements).toEqual(expect.arrayContaining(eksStatements(config, 'relay')));
  expect(JSON.stringify(statements)).toContain('flux-relay/legacy');
});

test('a configuration without EKS clusters gets neither entries nor statements', () => {
  const plain = parseConfig(
    'clusters: { c: { kubeconfig: k } }\nreceivers: { r: { provider: github, secret: s } }\n',
    'x.yaml',
  );
  expect(eksAccessEntries(plain, { region: 'eu-west-1' })).toEqual({});
  expect(eksStatements(plain, 'relay')).toEqual([]);
});

test('two EKS names that would share a logical id are refused, naming both', () => {
  const clash = parseConfig(
    'clusters:\n  a: { eks: { cluster: a-b } }\n  b: { eks: { cluster: a_b } }\nreceivers: { r: { provider: github, secret: s } }\n',
    'x.yaml',
  );
  expect(() => eksAccessEntries(clash, { region: 'eu-west-1' })).toThrow(
    /EKS clusters a-b and a_b would get the same access entry id EksAccessRelayAB/,
  );
});
