import { type Environment, processEnv } from '../runtime/env';
import type { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { type GetSecretValue, SecretsManagerError, signedGetSecretValue } from './secrets-manager-http';
import type { SecretBackend } from './store';

/**
 * Reads AWSCURRENT / AWSPREVIOUS with GetSecretValue rather than Powertools Parameters: Parameters caches by secret
 * name only, so the two stages of one secret would share a cache entry, and it costs ~35 ms more cold start
 * (docs/decisions.md). The endpoint honours AWS_ENDPOINT_URL_SECRETS_MANAGER, which the tests use.
 */
export function secretsManagerBackend(getSecretValue: GetSecretValue): SecretBackend {
  return {
    async read(ref, stage) {
      try {
        const out = await getSecretValue(ref.id, stage === 'current' ? 'AWSCURRENT' : 'AWSPREVIOUS');
        const value =
          out.SecretString ?? (out.SecretBinary ? Buffer.from(out.SecretBinary, 'base64').toString('utf8') : undefined);
        if (value === undefined) throw new Error(`secret ${ref.text} has no value`);
        return { value, ...(out.VersionId ? { versionId: out.VersionId } : {}) };
      } catch (error) {
        // A secret that was never rotated has no AWSPREVIOUS version: that is normal, not a failure.
        if (stage === 'previous' && error instanceof SecretsManagerError && error.type === 'ResourceNotFoundException')
          return undefined;
        throw error;
      }
    },
  };
}

/** Bounds of the SDK client: two attempts of at most 2 s each, so a slow Secrets Manager cannot eat the delivery. */
const sdkClientOptions = { maxAttempts: 2, requestHandler: { connectionTimeout: 1000, requestTimeout: 2000 } } as const;

/**
 * GetSecretValue through the AWS SDK, loaded on first use (in the Lambda bundle a chunk of its own, scripts/build.mjs):
 * for credentials the environment does not hold (profiles, SSO, container credentials), which the SDK's chain
 * resolves. Its errors are mapped to SecretsManagerError so the backend reads one error type.
 */
export function sdkGetSecretValue(client?: SecretsManagerClient): GetSecretValue {
  let loaded:
    Promise<{ sdk: typeof import('@aws-sdk/client-secrets-manager'); client: SecretsManagerClient }> | undefined;
  return async (secretId, stage) => {
    loaded ??= import('@aws-sdk/client-secrets-manager').then((sdk) => ({
      sdk,
      client: client ?? new sdk.SecretsManagerClient(sdkClientOptions),
    }));
    loaded.catch(() => (loaded = undefined));
    const { sdk, client: c } = await loaded;
    try {
      const out = await c.send(new sdk.GetSecretValueCommand({ SecretId: secretId, VersionStage: stage }));
      return {
        ...(out.SecretString !== undefined ? { SecretString: out.SecretString } : {}),
        ...(out.SecretBinary ? { SecretBinary: Buffer.from(out.SecretBinary).toString('base64') } : {}),
        ...(out.VersionId ? { VersionId: out.VersionId } : {}),
      };
    } catch (error) {
      if (error instanceof sdk.SecretsManagerServiceException)
        throw new SecretsManagerError(error.name, error.message, error.$metadata.httpStatusCode ?? 0);
      throw error;
    }
  };
}

/** What the relay uses: the signed HTTPS client when the environment holds credentials (Lambda), else the SDK. */
export function defaultGetSecretValue(env: Environment = processEnv()): GetSecretValue {
  return signedGetSecretValue(env) ?? sdkGetSecretValue();
}
