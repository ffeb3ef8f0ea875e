import type { RelayConfig } from '../../lib/config/schema';
import type { ServerlessResolver } from './relay-config.cjs';

export type Outputs = Record<string, { Description: string; Value: { 'Fn::Sub': string } }>;

export declare function webhookUrlOutputs(config: RelayConfig): Outputs;
export declare function webhookUrls(resolver: ServerlessResolver): Promise<Outputs>;
