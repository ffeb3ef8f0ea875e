'use strict';
/**
 * Everything serverless.yml adds to `resources.Resources`, from one variable (osls takes one value there):
 *
 *   resources:
 *     Resources: ${file(./infra/serverless/resources.cjs):resources}
 *
 * - roles.cjs: RelayRole, and SyncRole with the sync;
 * - monitoring.cjs: the alarms, the saved Logs Insights queries and the dashboard.
 */
const { resolveRoles } = require('./roles.cjs');
const { monitoring } = require('./monitoring.cjs');

module.exports = {
  resources: async (resolver) => {
    const [roles, monitored] = await Promise.all([resolveRoles(resolver), monitoring(resolver)]);
    return { ...roles, ...monitored };
  },
};
