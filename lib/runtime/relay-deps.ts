import { Logger } from '@aws-lambda-powertools/logger';
import type { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { systemClock, type Clock } from '../time/clock';
import type { RelayConfig } from '../config/schema';
import { loggableSummary, type DeliveryLog } from '../observability/delivery-log';
import { createDeliveryDedupe, type DedupeWarn } from '../delivery/dedupe';
import { onceEach, type Warn } from '../observability/warn';
import { ClusterRegistry, type ClusterClientFactory } from '../kube/registry';
import type { RelayDeps } from '../delivery/relay';
import { retryQueueAt } from '../retry/sqs';
import { dedupeTableName, googleCertsUrlOverride, retryQueueUrl } from './env';
import { createGoogleIdTokenVerifier } from '../auth/google-id-token';
import { presentsIssuerToken } from '../providers/names';
import { defaultGetSecretValue, sdkGetSecretValue, secretsManagerBackend } from '../secrets/aws-secrets-manager';
import { SecretStore } from '../secrets/store';

/**
 * The delivery summary as one Powertools JSON line; its level follows the answer (2xx info, 4xx warn, 5xx error).
 * Every string is redacted and bounded first (lib/observability/delivery-log.ts loggableSummary): no secret reaches a log line.
 */
export function powertoolsDeliveryLog(logger: Logger): DeliveryLog {
  return (level, summary) => logger[level]('delivery', { ...loggableSummary(summary) });
}

export interface RuntimeOptions {
  config: RelayConfig;
  log: DeliveryLog;
  clock?: Clock;
  /** An SDK client to read secrets with (tests); default: the signed HTTPS client on Lambda, else the SDK's chain. */
  secretsManager?: SecretsManagerClient;
  clusterFactory?: ClusterClientFactory;
  /**
   * Where replay protection reports that it fell back to applying without it (DynamoDB unreachable, no table), and the
   * secret store a webhook secret version it will not use (empty or short, a previous version without the `#key`, a
   * failed re-read), and the relay a GitRepository that can never match. Default: a Powertools Logger's `warn` with
   * the relay's service name.
   */
  warn?: DedupeWarn;
  /** Replay protection's table; default `RELAY_DEDUPE_TABLE` (./env.ts). */
  dedupeTable?: string;
  /** The SQS retry queue's URL; default RELAY_RETRY_QUEUE_URL. Without one, failures are answered 502 (no queue). */
  retryQueueUrl?: string;
  /** Where gcr receivers fetch Google's keys; default RELAY_GOOGLE_CERTS_URL, else Google's. */
  googleCertsUrl?: string;
}

/**
 * Wires the real dependencies once per container: one Secrets Manager client, one secret cache, one client per
 * cluster, and replay protection and the retry queue where configured, all reused by every warm invocation.
 */
export function createRelayDeps(options: RuntimeOptions): RelayDeps {
  const clock = options.clock ?? systemClock;
  const secrets = new SecretStore({
    // Region, endpoint (AWS_ENDPOINT_URL_SECRETS_MANAGER) and, on Lambda, credentials come from the environment:
    // the signed client when it holds credentials, else the SDK (lib/secrets/secrets-manager-http.ts says why). Two
    // attempts of at most 2 s each either way, so a slow Secrets Manager cannot eat the provider's 10 s delivery
    // timeout: then the delivery gets a 503.
    awsSecretsManager: secretsManagerBackend(
      options.secretsManager ? sdkGetSecretValue(options.secretsManager) : defaultGetSecretValue(),
    ),
    clock,
    ttlMs: options.config.limits.secretCacheTtlSeconds * 1000,
    warn: warnOf(options),
  });
  return {
    config: options.config,
    secrets,
    clusters: new ClusterRegistry(options.config.clusters, secrets, options.clusterFactory),
    clock,
    log: options.log,
    warnOnce: onceEach(warnOf(options)),
    ...dedupeOf(options),
    ...retryOf(options),
    ...idTokensOf(options, clock),
  };
}

/** A verifier of Google's tokens when some receiver's sender presents one (gcr); it fetches nothing until a delivery. */
function idTokensOf(options: RuntimeOptions, clock: Clock): Pick<RelayDeps, 'idTokens'> {
  if (!Object.values(options.config.receivers).some((r) => presentsIssuerToken(r.provider))) return {};
  const certsUrl = options.googleCertsUrl ?? googleCertsUrlOverride();
  return { idTokens: createGoogleIdTokenVerifier({ clock, ...(certsUrl ? { certsUrl } : {}) }) };
}

/** `options.warn`, else a Powertools Logger's `warn` with the relay's service name, made on first use. */
function warnOf(options: RuntimeOptions): Warn {
  if (options.warn) return options.warn;
  let fallback: Logger | undefined;
  return (message, fields) => (fallback ??= new Logger({ serviceName: 'flux-webhook-relay' })).warn(message, fields);
}

/** Replay protection when some receiver has `dedupe` (lib/delivery/dedupe/index.ts loads DynamoDB only when it is used). */
function dedupeOf(options: RuntimeOptions): Pick<RelayDeps, 'dedupe'> {
  const dedupe = createDeliveryDedupe({
    config: options.config,
    tableName: options.dedupeTable ?? dedupeTableName(),
    warn: warnOf(options),
  });
  return dedupe ? { dedupe } : {};
}

/** Durable retry when a queue is configured; its SQS client is created on the first failure to queue (lib/retry/sqs.ts). */
function retryOf(options: RuntimeOptions): Pick<RelayDeps, 'retry'> {
  const retry = retryQueueAt(options.retryQueueUrl ?? retryQueueUrl());
  return retry ? { retry } : {};
}
