import {
  GetSecretValueCommand,
  ResourceNotFoundException,
  type SecretsManagerClient,
} from '@aws-sdk/client-secrets-manager';
import type { SecretBackend } from './store';

/**
 * Reads AWSCURRENT / AWSPREVIOUS straight through the SDK client rather than Powertools Parameters: Parameters caches
 * by secret name only, so the two stages of one secret would share a cache entry, and it costs ~35 ms more cold start
 * (../shared/reference/toolchain.md). The endpoint honours AWS_ENDPOINT_URL_SECRETS_MANAGER, which the tests use.
 */
export function secretsManagerBackend(client: SecretsManagerClient): SecretBackend {
  return {
    async read(ref, stage) {
      try {
        const out = await client.send(
          new GetSecretValueCommand({ SecretId: ref.id, VersionStage: stage === 'current' ? 'AWSCURRENT' : 'AWSPREVIOUS' }),
        );
        const value = out.SecretString ?? (out.SecretBinary ? Buffer.from(out.SecretBinary).toString('utf8') : undefined);
        if (value === undefined) throw new Error(`secret ${ref.text} has no value`);
        return { value, ...(out.VersionId ? { versionId: out.VersionId } : {}) };
      } catch (error) {
        // A secret that was never rotated has no AWSPREVIOUS version: that is normal, not a failure.
        if (stage === 'previous' && error instanceof ResourceNotFoundException) return undefined;
        throw error;
      }
    },
  };
}
