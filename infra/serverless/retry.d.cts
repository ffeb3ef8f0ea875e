export declare const maxReceiveCount: string;
export declare const retryFunctionTimeoutSeconds: number;
export declare function retryQueues(
  extraSenders?: string[],
  options?: { registryEvents?: boolean },
): Record<string, { Type: string; Properties: Record<string, unknown> }>;
