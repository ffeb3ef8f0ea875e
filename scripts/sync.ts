/**
 * Runs the sync from a shell with the same code as the scheduled Lambda:
 *
 *   npm run sync -- --dry-run                      # print the plan, change nothing
 *   npm run sync -- --config relay.config.yaml     # apply
 *   npm run sync -- --uninstall --dry-run          # list every relay hook the sync manages; without --dry-run, remove them
 *
 * Secrets are read as the Lambda reads them (aws-sm: through your AWS credentials, env:/file: locally).
 */
import { parseArgs } from 'node:util';
import { loadConfig } from '../lib/config/load';
import { loggableFields } from '../lib/observability/delivery-log';
import { HttpsCluster } from '../lib/kube/https-cluster';
import { createRelayDeps } from '../lib/runtime/relay-deps';
import { runSync } from '../lib/sync/run';
import { createSyncDeps } from '../lib/sync/runtime';
import type { PruneMode } from '../lib/sync/prune';
import { DynamoDbSyncMemory } from '../lib/sync/state/dynamodb';
import { FileSyncMemory } from '../lib/sync/state/file';
import { syncStateTable } from '../lib/runtime/env';

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      'dry-run': { type: 'boolean', default: false },
      config: { type: 'string' },
      'public-url': { type: 'string' },
      'timeout-seconds': { type: 'string', default: '600' },
      prune: { type: 'string' },
      uninstall: { type: 'boolean', default: false },
      state: { type: 'string' },
      help: { type: 'boolean', short: 'h', default: false },
    },
  });
  if (values.help) {
    console.log(
      [
        'usage: npm run sync -- [--dry-run] [--config relay.config.yaml] [--public-url https://...] [--timeout-seconds 600]',
        '                       [--prune=true|false|force] [--uninstall] [--state relay-sync-state.json]',
        '  --prune      override sync.prune for this run; force also passes the guard against a desired set shrinking by half',
        '  --uninstall  remove every relay hook the sync manages (with --dry-run: list them)',
        '  --state      the managed-state record: RELAY_SYNC_STATE_TABLE (DynamoDB) when set, else this JSON file',
      ].join('\n'),
    );
    return;
  }
  const pruneFlags: Record<string, PruneMode> = { true: 'on', false: 'off', force: 'force' };
  const prune = values.prune === undefined ? undefined : pruneFlags[values.prune];
  if (values.prune !== undefined && !prune)
    throw new Error(`--prune must be true, false or force, not ${values.prune}`);
  const table = syncStateTable();
  const memory = table ? new DynamoDbSyncMemory(table) : new FileSyncMemory(values.state ?? 'relay-sync-state.json');
  const config = loadConfig(values.config ?? process.env.RELAY_CONFIG ?? 'relay.config.yaml');
  const relay = createRelayDeps({
    config,
    log: () => undefined,
    // One discovery list per run: a watch-fed index would only hold a connection open until the process exits.
    clusterFactory: (options) => new HttpsCluster({ ...options, index: false, spareConnections: false }),
  });
  const publicUrl = values['public-url'] ?? process.env.RELAY_PUBLIC_URL;
  const deps = createSyncDeps({
    config,
    relay,
    ...(publicUrl ? { publicUrl } : {}),
    deadline: Date.now() + Number(values['timeout-seconds']) * 1000,
    dryRun: values['dry-run'] ?? false,
    memory,
    ...(prune ? { prune } : {}),
    ...(values.uninstall ? { uninstall: true } : {}),
    log: (level, message, fields) => {
      if (message === 'hook change') return; // printed below as plan lines
      if (level !== 'info') console.error(`${level}: ${message} ${JSON.stringify(loggableFields(fields))}`);
    },
  });
  const report = await runSync(deps);
  for (const entry of report.plan) console.log(`${entry.registration.padEnd(16)} ${entry.line}`);
  for (const r of report.registrations) {
    const counts =
      Object.entries(r.actions)
        .filter(([, n]) => n > 0)
        .map(([k, n]) => `${k} ${n}`)
        .join(', ') || 'nothing to do';
    console.log(
      `${r.registration}: ${r.targets} target(s): ${counts}; ${r.calls} API calls, ${r.writes} writes${r.redelivered ? `, ${r.redelivered} redelivered` : ''}${r.deferred ? `, ${r.deferred} deferred` : ''}`,
    );
    if (r.deferredReason) console.log(`  deferred: ${r.deferredReason}`);
    if (r.pruneHeld) console.log(`  pruning held: ${r.pruneHeld}`);
    for (const f of loggableFields(r.failures)) console.log(`  failed ${f.target}: ${f.error}`);
  }
  console.log(report.dryRun ? 'dry run: nothing was changed' : 'applied');
  if (report.registrations.some((r) => r.failures.length > 0)) process.exitCode = 1;
}

main().catch((error: unknown) => {
  console.error((error as Error).message);
  process.exitCode = 1;
});
