import type { EcrConfig } from '../../lib/config/schema';
import type { ServerlessResolver } from './relay-config.cjs';

export interface EcrEventPattern {
  source: ['aws.ecr'];
  'detail-type': ['ECR Image Action'];
  account: Array<string | { Ref: 'AWS::AccountId' }>;
  detail: {
    'action-type': ['PUSH'];
    result: ['SUCCESS'];
    'repository-name'?: Array<string | { prefix: string }>;
  };
}

export declare function eventPattern(ecr: EcrConfig): EcrEventPattern;
export declare function pattern(resolver: ServerlessResolver): Promise<EcrEventPattern | null>;
declare function registryEventsFunction(resolver: ServerlessResolver): Promise<unknown>;
export { registryEventsFunction as function };
