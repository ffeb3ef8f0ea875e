import type { RelayConfig } from '../../lib/config/schema';

/** A secret ARN as written, or `{ 'Fn::Sub': 'arn:${AWS::Partition}:...:secret:<name>-??????' }`. */
export type SecretResource = string | { 'Fn::Sub': string };
type SecretRef = RelayConfig['receivers'][string]['secret'];

export declare function secretArnResources(config: RelayConfig, options?: { local?: boolean }): SecretResource[];
export declare function functionSecretResources(
  config: RelayConfig,
  options?: { local?: boolean },
): { relay: SecretResource[]; retry: SecretResource[]; sync: SecretResource[]; registryEvents: SecretResource[] };
export declare function functionSecretRefs(config: RelayConfig): {
  relay: SecretRef[];
  retry: SecretRef[];
  sync: SecretRef[];
  registryEvents: SecretRef[];
};
