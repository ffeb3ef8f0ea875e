import type { RelayConfig } from '../../lib/config/schema';
import type { ServerlessResolver } from './relay-config.cjs';

export interface SyncStateTableProperties {
  BillingMode: 'PAY_PER_REQUEST';
  AttributeDefinitions: Array<{ AttributeName: string; AttributeType: 'S' }>;
  KeySchema: Array<{ AttributeName: string; KeyType: 'HASH' | 'RANGE' }>;
}
export interface SyncStatePolicyResource {
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
export declare const tableProperties: SyncStateTableProperties;
export declare function syncStateResources(config: RelayConfig): {
  SyncStateTable?: { Type: 'AWS::DynamoDB::Table'; Properties: SyncStateTableProperties };
  SyncStatePolicy?: SyncStatePolicyResource;
};
export declare function tableEnv(resolver: ServerlessResolver): Promise<{ Ref: string } | null>;
export declare function resources(resolver: ServerlessResolver): Promise<ReturnType<typeof syncStateResources>>;
