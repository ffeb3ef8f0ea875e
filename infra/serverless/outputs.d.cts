import type { RelayConfig } from '../../lib/config/schema';
import type { ServerlessResolver } from './relay-config.cjs';

export type Outputs = Record<string, { Description: string; Value: { 'Fn::Sub': string } | { Ref: string } | { 'Fn::GetAtt': [string, string] } }>;

export declare function webhookUrlOutputs(config: RelayConfig): Outputs;
export declare function stackOutputs(config: RelayConfig): Outputs;
export declare function outputs(resolver: ServerlessResolver): Promise<Outputs>;
