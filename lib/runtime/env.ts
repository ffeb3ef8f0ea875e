/**
 * Every environment variable the relay, the retry and the sync functions read, in one place, with its default and
 * meaning. Modules take an `Environment` (default: this process's) instead of reading `process.env` themselves, so a
 * test can hand them its own. serverless.yml sets the RELAY_* and SYNC_* variables; Lambda sets the AWS_* ones.
 */

/** A set of environment variables: `process.env`, or a test's own. */
export type Environment = Readonly<Record<string, string | undefined>>;

/** This process's environment, read when called (tests change it between cases). */
export function processEnv(): Environment {
  return process.env;
}

/** `RELAY_CONFIG`: the relay configuration file. Default: `relay.config.json` beside the bundle, else `relay.config.yaml`. */
export const relayConfigPath = (env: Environment = processEnv()): string | undefined => env.RELAY_CONFIG || undefined;

/** `RELAY_RETRY_QUEUE_URL`: the retry queue; unset means no durable retry (retryable failures are answered 502). */
export const retryQueueUrl = (env: Environment = processEnv()): string | undefined =>
  env.RELAY_RETRY_QUEUE_URL || undefined;

/** `RELAY_RETRY_DLQ_URL`: the retry queue's dead-letter queue (retry function; required there). */
export const retryDeadLetterQueueUrl = (env: Environment = processEnv()): string | undefined =>
  env.RELAY_RETRY_DLQ_URL || undefined;

/** `RELAY_RETRY_MAX_RECEIVE_COUNT`: the retry queue's redrive maxReceiveCount (retry function; required there). */
export const retryMaxReceiveCount = (env: Environment = processEnv()): string | undefined =>
  env.RELAY_RETRY_MAX_RECEIVE_COUNT || undefined;

/** `RELAY_DEDUPE_TABLE`: replay protection's DynamoDB table; set only when some receiver has `dedupe`. */
export const dedupeTableName = (env: Environment = processEnv()): string | undefined =>
  env.RELAY_DEDUPE_TABLE || undefined;

/** `RELAY_PUBLIC_URL`: the relay's public URL for the sync (the deploy sets the HTTP API's); wins over `sync.publicUrl`. */
export const relayPublicUrl = (env: Environment = processEnv()): string | undefined =>
  env.RELAY_PUBLIC_URL || undefined;

/**
 * `RELAY_FORMER_PUBLIC_URLS`: comma-separated URLs the relay was reachable at before (the deploy sets the HTTP API's
 * own URL when the hooks live on a custom domain); the sync moves hooks under them to the current URL.
 */
export const formerRelayPublicUrls = (env: Environment = processEnv()): string[] =>
  (env.RELAY_FORMER_PUBLIC_URLS ?? '')
    .split(',')
    .map((url) => url.trim())
    .filter(Boolean);

/**
 * `RELAY_GOOGLE_CERTS_URL`: where `gcr` receivers fetch Google's public keys; unset means Google's own
 * (lib/auth/google-id-token.ts). Tests point it at a loopback server; anything but https there is refused.
 */
export const googleCertsUrlOverride = (env: Environment = processEnv()): string | undefined =>
  env.RELAY_GOOGLE_CERTS_URL || undefined;

/**
 * `RELAY_SYNC_STATE_TABLE`: the sync's managed-state record (which targets it manages, list ETags, rate budgets), a
 * DynamoDB table the deploy creates with the sync; unset means the function remembers only while warm.
 */
export const syncStateTable = (env: Environment = processEnv()): string | undefined =>
  env.RELAY_SYNC_STATE_TABLE || undefined;

/** `SYNC_DRY_RUN=true`: the scheduled sync plans and reports but changes nothing. */
export const syncDryRun = (env: Environment = processEnv()): boolean => env.SYNC_DRY_RUN === 'true';

/**
 * `AWS_LAMBDA_INITIALIZATION_TYPE`: set by Lambda (on-demand, provisioned-concurrency, snap-start) during a
 * function's init phase and after; its presence means "running on Lambda", where init warm-up pays off.
 */
export const inLambda = (env: Environment = processEnv()): boolean => (env.AWS_LAMBDA_INITIALIZATION_TYPE ?? '') !== '';

/** AWS credentials; the secret key and session token must never reach a message. */
export interface AwsCredentials {
  accessKeyId: string;
  secretAccessKey: string;
  sessionToken?: string;
}

/**
 * `AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY`, `AWS_SESSION_TOKEN`: the credentials Lambda gives every function, or
 * undefined where none are set (then the SDK's credential chain decides, e.g. on a developer's machine).
 */
export function awsCredentials(env: Environment = processEnv()): AwsCredentials | undefined {
  const accessKeyId = env.AWS_ACCESS_KEY_ID;
  const secretAccessKey = env.AWS_SECRET_ACCESS_KEY;
  if (!accessKeyId || !secretAccessKey) return undefined;
  return { accessKeyId, secretAccessKey, ...(env.AWS_SESSION_TOKEN ? { sessionToken: env.AWS_SESSION_TOKEN } : {}) };
}

/** `AWS_REGION` (set by Lambda), else `AWS_DEFAULT_REGION`. */
export const awsRegion = (env: Environment = processEnv()): string | undefined =>
  env.AWS_REGION || env.AWS_DEFAULT_REGION || undefined;

/**
 * An explicit endpoint for an AWS service, as the SDKs read it: the service-specific variable (`AWS_ENDPOINT_URL_EKS`,
 * `AWS_ENDPOINT_URL_STS`, `AWS_ENDPOINT_URL_SECRETS_MANAGER`), then `AWS_ENDPOINT_URL` ("Service-specific endpoints",
 * https://docs.aws.amazon.com/sdkref/latest/guide/feature-ss-endpoints.html). The tests point these at loopback.
 */
export function awsEndpointUrl(
  service: 'EKS' | 'STS' | 'SECRETS_MANAGER',
  env: Environment = processEnv(),
): string | undefined {
  return env[`AWS_ENDPOINT_URL_${service}`] || env.AWS_ENDPOINT_URL || undefined;
}

/** `AWS_USE_FIPS_ENDPOINT` / `AWS_USE_DUALSTACK_ENDPOINT`: endpoints whose host names only the SDK's rules know. */
export function awsNonDefaultEndpoints(env: Environment = processEnv()): boolean {
  return isTrue(env.AWS_USE_FIPS_ENDPOINT) || isTrue(env.AWS_USE_DUALSTACK_ENDPOINT);
}

/** The value of a variable a configuration names itself (`env:` secret references, local runs only). */
export const namedVariable = (name: string, env: Environment = processEnv()): string | undefined => env[name];

function isTrue(value: string | undefined): boolean {
  return value?.toLowerCase() === 'true';
}
