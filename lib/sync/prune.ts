/**
 * Which of the targets the sync manages (their relay hook was seen or made by an earlier run, lib/sync/memory.ts) may
 * lose that hook now that they have left the desired set. A pure decision, so its table is tested without a provider:
 * a target must be absent for `afterRuns` consecutive runs whose discovery succeeded, and nothing is counted when
 * discovery failed or the desired set shrank suspiciously (a cluster that answers an empty list must not look like
 * "every GitRepository was deleted").
 */
import type { HookTarget } from './hook-api';
import type { TargetMemory } from './memory';

/** `on` (default), `off` (`--prune=false`, `sync.prune: false`), `force` (past the shrink guard, once). */
export type PruneMode = 'on' | 'off' | 'force';

export interface PruneOptions {
  mode: PruneMode;
  /** Consecutive successful runs a target must be absent before its hook is removed (`sync.pruneAfterRuns`, default 2). */
  afterRuns: number;
  /** Why this run's desired set cannot be trusted to be whole (a cluster's discovery failed); undefined when it can. */
  discoveryFailed?: string;
}

export interface AbsentTarget {
  key: string;
  target: HookTarget;
  /** Consecutive runs absent, this one included. */
  absentRuns: number;
  /** Absent long enough: the relay hook is removed this run. */
  remove: boolean;
}

export interface PruneDecision {
  /** Managed targets absent from the desired set, with their new counts; empty when held. */
  absent: AbsentTarget[];
  /** Why nothing was counted this run, when something was absent: reported on the registration. */
  held?: string;
}

export function decidePrune(
  remembered: ReadonlyMap<string, TargetMemory>,
  desiredKeys: ReadonlySet<string>,
  options: PruneOptions,
): PruneDecision {
  const managed = [...remembered].filter(([, memory]) => memory.managed);
  const gone = managed.filter(([key]) => !desiredKeys.has(key));
  if (gone.length === 0) return { absent: [] };
  const count = `${gone.length} managed target(s) left the desired set`;
  if (options.mode === 'off') return { absent: [], held: `${count}; pruning is off, their hooks are kept` };
  if (options.discoveryFailed)
    return {
      absent: [],
      held: `${count}; not counted, since discovery failed (${options.discoveryFailed}) and the set may be incomplete`,
    };
  // More than half of what the relay manages gone at once looks like a broken discovery, not a cleanup.
  if (options.mode !== 'force' && gone.length > 1 && gone.length * 2 > managed.length)
    return {
      absent: [],
      held: `${gone.length} of ${managed.length} managed targets left the desired set at once; not counted (run with --prune=force if that is intended)`,
    };
  return {
    absent: gone.map(([key, memory]) => {
      const absentRuns = (memory.absentRuns ?? 0) + 1;
      return { key, target: targetOfKey(key), absentRuns, remove: absentRuns >= options.afterRuns };
    }),
  };
}

/** The inverse of memory.ts `targetKey`: `org:<name>` is an organisation, anything else a repository path. */
export function targetOfKey(key: string): HookTarget {
  return key.startsWith('org:')
    ? { kind: 'organization', path: key.slice('org:'.length) }
    : { kind: 'repository', path: key };
}
