'use strict';
/**
 * `provider.logRetentionInDays` from `--param logRetentionDays=N` (default 30). CLI params arrive as strings and
 * osls's schema wants one of CloudWatch Logs' allowed numbers, so coerce and check here with a clear message.
 */
const { RelayDeployError } = require('./relay-config.cjs');

// https://docs.aws.amazon.com/AmazonCloudWatchLogs/latest/APIReference/API_PutRetentionPolicy.html
const allowed = [1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1827, 2192, 2557, 2922, 3288, 3653];

function logRetentionDays(value) {
  const days = Number(value ?? 30);
  if (!allowed.includes(days)) {
    throw new RelayDeployError(
      `logRetentionDays=${value} is not a CloudWatch Logs retention; use one of ${allowed.join(', ')}`,
    );
  }
  return days;
}

module.exports = {
  logRetentionDays,
  days: async ({ resolveConfigurationProperty }) =>
    logRetentionDays(await resolveConfigurationProperty(['custom', 'relay', 'logRetentionDays'])),
};
