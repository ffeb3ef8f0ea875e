'use strict';
/**
 * The scheduled sync function (functions/sync.ts) exists only for a configuration with `sync.registrations`
 * (relay-config.cjs's syncDeployed): without one it has nothing to do.
 *
 *   functions:
 *     sync: ${file(./infra/serverless/sync.cjs):function, null}   # custom.syncFunction, or null (osls drops it)
 *   custom:
 *     syncFunction:
 *       events:
 *         - schedule: ${file(./infra/serverless/sync.cjs):schedule, null}
 *
 * osls resolves every variable of serverless.yml, custom.syncFunction's too, whether or not it is used: hence the
 * `null` fallbacks. An environment variable that resolves to null (RELAY_FORMER_PUBLIC_URLS without a custom domain)
 * is removed here: osls leaves it out of the template but hashes it into the Lambda version's logical id, so the mere
 * null would give the default stack a new AWS::Lambda::Version.
 */
const { relayContext, syncDeployed, RelayDeployError } = require('./relay-config.cjs');

// What osls's schedule event accepts (lib/plugins/aws/package/compile/events/schedule.js), stricter than the
// configuration's own check (`rate(...)` or `cron(...)`): checked here so that the message names sync.schedule.
const rate = /^rate\((?:1 (?:minute|hour|day)|(?:1\d+|[2-9]\d*) (?:minute|hour|day)s)\)$/;
const cron = /^cron\(\S+ \S+ \S+ \S+ \S+ \S+\)$/;

/** `sync.schedule` (the parser defaults it to rate(15 minutes)), or null when the sync is not deployed. */
function syncSchedule(config) {
  if (!syncDeployed(config)) return null;
  const expression = config.sync.schedule;
  if (!rate.test(expression) && !cron.test(expression)) {
    throw new RelayDeployError(
      `sync.schedule: ${JSON.stringify(expression)} is not an EventBridge schedule expression; use rate(1 minute), rate(<n> minutes|hours|days) or cron(<6 fields>)`,
    );
  }
  return expression;
}

module.exports = {
  syncSchedule,
  schedule: async (resolver) => syncSchedule((await relayContext(resolver)).config),
  function: async (resolver) => {
    const { config } = await relayContext(resolver);
    if (!syncDeployed(config)) return null;
    const definition = await resolver.resolveConfigurationProperty(['custom', 'syncFunction']);
    const environment = Object.fromEntries(
      Object.entries(definition.environment ?? {}).filter(([, value]) => value !== null && value !== undefined),
    );
    return { ...definition, environment };
  },
};
