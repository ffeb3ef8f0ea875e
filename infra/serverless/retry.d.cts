export declare const maxReceiveCount: string;
export declare const retryFunctionTimeoutSeconds: number;
export declare function retryQueues(): Record<string, { Type: string; Properties: Record<string, unknown> }>;
