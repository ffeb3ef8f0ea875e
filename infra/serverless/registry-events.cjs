'use strict';
/**
 * The registryEvents function (functions/registry-events.ts): Amazon ECR pushes through EventBridge. It exists only
 * for a configuration with an `ecr` section (relay-config.cjs's registryEventsDeployed).
 *
 *   functions:
 *     registryEvents: ${file(./infra/serverless/registry-events.cjs):function, null}   # custom.registryEventsFunction or null
 *   custom:
 *     registryEventsFunction:
 *       events:
 *         - eventBridge:
 *             pattern: ${file(./infra/serverless/registry-events.cjs):pattern, null}
 *
 * ECR publishes an "ECR Image Action" event to the default event bus of the registry's own account and region for
 * every push and delete ("Amazon ECR events and EventBridge", Amazon ECR user guide,
 * https://docs.aws.amazon.com/AmazonECR/latest/userguide/ecr-eventbridge.html). The rule (osls compiles it to an
 * AWS::Events::Rule on the default bus and an AWS::Lambda::Permission for events.amazonaws.com with the rule's ARN as
 * SourceArn: only this rule may invoke the function) lets through only successful pushes of the accounts and
 * repositories the configuration accepts, so nothing else costs an invocation. The function checks the same again
 * (lib/registry-events): the rule is a filter, not the authority.
 *
 * Cross-account: a registry in another account or region publishes there, not here. Its events reach this rule only
 * if that account forwards them (a rule on its default bus targeting this account's default bus, which must allow it
 * in its resource policy); list the account in `ecr.accounts`. The stack builds none of that (README, "Amazon ECR").
 */
const { relayContext, registryEventsDeployed } = require('./relay-config.cjs');

/**
 * The rule's event pattern ("Amazon EventBridge event patterns", EventBridge user guide: arrays match any value,
 * `{ prefix }` a prefix). `account`: the configured accounts, else the stack's own (the function's default too).
 */
function eventPattern(ecr) {
  const repositories = ecr.repositories?.map((r) => (r.endsWith('*') ? { prefix: r.slice(0, -1) } : r));
  return {
    source: ['aws.ecr'],
    'detail-type': ['ECR Image Action'],
    account: ecr.accounts ?? [{ Ref: 'AWS::AccountId' }],
    detail: {
      'action-type': ['PUSH'],
      result: ['SUCCESS'],
      ...(repositories ? { 'repository-name': repositories } : {}),
    },
  };
}

module.exports = {
  eventPattern,
  pattern: async (resolver) => {
    const { config } = await relayContext(resolver);
    return registryEventsDeployed(config) ? eventPattern(config.ecr) : null;
  },
  function: async (resolver) => {
    const { config } = await relayContext(resolver);
    if (!registryEventsDeployed(config)) return null;
    return resolver.resolveConfigurationProperty(['custom', 'registryEventsFunction']);
  },
};
