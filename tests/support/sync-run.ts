import type { RelayConfig } from '../../lib/config/schema';
import { createRelayDeps } from '../../lib/runtime/relay-deps';
import { runSync, type SyncReport } from '../../lib/sync/run';
import { createSyncDeps, type SyncRuntimeOptions } from '../../lib/sync/runtime';

/** A test's fake clock: the clients wait on it (write spacing, Retry-After) by moving it, not by sleeping. */
export interface FakeSyncClock {
  now: () => number;
  sleep: (ms: number) => Promise<void>;
}

/**
 * One sync run as the scheduled function makes it (a fresh relay's secrets and clusters, the real provider clients),
 * on the test's clock, with the Lambda's 280 s budget; `options` override the rest (dry run, log, public URLs).
 */
export function runSyncOnce(
  config: RelayConfig,
  clock: FakeSyncClock,
  options: Partial<Omit<SyncRuntimeOptions, 'config' | 'relay'>> = {},
): Promise<SyncReport> {
  const relay = createRelayDeps({ config, log: () => undefined });
  return runSync(
    createSyncDeps({
      config,
      relay,
      deadline: clock.now() + 280_000,
      dryRun: false,
      now: clock.now,
      log: () => undefined,
      http: { now: clock.now, sleep: clock.sleep },
      ...options,
    }),
  );
}
