import type { ServerlessResolver } from './relay-config.cjs';

export declare function logRetentionDays(value: unknown): number;
export declare function days(resolver: ServerlessResolver): Promise<number>;
