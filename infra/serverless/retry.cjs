'use strict';
/**
 * Durable retry of cluster patches that failed for a passing reason (lib/retry/): an SQS standard queue the relay
 * sends each failed cluster job to, the retry function reading it through a Lambda SQS event source mapping, and a
 * dead-letter queue for what could not be applied.
 *
 *   resources.Resources: RetryQueue, RetryDeadLetterQueue and their policies (merged in by resources.cjs)
 *   functions.retry.environment.RELAY_RETRY_MAX_RECEIVE_COUNT: ${file(./infra/serverless/retry.cjs):maxReceiveCount}
 *
 * Why SQS and not Lambda async invocation with an on-failure destination: async invocation retries at most twice,
 * with fixed delays of about 1 and 2 minutes, and only when the function fails as a whole; SQS gives a per-job
 * backoff the function chooses (ChangeMessageVisibility / DelaySeconds, up to 15 minutes), per-record results
 * (ReportBatchItemFailures), a bounded number of attempts enforced by the queue itself (the redrive policy), a DLQ
 * that holds the job for 14 days and can be redriven back in one command, and sending a job costs the relay one
 * SendMessageBatch per delivery instead of one Invoke per job.
 *
 * - Both queues encrypt at rest with SQS-managed keys (SqsManagedSseEnabled).
 * - RetryQueue: visibility timeout six times the function's timeout, as the Lambda developer guide recommends for an
 *   SQS event source ("Configuring a queue to use with Lambda"), so a batch still running is never handed out twice;
 *   a job is retried with backoff and moved to the DLQ by the redrive policy after `maxReceiveCount` receives. Four
 *   days' retention is far beyond the ~45 minutes of backoff (lib/retry/backoff.ts).
 * - RetryDeadLetterQueue: 14 days' retention, SQS's maximum, so a DLQ noticed on Monday still holds Friday's jobs.
 *   Its alarm is in monitoring.cjs.
 * - A queue policy on each: an explicit Deny of sqs:SendMessage (which also authorises SendMessageBatch) to every
 *   principal but the functions' roles. Within one account, a principal may act on a queue if its identity policy
 *   or the queue policy allows it, and an explicit Deny in either wins ("Policy evaluation logic", IAM user guide,
 *   https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_evaluation-logic.html). The roles'
 *   own policies (roles.cjs) grant what they need, so the queue policy grants nothing and only takes away: without
 *   it, anyone in the account with `sqs:SendMessage` on `*` (an admin, a CI role) could enqueue a patch. For an
 *   assumed role `aws:PrincipalArn` is the role's ARN, not the session's. A DLQ redrive back to the retry queue
 *   (StartMessageMoveTask) needs SendMessage on the retry queue for whoever starts it: that role goes in
 *   `--param retryQueueSenders` (deploy-params.cjs). The retry function checks every job anyway (lib/retry/job.ts).
 */

/** Receives of one job before SQS moves it to the DLQ; the retry function gets the same number (its last attempt). */
const maxReceiveCount = 8;
/** functions.retry.timeout in serverless.yml. */
const retryFunctionTimeoutSeconds = 30;

/** A policy that denies sqs:SendMessage on `queue` to every principal whose ARN is not one of `senders`. */
function onlySenders(queue, senders) {
  return {
    Type: 'AWS::SQS::QueuePolicy',
    Properties: {
      Queues: [{ Ref: queue }],
      PolicyDocument: {
        Version: '2012-10-17',
        Statement: [
          {
            Sid: 'OnlyTheRelayFunctionsSend',
            Effect: 'Deny',
            Principal: '*',
            Action: 'sqs:SendMessage',
            Resource: { 'Fn::GetAtt': [queue, 'Arn'] },
            Condition: { ArnNotEquals: { 'aws:PrincipalArn': senders } },
          },
        ],
      },
    },
  };
}

const roleArn = (logicalId) => ({ 'Fn::GetAtt': [logicalId, 'Arn'] });

/**
 * The queues and their policies; `extraSenders` are the role ARNs of `--param retryQueueSenders`, `registryEvents`
 * whether the registryEvents function (registry-events.cjs) is deployed: it queues failed jobs like the relay.
 */
function retryQueues(extraSenders = [], { registryEvents = false } = {}) {
  const senders = [
    roleArn('RelayRole'),
    roleArn('RetryRole'),
    ...(registryEvents ? [roleArn('RegistryEventsRole')] : []),
  ];
  return {
    // The relay (and registryEvents) queue failed jobs, the retry function re-queues narrowed copies; nobody else.
    RetryQueuePolicy: onlySenders('RetryQueue', [...senders, ...extraSenders]),
    // Only the retry function dead-letters (SQS's own redrive after maxReceiveCount is no SendMessage of a principal).
    RetryDeadLetterQueuePolicy: onlySenders('RetryDeadLetterQueue', [roleArn('RetryRole')]),
    RetryDeadLetterQueue: {
      Type: 'AWS::SQS::Queue',
      Properties: {
        MessageRetentionPeriod: 1_209_600,
        SqsManagedSseEnabled: true,
      },
    },
    RetryQueue: {
      Type: 'AWS::SQS::Queue',
      Properties: {
        VisibilityTimeout: 6 * retryFunctionTimeoutSeconds,
        MessageRetentionPeriod: 345_600,
        // The long-standing 256 KiB: a job is a few hundred bytes, and lib/retry/sqs.ts batches to this size.
        MaximumMessageSize: 262_144,
        SqsManagedSseEnabled: true,
        RedrivePolicy: { deadLetterTargetArn: { 'Fn::GetAtt': ['RetryDeadLetterQueue', 'Arn'] }, maxReceiveCount },
      },
    },
  };
}

module.exports = {
  maxReceiveCount: String(maxReceiveCount),
  retryFunctionTimeoutSeconds,
  retryQueues,
};
