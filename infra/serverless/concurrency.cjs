'use strict';
/**
 * A cap on the relay's containers, with `--param relayReservedConcurrency=<n>` (default unset: no cap of its own):
 *
 *   functions.relay.reservedConcurrency: ${file(./infra/serverless/concurrency.cjs):relay, null}
 *
 * osls writes it as the function's ReservedConcurrentExecutions
 * (https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/aws-resource-lambda-function.html), which both
 * reserves that many of the account's concurrent executions for the relay and caps it there ("Configuring reserved
 * concurrency", https://docs.aws.amazon.com/lambda/latest/dg/configuration-concurrency.html). Lambda keeps at least 100
 * of the account's concurrency unreserved, so a value that would leave less fails the deploy. osls leaves it out of
 * the version hash, so setting it publishes no new function version.
 *
 * Why: every cold relay container lists each cluster's GitRepositories and holds a watch on each
 * (lib/runtime/warm-up.ts, lib/kube/git-repository-index.ts), so a burst of pushes that scales to N containers puts N
 * lists and N watches on every API server. The cap bounds N.
 *
 * What it trades: a delivery that finds all n containers busy is throttled by Lambda, and API Gateway answers it
 * 500 (it maps a rejected invocation to 500 and never retries one: "Handling
 * Lambda errors with an API Gateway API", https://docs.aws.amazon.com/lambda/latest/dg/services-apigateway-errors.html);
 * the stage's own throttle (http-api.cjs) is what answers 429. Whether the push is lost is the provider's retry
 * policy (README, Deploying, "Bounded concurrency").
 */
const { deployParams } = require('./deploy-params.cjs');

module.exports = {
  relay: async (resolver) => (await deployParams(resolver, ['relayReservedConcurrency'])).relayReservedConcurrency,
};
