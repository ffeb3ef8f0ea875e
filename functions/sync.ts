import { Logger } from '@aws-lambda-powertools/logger';
import { Metrics } from '@aws-lambda-powertools/metrics';
import type { Context, ScheduledEvent } from 'aws-lambda';
import { formerRelayPublicUrls, relayPublicUrl, syncDryRun, syncStateTable } from '../lib/runtime/env';
import { loadConfig } from '../lib/config/load';
import { loggableFields } from '../lib/observability/delivery-log';
import { metricsNamespace, publishMetrics, syncMetrics } from '../lib/observability/metrics';
import { HttpsCluster } from '../lib/kube/https-cluster';
import { createRelayDeps } from '../lib/runtime/relay-deps';
import { runSync, type SyncReport } from '../lib/sync/run';
import { InMemorySyncMemory } from '../lib/sync/memory';
import { DynamoDbSyncMemory } from '../lib/sync/state/dynamodb';
import { createSyncDeps } from '../lib/sync/runtime';

const logger = new Logger({ serviceName: 'flux-webhook-relay-sync' });
const metrics = new Metrics({ namespace: metricsNamespace, serviceName: 'flux-webhook-relay-sync' });
const config = loadConfig();
// The same secret cache and cluster clients as the relay, so a warm container reuses both.
const relay = createRelayDeps({
  config,
  log: () => undefined,
  // One discovery list per run: a watch-fed index would only hold a connection open until the process freezes or exits.
  clusterFactory: (options) => new HttpsCluster({ ...options, index: false, spareConnections: false }),
});

/**
 * The managed-state record (targets managed, list ETags, check times, rate budgets) in the deploy's DynamoDB table;
 * without one (a deploy from before it), only what this container remembers while warm.
 */
const stateTable = syncStateTable();
const memory = stateTable ? new DynamoDbSyncMemory(stateTable) : new InMemorySyncMemory();

/** Stop calling providers this long before the Lambda's timeout, so the run reports instead of being killed. */
const marginMs = 10_000;

/** EventBridge schedule → one sync run. Nothing else happens here. */
export async function handler(_event: ScheduledEvent, context: Context): Promise<SyncReport> {
  const started = Date.now();
  const deps = createSyncDeps({
    config,
    relay,
    ...(relayPublicUrl() ? { publicUrl: relayPublicUrl() } : {}),
    // The deploy sets it to the HTTP API's own URL when the hooks live on a custom domain.
    formerPublicUrls: formerRelayPublicUrls(),
    deadline: started + Math.max(1000, context.getRemainingTimeInMillis() - marginMs),
    dryRun: syncDryRun(),
    memory,
    // Redacted like the relay's lines: provider errors can echo a token or a hook secret the SecretStore registered.
    log: (level, message, fields) => logger[level](message, loggableFields(fields)),
  });
  const report = await runSync(deps);
  logSummary(report, Date.now() - started);
  publishMetrics(metrics, syncMetrics(report));
  return report;
}

/** Exactly one summary line per run: counts per action and provider, and every failure with its reason. */
function logSummary(report: SyncReport, durationMs: number): void {
  const failures = report.registrations.flatMap((r) => r.failures.map((f) => ({ registration: r.registration, ...f })));
  logger[failures.length > 0 ? 'warn' : 'info'](
    'sync run',
    loggableFields({
      dry_run: report.dryRun,
      registrations: report.registrations.map(({ failures: _failures, ...counts }) => counts),
      changes: report.plan.filter((p) => p.change).length,
      failures,
      duration_ms: durationMs,
    }),
  );
}
