import { namedVariable } from '../runtime/env';
import { readFile } from 'node:fs/promises';
import { homedir } from 'node:os';
import type { Clock } from '../time/clock';
import { describeError } from '../delivery/errors';
import { registerSecret } from '../observability/redact';
import { onceEach, type Warn, type WarnOnce } from '../observability/warn';
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
      const value = namedVariable(ref.id);
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

const stages = ['current', 'previous'] as const;

function cacheKeyOf(ref: SecretRef, stage: SecretStage): string {
  return `${stage}\u0000${ref.scheme}:${ref.id}`;
}

function warningFields(ref: SecretRef, stage: SecretStage, reason: string): Record<string, unknown> {
  return {
    secret: ref.text,
    stage: ref.scheme === 'aws-sm' ? (stage === 'current' ? 'AWSCURRENT' : 'AWSPREVIOUS') : stage,
    reason,
  };
}

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
  /** Where versions the store will not use are reported (by reference and stage, never by value). Default: nowhere. */
  warn?: Warn;
}

/**
 * A webhook secret (HMAC key, token, bearer token, `user:password`) shorter than this many UTF-8 bytes is never offered
 * as a candidate: an empty key is a placeholder, not a secret (an HMAC keyed with "" is anyone's to compute), and a
 * short one can be guessed. 16 bytes is 128 bits of a random value.
 */
export const minWebhookSecretBytes = 16;

/**
 * After a credential failed against every cached version, the store may re-read the secret (a rotation may have
 * happened since it was cached), but at most once per this interval and secret, whatever the cache TTL, so bad
 * signatures cannot hammer the backend. `invalidate` shares the limit.
 */
export const forcedRereadIntervalMs = 30_000;

/**
 * Caches secret versions for a warm container and hands them out in the order they should be tried: current, then
 * previous, then (rarely) freshly re-read ones. Concurrent callers share one fetch per secret and stage.
 */
export class SecretStore {
  private readonly cache = new Map<string, Entry>();
  private readonly lastForcedRefreshNs = new Map<string, bigint>();
  private readonly warnOnce: WarnOnce;

  constructor(private readonly options: SecretStoreOptions) {
    this.warnOnce = onceEach(options.warn);
  }

  /** The current version (its `#key` selected), e.g. a kubeconfig. Throws if the secret cannot be read. */
  async current(ref: SecretRef): Promise<SecretVersion> {
    const version = await this.get(ref, 'current');
    if (!version) throw new Error(`secret ${ref.text} has no current version`);
    return { ...version, value: selectKey(ref, version.value) };
  }

  /**
   * Yields the candidate values for verifying a credential, lazily: the caller stops at the first that verifies, so
   * the previous version is only fetched when the current one did not match. If none match, the versions are read
   * once more from the backend (the secret may have been rotated while cached), at most once per
   * `forcedRereadIntervalMs`.
   *
   * Throws (the caller answers 503) only when the current version cannot be read or lacks its `#key`, or the previous
   * one cannot be read: a credential signed with that version could not be checked. A previous version without the
   * `#key` (or not JSON) counts as no previous version, and a value shorter than `minWebhookSecretBytes` is not
   * offered, each with a warning; if nothing is offered at all, the caller answers 401. A failed forced re-read is a
   * warning too, and leaves the cached versions in place: they were tried, so the credential is simply not valid.
   */
  async *candidates(ref: SecretRef): AsyncGenerator<string> {
    const tried = new Set<string>();
    for (const stage of stages) {
      const value = this.usable(ref, stage, await this.get(ref, stage));
      if (value === undefined || tried.has(value)) continue;
      tried.add(value);
      yield value;
    }
    if (!this.mayForceRefresh(ref)) return;
    for (const stage of stages) {
      let version: SecretVersion | undefined;
      try {
        version = await this.reread(ref, stage);
      } catch (error) {
        this.warn(
          'webhook secret could not be re-read; the cached versions stay in use',
          ref,
          stage,
          describeError(error),
        );
        return;
      }
      const value = this.usable(ref, stage, version, true);
      if (value === undefined || tried.has(value)) continue;
      tried.add(value);
      yield value;
    }
  }

  /**
   * Forgets the cached versions of a secret so that the next read goes to the backend: a credential made from it was
   * rejected (e.g. a kubeconfig whose service-account token was rotated). Rate-limited like the forced re-read of
   * `candidates`, so a cluster that keeps answering 401 cannot turn every delivery into a Secrets Manager call.
   */
  invalidate(ref: SecretRef): boolean {
    if (!this.mayForceRefresh(ref)) return false;
    for (const stage of stages) this.cache.delete(cacheKeyOf(ref, stage));
    return true;
  }

  private mayForceRefresh(ref: SecretRef): boolean {
    const now = this.options.clock();
    const last = this.lastForcedRefreshNs.get(ref.text);
    if (last !== undefined && now - last < BigInt(forcedRereadIntervalMs) * 1_000_000n) return false;
    this.lastForcedRefreshNs.set(ref.text, now);
    return true;
  }

  /**
   * The value of one version to offer as a candidate, or undefined when that version is not to be tried (see
   * `candidates`). `rereading`: a current version that vanished on a forced re-read is skipped rather than an error,
   * as the cached one was already tried.
   */
  private usable(
    ref: SecretRef,
    stage: SecretStage,
    version: SecretVersion | undefined,
    rereading = false,
  ): string | undefined {
    if (!version) {
      if (stage === 'current' && !rereading) throw new Error(`secret ${ref.text} has no current version`);
      return undefined;
    }
    let value: string;
    try {
      value = selectKey(ref, version.value);
    } catch (error) {
      // The current version is what every provider signs with: not being able to use it is an outage (503). A
      // previous version from before the JSON secret gained this key is simply not a version of this secret.
      if (stage === 'current') throw error;
      this.warnAbout(version, 'previous webhook secret version ignored', ref, stage, (error as Error).message);
      return undefined;
    }
    if (Buffer.byteLength(value, 'utf8') >= minWebhookSecretBytes) return value;
    this.warnAbout(
      version,
      'webhook secret version refused',
      ref,
      stage,
      value === '' ? 'the value is empty' : `the value is shorter than ${minWebhookSecretBytes} bytes`,
    );
    return undefined;
  }

  private warn(message: string, ref: SecretRef, stage: SecretStage, reason: string): void {
    this.options.warn?.(message, warningFields(ref, stage, reason));
  }

  /** About a version, once (per message, reference, stage and version), not on every delivery that meets it. */
  private warnAbout(version: SecretVersion, message: string, ref: SecretRef, stage: SecretStage, reason: string): void {
    this.warnOnce(
      [message, ref.text, stage, version.versionId ?? ''].join('\u0000'),
      message,
      warningFields(ref, stage, reason),
    );
  }

  private get(ref: SecretRef, stage: SecretStage): Promise<SecretVersion | undefined> {
    const cacheKey = cacheKeyOf(ref, stage);
    const now = this.options.clock();
    const cached = this.cache.get(cacheKey);
    const ttlNs = BigInt(this.options.ttlMs) * 1_000_000n;
    if (cached && now - cached.fetchedAtNs < ttlNs) return cached.version;
    const version = this.read(ref, stage);
    this.cache.set(cacheKey, { fetchedAtNs: now, version });
    // A failed read must not be cached, or one Secrets Manager blip would last a whole TTL.
    version.catch(() => {
      if (this.cache.get(cacheKey)?.version === version) this.cache.delete(cacheKey);
    });
    return version;
  }

  /**
   * Reads a version past the cache and caches it only once it was read: a forced re-read that fails (Secrets Manager
   * down) must not evict the cached version, or every delivery would get a 503 for as long as the outage lasts.
   */
  private async reread(ref: SecretRef, stage: SecretStage): Promise<SecretVersion | undefined> {
    const key = cacheKeyOf(ref, stage);
    const cached = this.cache.get(key)?.version.catch(() => undefined);
    const fetchedAtNs = this.options.clock();
    const version = await this.read(ref, stage);
    this.cache.set(key, { fetchedAtNs, version: Promise.resolve(version) });
    // A new current version means the previous label moved too (to the version that was current): a cached previous
    // version is stale, and is read again when next needed.
    const before = await cached;
    if (stage === 'current' && (before?.versionId !== version?.versionId || before?.value !== version?.value)) {
      this.cache.delete(cacheKeyOf(ref, 'previous'));
    }
    return version;
  }

  private read(ref: SecretRef, stage: SecretStage): Promise<SecretVersion | undefined> {
    // Every value read is registered for redaction before any caller sees it, so no log line or answer can carry it
    // (lib/observability/redact.ts; JSON fields and kubeconfig credentials included).
    return this.backendFor(ref)
      .read(ref, stage)
      .then((read) => {
        if (read) registerSecret(read.value);
        return read;
      });
  }

  private backendFor(ref: SecretRef): SecretBackend {
    if (ref.scheme === 'aws-sm') {
      if (!this.options.awsSecretsManager) throw new Error('no AWS Secrets Manager backend is configured');
      return this.options.awsSecretsManager;
    }
    return localBackend;
  }
}
