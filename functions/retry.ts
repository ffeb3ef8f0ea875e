import { Logger } from '@aws-lambda-powertools/logger';
import { Metrics } from '@aws-lambda-powertools/metrics';
import type { SQSBatchResponse, SQSEvent } from 'aws-lambda';
import { retryDeadLetterQueueUrl, retryMaxReceiveCount, retryQueueUrl } from '../lib/runtime/env';
import { loadConfig } from '../lib/config/load';
import { loggableFields } from '../lib/observability/delivery-log';
import { metricsNamespace, publishMetrics, retryMetrics } from '../lib/observability/metrics';
import { LazySqs, SqsQueue } from '../lib/retry/sqs';
import { priorAttemptsAttribute, processRetryBatch, type RetryWorkerDeps } from '../lib/retry/worker';
import { createRelayDeps } from '../lib/runtime/relay-deps';

const logger = new Logger({ serviceName: 'flux-webhook-relay-retry' });
const metrics = new Metrics({ namespace: metricsNamespace, serviceName: 'flux-webhook-relay-retry' });
// Cold start: a bad configuration or environment fails the init phase; Lambda then fails the batch and SQS's
// redrive policy eventually dead-letters its records, so nothing is lost while the deploy is fixed.
const config = loadConfig();
// The same secret cache and cluster clients as the relay: the kubeconfigs are read and the clients built the same way.
const relay = createRelayDeps({ config, log: () => undefined });
const sqs = new LazySqs();
const retryQueue = new SqsQueue(required('RELAY_RETRY_QUEUE_URL', retryQueueUrl()), sqs);
const deadLetterQueue = new SqsQueue(required('RELAY_RETRY_DLQ_URL', retryDeadLetterQueueUrl()), sqs);
const deps: RetryWorkerDeps = {
  config,
  clusters: relay.clusters,
  clock: relay.clock,
  // serverless.yml sets it from the same value as the queue's redrive policy.
  maxReceiveCount: positiveInteger('RELAY_RETRY_MAX_RECEIVE_COUNT', retryMaxReceiveCount()),
  queue: {
    requeue: (messages) => retryQueue.send(messages),
    deadLetter: (messages) => deadLetterQueue.send(messages),
    changeVisibility: (handle, seconds) => retryQueue.changeVisibility(handle, seconds),
  },
  // Redacted like the relay's delivery line: a cluster's error text can echo a credential the SecretStore registered.
  log: (level, summary) => logger[level]('retry', loggableFields({ ...summary })),
};

function required(name: string, value: string | undefined): string {
  if (!value) {
    logger.error('missing environment', { variable: name });
    throw new Error(`${name} is not set`);
  }
  return value;
}

function positiveInteger(name: string, raw: string | undefined): number {
  const value = required(name, raw);
  if (!/^[1-9]\d*$/.test(value)) throw new Error(`${name}=${value} is not a positive whole number`);
  return Number(value);
}

/**
 * SQS event source (batch, ReportBatchItemFailures) → lib/retry/worker.ts. One log line per record, one metrics
 * document per batch. Nothing else happens here.
 */
export async function handler(event: SQSEvent): Promise<SQSBatchResponse> {
  const messages = event.Records.map((record) => ({
    messageId: record.messageId,
    body: record.body,
    receiptHandle: record.receiptHandle,
    receiveCount: record.attributes?.ApproximateReceiveCount,
    priorAttempts: record.messageAttributes?.[priorAttemptsAttribute]?.stringValue,
  }));
  const { comeBack, records } = await processRetryBatch(messages, deps);
  publishMetrics(metrics, retryMetrics(records));
  return { batchItemFailures: comeBack.map((itemIdentifier) => ({ itemIdentifier })) };
}
