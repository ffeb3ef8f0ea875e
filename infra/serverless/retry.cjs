'use strict';
/**
 * Durable retry of cluster patches that failed for a passing reason (lib/retry/): an SQS standard queue the relay
 * sends each failed cluster job to, the retry function reading it through a Lambda SQS event source mapping, and a
 * dead-letter queue for what could not be applied.
 *
 *   resources.Resources: RetryQueue, RetryDeadLetterQueue (merged in by resources.cjs)
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
 */

/** Receives of one job before SQS moves it to the DLQ; the retry function gets the same number (its last attempt). */
const maxReceiveCount = 8;
/** functions.retry.timeout in serverless.yml. */
const retryFunctionTimeoutSeconds = 30;

function retryQueues() {
  return {
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
