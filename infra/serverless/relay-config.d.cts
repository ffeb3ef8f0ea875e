import type { RelayConfig } from '../../lib/config/schema';

/** What osls hands a `${file(x.cjs):export}` function (the part used here). */
export interface ServerlessResolver {
  resolveConfigurationProperty(path: string[]): Promise<unknown>;
}

export interface RelayContext {
  config: RelayConfig;
  configPath: string;
  local: boolean;
}

export declare class RelayDeployError extends Error {}
export declare const bundledConfig: string;
export declare const bundledSyncConfig: string;
export declare function syncDeployed(config: RelayConfig): boolean;
export declare function registryEventsDeployed(config: RelayConfig): boolean;
export declare function parseConfig(text: string, source: string): RelayConfig;
export declare function cliCommand(argv?: readonly string[]): string;
export declare function secretRefs(
  config: RelayConfig,
): Array<{ field: string; ref: RelayConfig['receivers'][string]['secret'] }>;
export declare function localOnlyRefs(config: RelayConfig): string[];
export declare function relayContext(
  resolver: ServerlessResolver,
  options?: { argv?: readonly string[]; parse?: (text: string, source: string) => RelayConfig },
): Promise<RelayContext>;
