import type { ServerlessResolver } from './relay-config.cjs';

export declare function resources(
  resolver: ServerlessResolver,
): Promise<Record<string, { Type: string; Properties: Record<string, unknown> }>>;
