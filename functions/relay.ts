import { Logger } from '@aws-lambda-powertools/logger';
import { Metrics } from '@aws-lambda-powertools/metrics';
import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2 } from 'aws-lambda';
import { loadConfig } from '../lib/config/load';
import { lowerCaseHeaders } from '../lib/http/request';
import { deliveryMetrics, metricsNamespace, publishMetrics } from '../lib/observability/metrics';
import { redact, redactDeep } from '../lib/observability/redact';
import { handleDelivery } from '../lib/delivery/relay';
import { createRelayDeps, powertoolsDeliveryLog } from '../lib/runtime/relay-deps';
import { checkLocalSecrets, inLambdaInit, warmUp } from '../lib/runtime/warm-up';

const logger = new Logger({ serviceName: 'flux-webhook-relay' });
const metrics = new Metrics({ namespace: metricsNamespace, serviceName: 'flux-webhook-relay' });
const deliveryLog = powertoolsDeliveryLog(logger);
// Cold start: an invalid configuration fails the init phase, logged with a message naming each bad field.
const deps = createRelayDeps({
  config: loadOrLog(),
  log: (level, summary) => {
    deliveryLog(level, summary);
    publishMetrics(metrics, deliveryMetrics(summary));
  },
  warn: (message, fields) => logger.warn(message, redactDeep(fields)),
});

/**
 * Only in Lambda's init phase (tests load this module too, and count the requests they cause); elsewhere (local
 * runs) only the local secrets are checked. Exported so a test can wait for it; nothing else does: the first delivery
 * shares whatever reads are still in flight.
 */
export const warmedUp: Promise<void> = inLambdaInit() ? warmUp(deps) : checkLocalSecrets(deps);

function loadOrLog(): ReturnType<typeof loadConfig> {
  try {
    return loadConfig();
  } catch (error) {
    logger.error('invalid configuration', { error: redact((error as Error).message) });
    throw error;
  }
}

/** API Gateway HTTP API (payload format 2.0) → the relay core. Nothing else happens here. */
export async function handler(event: APIGatewayProxyEventV2): Promise<APIGatewayProxyStructuredResultV2> {
  return handleDelivery(
    {
      method: event.requestContext.http.method,
      receiver: event.pathParameters?.receiver ?? '',
      // Only the `/hooks/{receiver}/{token}` route has it (serverless.yml).
      ...(event.pathParameters?.token !== undefined ? { pathToken: event.pathParameters.token } : {}),
      headers: lowerCaseHeaders(event.headers),
      body: event.body ?? '',
      isBase64Encoded: event.isBase64Encoded,
    },
    deps,
  );
}
