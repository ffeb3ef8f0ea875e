import type { ServerlessResolver } from './relay-config.cjs';

export declare function relay(resolver: ServerlessResolver): Promise<number | null>;
