import type { RelayConfig } from '../config/schema';
import type { RelayDeps } from '../delivery/relay';
import type { HookApiOptions } from './hook-api';
import { apiUrlProblem } from './api-url';
import { createHookApi } from './providers';
import type { SyncMemory } from './memory';
import type { PruneMode } from './prune';
import type { SyncDeps } from './run';

export interface SyncRuntimeOptions {
  config: RelayConfig;
  /** The relay's shared dependencies (secret store, cluster registry): the sync reads the same secrets and clusters. */
  relay: Pick<RelayDeps, 'secrets' | 'clusters'>;
  /** `RELAY_PUBLIC_URL` (set by the deploy: the HTTP API's URL, or https://<domainName>) wins over `sync.publicUrl`. */
  publicUrl?: string;
  /**
   * `RELAY_FORMER_PUBLIC_URLS`: URLs the relay was public under before, whose hooks the sync moves to `publicUrl` (the
   * deploy names the HTTP API's own URL there when a custom domain is set). https, like the public URL.
   */
  formerPublicUrls?: readonly string[];
  deadline: number;
  dryRun: boolean;
  log: SyncDeps['log'];
  now?: () => number;
  /**
   * What runs remember (targets' check times and list ETags, rate budgets). Default: this run's only. The scheduled
   * function passes one that outlives the run; the managed-state record is where it is meant to be kept.
   */
  memory?: SyncMemory;
  /** `npm run sync -- --prune=...`: overrides `sync.prune` for this run. */
  prune?: PruneMode;
  /** `npm run sync -- --uninstall`: remove every relay hook the sync manages, create nothing. */
  uninstall?: boolean;
  /** For tests: a fetch, clock and sleep for the provider clients. */
  http?: Partial<Omit<HookApiOptions, 'allowHttpLoopback'>>;
}

export function createSyncDeps(options: SyncRuntimeOptions): SyncDeps {
  const publicUrl = options.publicUrl ?? options.config.sync?.publicUrl;
  if (!publicUrl) throw new Error("the sync needs the relay's public URL: set sync.publicUrl or RELAY_PUBLIC_URL");
  const publicUrlIssue = apiUrlProblem(publicUrl, options.config.sync?.allowHttpLoopback ?? false);
  if (publicUrlIssue) throw new Error(`the relay's public URL ${publicUrl.slice(0, 200)} ${publicUrlIssue}`);
  const formerPublicUrls = options.formerPublicUrls ?? [];
  for (const url of formerPublicUrls) {
    const issue = apiUrlProblem(url, options.config.sync?.allowHttpLoopback ?? false);
    if (issue) throw new Error(`the relay's former public URL ${url.slice(0, 200)} ${issue}`);
  }
  return {
    config: options.config,
    publicUrl,
    formerPublicUrls,
    secrets: options.relay.secrets,
    clusterClient: (name) => options.relay.clusters.clientFor(name),
    // Loopback http: only by the configuration's explicit allowance, never by a test's client options.
    hookApi: (registration, credential, deadline, extra = {}) =>
      createHookApi(registration, credential, deadline, {
        ...options.http,
        ...extra,
        allowHttpLoopback: options.config.sync?.allowHttpLoopback ?? false,
      }),
    ...(options.memory ? { memory: options.memory } : {}),
    ...(options.prune ? { prune: options.prune } : {}),
    ...(options.uninstall ? { uninstall: true } : {}),
    now: options.now ?? Date.now,
    deadline: options.deadline,
    dryRun: options.dryRun,
    log: options.log,
  };
}
