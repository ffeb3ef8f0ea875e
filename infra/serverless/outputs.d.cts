import type { RelayConfig } from '../../lib/config/schema';
import type { CustomDomain } from './deploy-params.cjs';
import type { ServerlessResolver } from './relay-config.cjs';

export type Outputs = Record<
  string,
  { Description: string; Value: string | { 'Fn::Sub': string } | { Ref: string } | { 'Fn::GetAtt': [string, string] } }
>;

export declare function webhookUrlOutputs(config: RelayConfig, domain?: CustomDomain | null): Outputs;
export declare function stackOutputs(config: RelayConfig, domain?: CustomDomain | null): Outputs;
export declare function outputs(resolver: ServerlessResolver): Promise<Outputs>;
