import type { RelayConfig } from '../../lib/config/schema';
import type { ServerlessResolver } from './relay-config.cjs';

export interface DedupeTableResource {
  Type: 'AWS::DynamoDB::Table';
  Properties: Record<string, unknown>;
}
export interface DedupePolicyResource {
  Type: 'AWS::IAM::Policy';
  Properties: {
    PolicyName: string;
    Roles: Array<{ Ref: string }>;
    PolicyDocument: {
      Version: string;
      Statement: Array<{ Effect: 'Allow'; Action: string[]; Resource: { 'Fn::GetAtt': [string, 'Arn'] } }>;
    };
  };
}

export declare const itemActions: readonly string[];
export declare function dedupeDeployed(config: RelayConfig): boolean;
export declare function dedupeResources(config: RelayConfig): {
  DedupeTable?: DedupeTableResource;
  RelayDedupePolicy?: DedupePolicyResource;
};
export declare function tableEnv(resolver: ServerlessResolver): Promise<{ Ref: string } | null>;
export declare function resources(resolver: ServerlessResolver): Promise<ReturnType<typeof dedupeResources>>;
