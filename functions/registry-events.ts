import { Logger } from '@aws-lambda-powertools/logger';
import { Metrics } from '@aws-lambda-powertools/metrics';
import type { Context, EventBridgeEvent } from 'aws-lambda';
import { loadConfig } from '../lib/config/load';
import { deliveryMetrics, metricsNamespace, publishMetrics } from '../lib/observability/metrics';
import { redact, redactDeep } from '../lib/observability/redact';
import { accountOfFunctionArn } from '../lib/registry-events/ecr-event';
import { handleEcrEvent } from '../lib/registry-events/handle';
import { createRelayDeps, powertoolsDeliveryLog } from '../lib/runtime/relay-deps';

const serviceName = 'flux-webhook-relay-registry-events';
const logger = new Logger({ serviceName });
const metrics = new Metrics({ namespace: metricsNamespace, serviceName });
const deliveryLog = powertoolsDeliveryLog(logger);
// Cold start: an invalid configuration fails the init phase, logged with a message naming each bad field. The same
// secret cache, cluster clients and retry queue as the relay (RELAY_RETRY_QUEUE_URL).
const deps = createRelayDeps({
  config: loadOrLog(),
  log: (level, summary) => {
    deliveryLog(level, summary);
    publishMetrics(metrics, deliveryMetrics(summary));
  },
  warn: (message, fields) => logger.warn(message, redactDeep(fields)),
});

function loadOrLog(): ReturnType<typeof loadConfig> {
  try {
    return loadConfig();
  } catch (error) {
    logger.error('invalid configuration', { error: redact((error as Error).message) });
    throw error;
  }
}

/**
 * EventBridge (an ECR Image Action, asynchronous invocation) → lib/registry-events. Returns normally whatever the
 * event was: the outcome is in the log line, and a thrown error would only make Lambda run the same event again.
 */
export async function handler(event: EventBridgeEvent<string, unknown>, context: Context): Promise<void> {
  await handleEcrEvent(event, deps, { ownAccount: accountOfFunctionArn(context.invokedFunctionArn) });
}
