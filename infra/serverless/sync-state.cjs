'use strict';
/**
 * The sync's managed-state record (lib/sync/state/dynamodb.ts), a DynamoDB table deployed with the sync function (a
 * configuration with sync.registrations):
 *
 *   resources.Resources  <- syncStateResources(config) through resources.cjs: SyncStateTable and SyncStatePolicy
 *   custom.syncFunction.environment.RELAY_SYNC_STATE_TABLE: ${file(./infra/serverless/sync-state.cjs):tableEnv, null}
 *
 * One item per registration and target (partition key `registration`, sort key `target`), and the rate budgets under
 * `#budget`. On-demand billing: a run reads each registration once (Query) and writes what changed (BatchWriteItem),
 * every 15 minutes by default, and the table is idle between runs. Encryption at rest is DynamoDB's default. Point-in-time
 * recovery is off: losing the record costs full hook lists on the next run and forgets which absent targets still
 * carry a relay hook (run `npm run sync -- --uninstall` before deleting the stack, README "Keeping webhooks in sync").
 *
 * The sync role gets the item actions the store uses, on that table only: Query, GetItem, PutItem, BatchWriteItem
 * (Put and Delete requests). As a policy of its own attached to SyncRole, like the dedupe table's.
 */
const { relayContext, syncDeployed } = require('./relay-config.cjs');

const tableLogicalId = 'SyncStateTable';
const policyLogicalId = 'SyncStatePolicy';
const itemActions = ['dynamodb:Query', 'dynamodb:GetItem', 'dynamodb:PutItem', 'dynamodb:BatchWriteItem'];

/** The table's key schema, also what the tests create their loopback table with. */
const tableProperties = {
  BillingMode: 'PAY_PER_REQUEST',
  AttributeDefinitions: [
    { AttributeName: 'registration', AttributeType: 'S' },
    { AttributeName: 'target', AttributeType: 'S' },
  ],
  KeySchema: [
    { AttributeName: 'registration', KeyType: 'HASH' },
    { AttributeName: 'target', KeyType: 'RANGE' },
  ],
};

/** `{ SyncStateTable, SyncStatePolicy }`, or `{}` without the sync. */
function syncStateResources(config) {
  if (!syncDeployed(config)) return {};
  return {
    [tableLogicalId]: { Type: 'AWS::DynamoDB::Table', Properties: JSON.parse(JSON.stringify(tableProperties)) },
    [policyLogicalId]: {
      Type: 'AWS::IAM::Policy',
      Properties: {
        PolicyName: 'sync-state',
        Roles: [{ Ref: 'SyncRole' }],
        PolicyDocument: {
          Version: '2012-10-17',
          Statement: [
            { Effect: 'Allow', Action: [...itemActions], Resource: { 'Fn::GetAtt': [tableLogicalId, 'Arn'] } },
          ],
        },
      },
    },
  };
}

/** The sync's RELAY_SYNC_STATE_TABLE: the table's name, or null without the sync. */
function tableEnv(config) {
  return syncDeployed(config) ? { Ref: tableLogicalId } : null;
}

module.exports = {
  itemActions,
  tableProperties,
  syncStateResources,
  tableEnv: async (resolver) => tableEnv((await relayContext(resolver)).config),
  resources: async (resolver) => syncStateResources((await relayContext(resolver)).config),
};
