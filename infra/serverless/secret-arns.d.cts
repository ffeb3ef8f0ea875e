import type { RelayConfig } from '../../lib/config/schema';
import type { ServerlessResolver } from './relay-config.cjs';

/** A secret ARN as written, or `{ 'Fn::Sub': 'arn:${AWS::Partition}:...:secret:<name>-??????' }`. */
export type SecretResource = string | { 'Fn::Sub': string };

export declare function secretArnResources(config: RelayConfig, options?: { local?: boolean }): SecretResource[];
export declare function resources(resolver: ServerlessResolver): Promise<SecretResource[]>;
