import type { RelayConfig } from '../../lib/config/schema';
import type { ServerlessResolver } from './relay-config.cjs';

/** What the monitoring resources are built from (monitoringContext reads it from serverless.yml and the params). */
export interface MonitoringContext {
  /** `<service>-<stage>`: alarm, query and dashboard names start with it. */
  prefix: string;
  namespace: string;
  relayService: string;
  syncService: string;
  /** The registryEvents function's POWERTOOLS_SERVICE_NAME (its alarms exist only with an `ecr` section). */
  registryEventsService: string;
  alarmTopicArn: string | null;
  signatureRejectionThreshold: number;
}

/** CloudFormation properties and dashboard widgets: arbitrary JSON, as the .cjs module builds them. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Json = any;

export interface CfnResource {
  Type: string;
  Properties: Record<string, Json>;
}

export declare function relayProviders(config: RelayConfig): string[];
export declare function syncProviders(config: RelayConfig): string[];
export declare function alarms(config: RelayConfig, context: MonitoringContext): Record<string, CfnResource>;
export declare function queryDefinitions(prefix: string): Record<string, CfnResource>;
export declare function dashboardBody(
  config: RelayConfig,
  context: MonitoringContext,
): { widgets: Array<Record<string, Json>> };
export declare function monitoringResources(
  config: RelayConfig,
  context: MonitoringContext,
): Record<string, CfnResource>;
export declare function monitoringContext(resolver: ServerlessResolver): Promise<MonitoringContext>;
export declare function monitoring(resolver: ServerlessResolver): Promise<Record<string, CfnResource>>;
