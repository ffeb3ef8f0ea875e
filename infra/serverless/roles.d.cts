import type { RelayConfig } from '../../lib/config/schema';
import type { ServerlessResolver } from './relay-config.cjs';
import type { SecretResource } from './secret-arns.cjs';

export interface Statement {
  Effect: 'Allow';
  Action: string | string[];
  /** `*` only in the VPC network interface statement (vpc.cjs). */
  Resource: SecretResource[] | { 'Fn::Sub': string } | { 'Fn::GetAtt': [string, 'Arn'] } | '*' | Array<string | { 'Fn::Sub': string }>;
}
export interface Role {
  Type: 'AWS::IAM::Role';
  Properties: {
    AssumeRolePolicyDocument: unknown;
    Policies: Array<{ PolicyName: string; PolicyDocument: { Version: string; Statement: Statement[] } }>;
  };
}

export declare function functionRoles(config: RelayConfig, options?: { local?: boolean; vpc?: boolean }): Record<string, Role>;
export declare function resolveRoles(resolver: ServerlessResolver): Promise<Record<string, Role>>;
export declare function roles(resolver: ServerlessResolver): Promise<Record<string, Role>>;
