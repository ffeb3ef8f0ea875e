'use strict';
/**
 * One IAM role per function, instead of the single role osls shares between all functions:
 *
 *   resources:
 *     Resources: ${file(./infra/serverless/roles.cjs):roles}
 *   functions.<fn>.role: <Fn>Role
 *
 * Each role may be assumed by Lambda only and allows: writing to its own function's log group (osls's
 * `<Fn>LogGroup`; no CreateLogGroup, the stack creates it), `secretsmanager:GetSecretValue` on the secrets that
 * function reads (secret-arns.cjs decides which and builds the ARNs; never a `*`), and the SQS actions of the durable
 * retry (retry.cjs) on the two queues by ARN: the relay sends to the retry queue; `RetryRole` has what Lambda's SQS
 * event source needs on it (ReceiveMessage, DeleteMessage, GetQueueAttributes: "Execution role permissions", Lambda
 * developer guide, services-sqs-configure) plus ChangeMessageVisibility (backoff) and SendMessage (a narrowed copy),
 * and SendMessage on the dead-letter queue (jobs that failed for good), nothing else. For EKS clusters
 * (`clusters.<name>.eks`), eks-access.cjs adds `eks:DescribeCluster` on exactly those clusters' ARNs and
 * `sts:AssumeRole` on exactly the configured role ARNs, to the roles of the functions that use them. `SyncRole` exists only when
 * the sync function does (relay-config.cjs's syncDeployed); `RegistryEventsRole` only with an `ecr` section
 * (registryEventsDeployed), and it sends to the retry queue like the relay. With `--param vpcSubnetIds=... --param
 * vpcSecurityGroupIds=...` (vpc.cjs) each role also gets the network interface permissions Lambda needs to attach the
 * function to the VPC: the one statement with `Resource: '*'`, by AWS's design (vpc.cjs says why). Without the VPC
 * params there is no such statement. With `--param secretsKmsKeyArns=...` (kms.cjs) each role that reads secrets also
 * gets `kms:Decrypt` on exactly those keys, only through Secrets Manager and only for its own secrets' ARNs.
 */
const { relayContext, syncDeployed, registryEventsDeployed } = require('./relay-config.cjs');
const { deployParams } = require('./deploy-params.cjs');
const { functionSecretResources } = require('./secret-arns.cjs');
const { eniStatement } = require('./vpc.cjs');
const { eksStatements } = require('./eks-access.cjs');
const { kmsDecryptStatement } = require('./kms.cjs');

/** `sync` -> `Sync`: osls's logical-id prefix for a function (its naming.getNormalizedFunctionName for these names). */
const normalized = (fn) => fn.charAt(0).toUpperCase() + fn.slice(1);
const roleLogicalId = (fn) => `${normalized(fn)}Role`;
const logGroupLogicalId = (fn) => `${normalized(fn)}LogGroup`;

const queueArn = (logicalId) => ({ 'Fn::GetAtt': [logicalId, 'Arn'] });

/** The SQS statements of each function's role (none for the sync). */
function sqsStatements(fn) {
  if (fn === 'relay' || fn === 'registryEvents')
    return [{ Effect: 'Allow', Action: 'sqs:SendMessage', Resource: queueArn('RetryQueue') }];
  if (fn === 'retry') {
    return [
      {
        Effect: 'Allow',
        Action: [
          'sqs:ReceiveMessage',
          'sqs:DeleteMessage',
          'sqs:ChangeMessageVisibility',
          'sqs:GetQueueAttributes',
          'sqs:SendMessage',
        ],
        Resource: queueArn('RetryQueue'),
      },
      { Effect: 'Allow', Action: 'sqs:SendMessage', Resource: queueArn('RetryDeadLetterQueue') },
    ];
  }
  return [];
}

function functionRole(fn, secretResources, { vpc = false, eks = [], kmsKeyArns = [] } = {}) {
  const statements = [
    {
      // `:*` covers the group's log streams (AWS's documented scoping of Lambda's logging permissions); `Ref` of an
      // AWS::Logs::LogGroup is its name, /aws/lambda/<service>-<stage>-<fn>.
      Effect: 'Allow',
      Action: ['logs:CreateLogStream', 'logs:PutLogEvents'],
      Resource: {
        'Fn::Sub': `arn:\${AWS::Partition}:logs:\${AWS::Region}:\${AWS::AccountId}:log-group:\${${logGroupLogicalId(fn)}}:*`,
      },
    },
  ];
  // An empty Resource list is invalid IAM; it happens only offline, when every secret is an env:/file: reference.
  if (secretResources.length > 0)
    statements.push({ Effect: 'Allow', Action: 'secretsmanager:GetSecretValue', Resource: secretResources });
  if (secretResources.length > 0 && kmsKeyArns.length > 0)
    statements.push(kmsDecryptStatement(kmsKeyArns, secretResources));
  statements.push(...sqsStatements(fn));
  statements.push(...eks);
  if (vpc) statements.push(eniStatement());
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

/**
 * The role resources for a parsed configuration: `RelayRole`, `RetryRole`, `SyncRole` when the sync is deployed and
 * `RegistryEventsRole` with an `ecr` section;
 * `vpc` when the functions run in a VPC; `kmsKeyArns`, the customer-managed keys the secrets are encrypted with.
 */
function functionRoles(config, { local = false, vpc = false, kmsKeyArns = [] } = {}) {
  const secrets = functionSecretResources(config, { local });
  const role = (fn) => functionRole(fn, secrets[fn], { vpc, eks: eksStatements(config, fn), kmsKeyArns });
  const roles = { [roleLogicalId('relay')]: role('relay'), [roleLogicalId('retry')]: role('retry') };
  if (syncDeployed(config)) roles[roleLogicalId('sync')] = role('sync');
  if (registryEventsDeployed(config)) roles[roleLogicalId('registryEvents')] = role('registryEvents');
  return roles;
}

/** The roles for serverless.yml's configuration and params. */
async function resolveRoles(resolver) {
  const { config, local } = await relayContext(resolver);
  const { vpc, secretsKmsKeyArns } = await deployParams(resolver, ['vpc', 'secretsKmsKeyArns']);
  return functionRoles(config, { local, vpc: vpc !== null, kmsKeyArns: secretsKmsKeyArns });
}

module.exports = { functionRoles, resolveRoles, roles: resolveRoles };
