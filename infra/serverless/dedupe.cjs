'use strict';
/**
 * Replay protection's DynamoDB table (lib/delivery/dedupe), only when some receiver has `dedupe`:
 *
 *   resources.Resources  <- dedupeResources(config) through resources.cjs: DedupeTable and RelayDedupePolicy
 *   functions.relay.environment.RELAY_DEDUPE_TABLE: ${file(./infra/serverless/dedupe.cjs):tableEnv, null}
 *
 * Without such a receiver: no table, no policy, no variable (osls drops a null environment value).
 *
 * The table is what Powertools Idempotency's DynamoDBPersistenceLayer expects with its defaults: partition key `id`
 * (a string) and the record's expiry, epoch seconds, in `expiration`, which is the TTL attribute here so that old
 * records are deleted by DynamoDB at no cost ("Required resources", Powertools idempotency docs,
 * https://docs.aws.amazon.com/powertools/typescript/latest/features/idempotency/#required-resources). TTL deletes
 * within a few days of the expiry, not at it; Powertools itself treats an expired record as absent, so the window is
 * exact regardless (lib/delivery/dedupe/powertools.ts). On-demand billing: webhook traffic is small and bursty, and an idle
 * table then costs nothing. Encryption at rest is DynamoDB's default (an AWS owned key, no SSESpecification needed).
 * Point-in-time recovery is off: the records are short-lived and losing them only means that a replay within the
 * window would be applied once more.
 *
 * The relay's role gets exactly the four item actions Powertools uses on exactly that table: PutItem (the INPROGRESS
 * record, conditional), GetItem (read the existing record when the put's condition fails), UpdateItem (COMPLETED),
 * DeleteItem (a failed delivery is forgotten). As a policy of its own attached to RelayRole, so that roles.cjs stays
 * as it is for configurations without dedupe.
 */
const { relayContext } = require('./relay-config.cjs');

const tableLogicalId = 'DedupeTable';
const policyLogicalId = 'RelayDedupePolicy';
const itemActions = ['dynamodb:GetItem', 'dynamodb:PutItem', 'dynamodb:UpdateItem', 'dynamodb:DeleteItem'];

/** Whether some receiver asks for replay protection. */
function dedupeDeployed(config) {
  return Object.values(config.receivers).some((receiver) => receiver.dedupe);
}

/** `{ DedupeTable, RelayDedupePolicy }`, or `{}` without dedupe. */
function dedupeResources(config) {
  if (!dedupeDeployed(config)) return {};
  return {
    [tableLogicalId]: {
      Type: 'AWS::DynamoDB::Table',
      Properties: {
        BillingMode: 'PAY_PER_REQUEST',
        AttributeDefinitions: [{ AttributeName: 'id', AttributeType: 'S' }],
        KeySchema: [{ AttributeName: 'id', KeyType: 'HASH' }],
        TimeToLiveSpecification: { AttributeName: 'expiration', Enabled: true },
      },
    },
    [policyLogicalId]: {
      Type: 'AWS::IAM::Policy',
      Properties: {
        PolicyName: 'relay-dedupe',
        Roles: [{ Ref: 'RelayRole' }],
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

/** The relay's RELAY_DEDUPE_TABLE: the table's name (`Ref` of an AWS::DynamoDB::Table), or null without dedupe. */
function tableEnv(config) {
  return dedupeDeployed(config) ? { Ref: tableLogicalId } : null;
}

module.exports = {
  itemActions,
  dedupeDeployed,
  dedupeResources,
  tableEnv: async (resolver) => tableEnv((await relayContext(resolver)).config),
  resources: async (resolver) => dedupeResources((await relayContext(resolver)).config),
};
