import type { Throttle } from './deploy-params.cjs';
import type { ServerlessResolver } from './relay-config.cjs';

export interface RouteSettings {
  ThrottlingBurstLimit: number;
  ThrottlingRateLimit: number;
}

export declare function routeSettings(throttle: Throttle): RouteSettings;
export declare function defaultRouteSettings(resolver: ServerlessResolver): Promise<RouteSettings>;
