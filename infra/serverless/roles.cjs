'use strict';
/**
 * One IAM role per function, instead of the single role osls shares between all functions:
 *
 *   resources:
 *     Resources: ${file(./infra/serverless/roles.cjs):roles}
 *   functions.<fn>.role: <Fn>Role
 *
 * Each role may be assumed by Lambda only and allows exactly two things: writing to its own function's log group
 * (osls's `<Fn>LogGroup`; no CreateLogGroup, the stack creates it) and `secretsmanager:GetSecretValue` on the secrets
 * that function reads (secret-arns.cjs decides which and builds the ARNs; never a `*`). `SyncRole` exists only when
 * the sync function does (relay-config.cjs's syncDeployed). No VPC permissions: the functions do not run in a VPC.
 */
const { relayContext, syncDeployed } = require('./relay-config.cjs');
const { functionSecretResources } = require('./secret-arns.cjs');

/** `sync` -> `Sync`: osls's logical-id prefix for a function (its naming.getNormalizedFunctionName for these names). */
const normalized = (fn) => fn.charAt(0).toUpperCase() + fn.slice(1);
const roleLogicalId = (fn) => `${normalized(fn)}Role`;
const logGroupLogicalId = (fn) => `${normalized(fn)}LogGroup`;

function functionRole(fn, secretResources) {
  const statements = [
    {
      // `:*` covers the group's log streams (AWS's documented scoping of Lambda's logging permissions); `Ref` of an
      // AWS::Logs::LogGroup is its name, /aws/lambda/<service>-<stage>-<fn>.
      Effect: 'Allow',
      Action: ['logs:CreateLogStream', 'logs:PutLogEvents'],
      Resource: { 'Fn::Sub': `arn:\${AWS::Partition}:logs:\${AWS::Region}:\${AWS::AccountId}:log-group:\${${logGroupLogicalId(fn)}}:*` },
    },
  ];
  // An empty Resource list is invalid IAM; it happens only offline, when every secret is an env:/file: reference.
  if (secretResources.length > 0) statements.push({ Effect: 'Allow', Action: 'secretsmanager:GetSecretValue', Resource: secretResources });
  return {
    Type: 'AWS::IAM::Role',
    Properties: {
      AssumeRolePolicyDocument: {
        Version: '2012-10-17',
        Statement: [{ Effect: 'Allow', Principal: { Service: 'lambda.amazonaws.com' }, Action: 'sts:AssumeRole' }],
      },
      Policies: [{ PolicyName: fn, PolicyDocument: { Version: '2012-10-17', Statement: statements } }],
    },
  };
}

/** The role resources for a parsed configuration: `RelayRole`, and `SyncRole` when the sync is deployed. */
function functionRoles(config, { local = false } = {}) {
  const secrets = functionSecretResources(config, { local });
  const roles = { [roleLogicalId('relay')]: functionRole('relay', secrets.relay) };
  if (syncDeployed(config)) roles[roleLogicalId('sync')] = functionRole('sync', secrets.sync);
  return roles;
}

module.exports = {
  functionRoles,
  roles: async (resolver) => {
    const { config, local } = await relayContext(resolver);
    return functionRoles(config, { local });
  },
};
