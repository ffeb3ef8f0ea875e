import type { ServerlessResolver } from './relay-config.cjs';

/** `custom.relay` as serverless.yml sets it: CLI params are strings, defaults numbers, unset ones null. */
export type ParamSettings = Partial<
  Record<
    | 'throttleBurst'
    | 'throttleRate'
    | 'vpcSubnetIds'
    | 'vpcSecurityGroupIds'
    | 'alarmTopicArn'
    | 'signatureRejectionThreshold'
    | 'retryQueueSenders'
    | 'secretsKmsKeyArns'
    | 'domainName'
    | 'certificateArn'
    | 'hostedZoneId'
    | 'relayReservedConcurrency'
    | 'region',
    unknown
  >
>;

export interface Throttle {
  burst: number;
  rate: number;
}
export interface Vpc {
  subnetIds: string[];
  securityGroupIds: string[];
}
export interface CustomDomain {
  domainName: string;
  certificateArn: string;
  hostedZoneId: string | null;
}
export interface DeployParams {
  throttle: Throttle;
  vpc: Vpc | null;
  alarmTopicArn: string | null;
  signatureRejectionThreshold: number;
  retryQueueSenders: string[];
  secretsKmsKeyArns: string[];
  customDomain: CustomDomain | null;
  relayReservedConcurrency: number | null;
}

export declare function throttle(settings?: ParamSettings): Throttle;
export declare function vpc(settings?: ParamSettings): Vpc | null;
export declare function alarmTopic(settings?: ParamSettings): string | null;
export declare function signatureRejectionThreshold(settings?: ParamSettings): number;
export declare function retryQueueSenders(settings?: ParamSettings): string[];
export declare function secretsKmsKeyArns(settings?: ParamSettings): string[];
export declare function customDomain(settings?: ParamSettings): CustomDomain | null;
export declare function relayReservedConcurrency(settings?: ParamSettings): number | null;
export declare function deployParams<K extends keyof DeployParams>(
  resolver: ServerlessResolver,
  which: K[],
): Promise<Pick<DeployParams, K>>;
