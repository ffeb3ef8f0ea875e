/**
 * What the sync remembers between runs, per registration and per target: when each target was last checked (so a run
 * that cannot finish leaves the rest, and the targets not checked longest go first next time), its hook list's ETag
 * with the few hook fields the plan reads (so a 304 can be planned without a body), and each rate budget's state.
 *
 * `SyncMemory` is the interface the durable store (the managed-state record: DynamoDB, or a JSON file from a shell)
 * implements; `InMemorySyncMemory` serves tests, the bench, and a warm Lambda until then.
 */
import { createHash } from 'node:crypto';
import type { CachedHook, HookState, HookTarget } from './hook-api';
import { underRelayPrefix } from './plan';

export type { CachedHook } from './hook-api';
import type { PacingSnapshot } from './pacing';

/** What the sync keeps per target. */
export interface TargetMemory {
  /** When the target was last checked to the end (ISO 8601): listed, planned, and every planned write done. */
  checkedAt?: string;
  /** The ETag of the target's hook list (GitHub), when the list fit on one page and the run wrote nothing to it. */
  etag?: string;
  /**
   * The hook list the ETag stands for. Hooks that are not the relay's keep only their URL's origin: another tool's hook
   * URL can itself be a credential, and the plan needs no more than the host to call such a hook foreign.
   */
  hooks?: CachedHook[];
  /** The relay's hook URL prefixes the hooks were sorted by: a list cached under other prefixes is not trusted. */
  scope?: string;
  /**
   * The relay's hook is on this target: made by the sync, or found there (hooks from before the record are adopted on
   * first sight, owned by URL). Only managed targets are ever pruned (lib/sync/prune.ts).
   */
  managed?: boolean;
  /** The relay hook's id when the run knew it (kept or updated; a create's id is learnt on the next list). */
  hookId?: string;
  /** Consecutive runs, with a discovery that succeeded, in which the target was not in the desired set. */
  absentRuns?: number;
}

/** The store behind the sync's memory; every method may throw, and a failed read fails the registration. */
export interface SyncMemory {
  /** Everything kept for one registration's targets, by `targetKey`; read once at the start of its run. */
  targets(registration: string): Promise<ReadonlyMap<string, TargetMemory>>;
  /** What this run learnt of the registration's targets (only the ones it changed), written once at its end. */
  saveTargets(registration: string, changed: ReadonlyMap<string, TargetMemory>): Promise<void>;
  /** Drops targets the sync no longer manages (pruned, uninstalled). */
  forgetTargets(registration: string, keys: readonly string[]): Promise<void>;
  /** A rate budget's state, by `budgetKey` (one per API and token). */
  pacing(key: string): Promise<PacingSnapshot | undefined>;
  savePacing(key: string, snapshot: PacingSnapshot): Promise<void>;
}

/** The memory of a process: what a warm Lambda keeps between runs; tests and the bench share one across runs. */
export class InMemorySyncMemory implements SyncMemory {
  private readonly byRegistration = new Map<string, Map<string, TargetMemory>>();
  private readonly budgets = new Map<string, PacingSnapshot>();

  async targets(registration: string): Promise<ReadonlyMap<string, TargetMemory>> {
    return new Map(
      [...(this.byRegistration.get(registration) ?? new Map<string, TargetMemory>())].map(([k, v]) => [
        k,
        structuredClone(v),
      ]),
    );
  }

  async saveTargets(registration: string, changed: ReadonlyMap<string, TargetMemory>): Promise<void> {
    let entries = this.byRegistration.get(registration);
    if (!entries) this.byRegistration.set(registration, (entries = new Map()));
    for (const [key, value] of changed) entries.set(key, structuredClone(value));
  }

  async forgetTargets(registration: string, keys: readonly string[]): Promise<void> {
    const entries = this.byRegistration.get(registration);
    for (const key of keys) entries?.delete(key);
  }

  async pacing(key: string): Promise<PacingSnapshot | undefined> {
    const snapshot = this.budgets.get(key);
    return snapshot ? structuredClone(snapshot) : undefined;
  }

  async savePacing(key: string, snapshot: PacingSnapshot): Promise<void> {
    this.budgets.set(key, structuredClone(snapshot));
  }
}

/** A target's key in the memory: `owner/repo`, or `org:<name>` for an organisation's hooks. */
export function targetKey(target: HookTarget): string {
  return target.kind === 'organization' ? `org:${target.path}` : target.path;
}

/** A rate budget's key: the API and a digest of the token (never the token itself: the memory is stored). */
export function budgetKey(apiUrl: string, token: string): string {
  return `${apiUrl} ${createHash('sha256').update(token).digest('hex').slice(0, 16)}`;
}

/** The fingerprint of the relay's hook URL prefixes (current and former), for `TargetMemory.scope`. */
export function ownershipScope(prefixes: readonly string[]): string {
  return createHash('sha256')
    .update([...prefixes].sort().join('\n'))
    .digest('hex')
    .slice(0, 12);
}

/** The hooks to keep with an ETag: relay hooks whole, others reduced to their URL's origin. */
export function compactHooks(hooks: readonly HookState[], prefixes: readonly string[]): CachedHook[] {
  return hooks.map((hook) => {
    const relays = underRelayPrefix(hook.url, prefixes);
    const kept: CachedHook = {
      id: hook.id,
      url: relays ? hook.url : originOf(hook.url),
      events: [...hook.events],
      active: hook.active,
    };
    if (hook.contentType !== undefined) kept.contentType = hook.contentType;
    if (hook.lastDeliveryFailed !== undefined) kept.lastDeliveryFailed = hook.lastDeliveryFailed;
    return kept;
  });
}

function originOf(url: string): string {
  try {
    const parsed = new URL(url);
    return parsed.origin === 'null' ? '' : parsed.origin;
  } catch {
    return '';
  }
}

/** Targets in the order a run takes them: never checked first, then the ones checked longest ago; stable otherwise. */
export function fairOrder<T>(items: readonly T[], checkedAt: (item: T) => string | undefined): T[] {
  const time = (item: T) => {
    const at = checkedAt(item);
    const ms = at === undefined ? Number.NaN : Date.parse(at);
    return Number.isNaN(ms) ? Number.NEGATIVE_INFINITY : ms;
  };
  return items
    .map((item, index) => ({ item, index, at: time(item) }))
    .sort((a, b) => a.at - b.at || a.index - b.index)
    .map(({ item }) => item);
}
