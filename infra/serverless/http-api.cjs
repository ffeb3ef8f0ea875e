'use strict';
/**
 * Throttling of the HTTP API's `$default` stage, which osls generates as `HttpApiStage` with
 * `DefaultRouteSettings: { DetailedMetricsEnabled: <provider.httpApi.metrics> }` and no way to set throttling
 * (osls 4.3.1, lib/plugins/aws/package/compile/events/http-api.js). serverless.yml extends that resource:
 *
 *   resources:
 *     extensions:
 *       HttpApiStage:
 *         Properties:
 *           DefaultRouteSettings: ${file(./infra/serverless/http-api.cjs):defaultRouteSettings}
 *
 * An extension's Properties are shallow-assigned, so this replaces osls's DefaultRouteSettings as a whole; it keeps
 * DetailedMetricsEnabled unset, as osls does without provider.httpApi.metrics.
 *
 * The limits apply to the one route, ANY /hooks/{receiver}, for all receivers together: `throttleRate` requests per
 * second on average (default 20) with bursts of `throttleBurst` (default 50). Above them API Gateway answers 429
 * without invoking the relay. Providers count a 429 as a failed delivery: GitHub does not retry it by itself (the
 * sync's redelivery does, within sync.redeliverMinutes), and GitLab may disable a hook that keeps failing (the sync
 * re-enables it). Raise the limits rather than let a busy monorepo's pushes be dropped.
 */
const { deployParams } = require('./deploy-params.cjs');

/** AWS::ApiGatewayV2::Stage RouteSettings for the given `{ burst, rate }`. */
function routeSettings({ burst, rate }) {
  return { ThrottlingBurstLimit: burst, ThrottlingRateLimit: rate };
}

module.exports = {
  routeSettings,
  defaultRouteSettings: async (resolver) => routeSettings((await deployParams(resolver, ['throttle'])).throttle),
};
