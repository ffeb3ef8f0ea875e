import type { RelayConfig } from '../../lib/config/schema';
import type { ServerlessResolver } from './relay-config.cjs';
import type { SecretResource } from './secret-arns.cjs';
import type { KmsDecryptStatement } from './kms.cjs';

export interface ResourceStatement {
  Effect: 'Allow';
  Action: string | string[];
  /** `*` only in the VPC network interface statement (vpc.cjs). */
  Resource:
    | SecretResource[]
    | { 'Fn::Sub': string }
    | { 'Fn::GetAtt': [string, 'Arn'] }
    | '*'
    | Array<string | { 'Fn::Sub': string }>;
}
/** `kms:Decrypt` (kms.cjs) is the one statement with a Condition. */
export type Statement = ResourceStatement | KmsDecryptStatement;
export interface Role {
  Type: 'AWS::IAM::Role';
  Properties: {
    AssumeRolePolicyDocument: unknown;
    Policies: Array<{ PolicyName: string; PolicyDocument: { Version: string; Statement: Statement[] } }>;
  };
}

export declare function functionRoles(
  config: RelayConfig,
  options?: { local?: boolean; vpc?: boolean; kmsKeyArns?: string[] },
): Record<string, Role>;
export declare function resolveRoles(resolver: ServerlessResolver): Promise<Record<string, Role>>;
export declare function roles(resolver: ServerlessResolver): Promise<Record<string, Role>>;
