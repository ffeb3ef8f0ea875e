import { readFile } from 'node:fs/promises';
import { homedir } from 'node:os';
import type { Clock } from '../clock';
import { registerSecret } from '../observability/redact';
import { type SecretRef, selectKey } from './ref';

/** One version of a secret. `versionId` lets callers notice a rotation (Secrets Manager VersionId, else absent). */
export interface SecretVersion {
  value: string;
  versionId?: string;
}

/** AWSCURRENT is the version in use; AWSPREVIOUS the one it replaced, kept so hooks signed with it still verify. */
export type SecretStage = 'current' | 'previous';

/** Reads raw secret strings from one backend. `undefined` means "this stage does not exist" (no previous version). */
export interface SecretBackend {
  read(ref: SecretRef, stage: SecretStage): Promise<SecretVersion | undefined>;
}

/** Reads secrets from the environment and files, for local runs. They have no previous version. */
export const localBackend: SecretBackend = {
  async read(ref, stage) {
    if (stage === 'previous') return undefined;
    if (ref.scheme === 'env') {
      const value = process.env[ref.id];
      if (value === undefined) throw new Error(`environment variable ${ref.id} is not set`);
      return { value };
    }
    if (ref.scheme === 'file') {
      const path = ref.id.startsWith('~/') ? `${homedir()}${ref.id.slice(1)}` : ref.id;
      // Editors and `echo x > file` end files with a newline that is not part of the secret (a classic cause of
      // "signature mismatch", argo-cd#11961); kubeconfigs do not care.
      return { value: (await readFile(path, 'utf8')).replace(/\r?\n$/, '') };
    }
    throw new Error(`scheme ${ref.scheme} is not a local secret`);
  },
};

interface Entry {
  fetchedAtNs: bigint;
  version: Promise<SecretVersion | undefined>;
}

export interface SecretStoreOptions {
  /** Backend per scheme; `env` and `file` default to the local backend. */
  awsSecretsManager?: SecretBackend;
  clock: Clock;
  /** How long a fetched value is trusted before it is read again. */
  ttlMs: number;
  /**
   * After a credential failed against every cached version, the store may re-read the secret once (a rotation may
   * have happened since it was cached), but not more often than this, so bad signatures cannot hammer the backend.
   */
  refreshAfterFailureMs: number;
}

/**
 * Caches secret versions for a warm container and hands them out in the order they should be tried: current, then
 * previous, then (rarely) freshly re-read ones. Concurrent callers share one fetch per secret and stage.
 */
export class SecretStore {
  private readonly cache = new Map<string, Entry>();
  private readonly lastForcedRefreshNs = new Map<string, bigint>();

  constructor(private readonly options: SecretStoreOptions) {}

  /** The current version (its `#key` selected), e.g. a kubeconfig. Throws if the secret cannot be read. */
  async current(ref: SecretRef): Promise<SecretVersion> {
    const version = await this.get(ref, 'current', false);
    if (!version) throw new Error(`secret ${ref.text} has no current version`);
    return { ...version, value: selectKey(ref, version.value) };
  }

  /**
   * Yields the candidate values for verifying a credential, lazily: the caller stops at the first that verifies, so
   * the previous version is only fetched when the current one did not match. If none match and the cache is not
   * fresh, the versions are read once more from the backend (the secret may have been rotated while cached).
   */
  async *candidates(ref: SecretRef): AsyncGenerator<string> {
    const tried = new Set<string>();
    for (const forced of [false, true]) {
      if (forced && !this.mayForceRefresh(ref)) return;
      for (const stage of ['current', 'previous'] as const) {
        const version = await this.get(ref, stage, forced);
        if (!version) {
          if (stage === 'current') throw new Error(`secret ${ref.text} has no current version`);
          continue;
        }
        const value = selectKey(ref, version.value);
        if (tried.has(value)) continue;
        tried.add(value);
        yield value;
      }
    }
  }

  /**
   * Forgets the cached versions of a secret so that the next read goes to the backend: a credential made from it was
   * rejected (e.g. a kubeconfig whose service-account token was rotated). Rate-limited like the forced re-read of
   * `candidates`, so a cluster that keeps answering 401 cannot turn every delivery into a Secrets Manager call.
   */
  invalidate(ref: SecretRef): boolean {
    if (!this.mayForceRefresh(ref)) return false;
    for (const stage of ['current', 'previous'] as const) this.cache.delete(`${stage}\u0000${ref.scheme}:${ref.id}`);
    return true;
  }

  private mayForceRefresh(ref: SecretRef): boolean {
    const now = this.options.clock();
    const last = this.lastForcedRefreshNs.get(ref.text);
    if (last !== undefined && now - last < BigInt(this.options.refreshAfterFailureMs) * 1_000_000n) return false;
    this.lastForcedRefreshNs.set(ref.text, now);
    return true;
  }

  private get(ref: SecretRef, stage: SecretStage, forced: boolean): Promise<SecretVersion | undefined> {
    const cacheKey = `${stage}\u0000${ref.scheme}:${ref.id}`;
    const now = this.options.clock();
    const cached = this.cache.get(cacheKey);
    const ttlNs = BigInt(this.options.ttlMs) * 1_000_000n;
    if (cached && !forced && now - cached.fetchedAtNs < ttlNs) return cached.version;
    // Every value read is registered for redaction before any caller sees it, so no log line or answer can carry it
    // (lib/observability/redact.ts; JSON fields and kubeconfig credentials included).
    const version = this.backendFor(ref)
      .read(ref, stage)
      .then((read) => {
        if (read) registerSecret(read.value);
        return read;
      });
    this.cache.set(cacheKey, { fetchedAtNs: now, version });
    // A failed read must not be cached, or one Secrets Manager blip would last a whole TTL.
    version.catch(() => {
      if (this.cache.get(cacheKey)?.version === version) this.cache.delete(cacheKey);
    });
    return version;
  }

  private backendFor(ref: SecretRef): SecretBackend {
    if (ref.scheme === 'aws-sm') {
      if (!this.options.awsSecretsManager) throw new Error('no AWS Secrets Manager backend is configured');
      return this.options.awsSecretsManager;
    }
    return localBackend;
  }
}
