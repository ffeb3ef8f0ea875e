import type { RelayConfig } from '../../lib/config/schema';
import type { ServerlessResolver } from './relay-config.cjs';

export declare function syncSchedule(config: RelayConfig): string | null;
export declare function schedule(resolver: ServerlessResolver): Promise<string | null>;
declare function syncFunction(resolver: ServerlessResolver): Promise<unknown>;
export { syncFunction as function };
