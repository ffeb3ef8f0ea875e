import type { RelayConfig } from '../../lib/config/schema';
import type { ServerlessResolver } from './relay-config.cjs';

export interface EksStatement {
  Effect: 'Allow';
  Action: 'eks:DescribeCluster' | 'sts:AssumeRole';
  Resource: Array<string | { 'Fn::Sub': string }>;
}
export interface AccessEntry {
  Type: 'AWS::EKS::AccessEntry';
  Properties: {
    ClusterName: string;
    PrincipalArn: { 'Fn::GetAtt': [string, 'Arn'] };
    KubernetesGroups: string[];
    Type: 'STANDARD';
  };
}

export declare const kubernetesGroup: string;
export declare function functionClusters(config: RelayConfig): {
  relay: string[];
  retry: string[];
  sync: string[];
  registryEvents: string[];
};
export declare function eksStatements(
  config: RelayConfig,
  fn: 'relay' | 'retry' | 'sync' | 'registryEvents',
): EksStatement[];
export declare function eksAccessEntries(config: RelayConfig, options: { region: string }): Record<string, AccessEntry>;
export declare function resolveEksAccessEntries(resolver: ServerlessResolver): Promise<Record<string, AccessEntry>>;
