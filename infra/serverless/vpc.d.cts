import type { Vpc } from './deploy-params.cjs';
import type { ServerlessResolver } from './relay-config.cjs';

export interface EniStatement {
  Effect: 'Allow';
  Action: string[];
  Resource: '*';
}

export declare const eniActions: readonly string[];
export declare function eniStatement(): EniStatement;
export declare function vpc(resolver: ServerlessResolver): Promise<Vpc | null>;
