'use strict';
/**
 * Everything serverless.yml adds to `resources.Resources`, from one variable (osls takes one value there):
 *
 *   resources:
 *     Resources: ${file(./infra/serverless/resources.cjs):resources}
 *
 * - roles.cjs: RelayRole, RetryRole, SyncRole with the sync, RegistryEventsRole with an `ecr` section;
 * - monitoring.cjs: the alarms, the saved Logs Insights queries and the dashboard;
 * - retry.cjs: the retry queue and its dead-letter queue, and their policies (who may send: registryEvents too when
 *   deployed);
 * - dedupe.cjs: replay protection's DynamoDB table and the relay's policy on it, only when some receiver has dedupe;
 * - sync-state.cjs: the sync's managed-state table and the sync role's policy on it, with the sync;
 * - eks-access.cjs: an EKS access entry per function role and same-account EKS cluster of the configuration;
 * - domain.cjs: the custom domain, its API mapping and Route 53 record, only with --param domainName/certificateArn.
 */
const { resolveRoles } = require('./roles.cjs');
const { monitoring } = require('./monitoring.cjs');
const { retryQueues } = require('./retry.cjs');
const { resources: dedupeResources } = require('./dedupe.cjs');
const { resources: syncStateResources } = require('./sync-state.cjs');
const { deployParams } = require('./deploy-params.cjs');
const { resolveEksAccessEntries } = require('./eks-access.cjs');
const { resources: domainResources } = require('./domain.cjs');
const { relayContext, registryEventsDeployed } = require('./relay-config.cjs');

module.exports = {
  resources: async (resolver) => {
    const [roles, monitored] = await Promise.all([resolveRoles(resolver), monitoring(resolver)]);
    const deduped = await dedupeResources(resolver);
    const syncState = await syncStateResources(resolver);
    const { retryQueueSenders } = await deployParams(resolver, ['retryQueueSenders']);
    const eksAccess = await resolveEksAccessEntries(resolver);
    const domain = await domainResources(resolver);
    const { config } = await relayContext(resolver);
    const queues = retryQueues(retryQueueSenders, { registryEvents: registryEventsDeployed(config) });
    return { ...roles, ...queues, ...monitored, ...deduped, ...syncState, ...eksAccess, ...domain };
  },
};
