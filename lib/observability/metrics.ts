import type { DeliverySummary } from './delivery-log';
import type { RetryRecordSummary } from '../retry/worker';
import type { SyncReport } from '../sync/run';

/** CloudWatch namespace of every metric the relay and the sync publish (serverless.yml's alarms read these). */
export const metricsNamespace = 'FluxWebhookRelay';

export type MetricUnit = 'Count' | 'Milliseconds';

/** Metrics that share one set of dimensions: published as one EMF document. */
export interface MetricBatch {
  dimensions: Record<string, string>;
  metrics: Array<{ name: string; unit: MetricUnit; value: number }>;
}

/**
 * The metrics of one delivery. Dimensions are low-cardinality on purpose: the provider and the outcome. The receiver,
 * repository and delivery id stay in the log line (CloudWatch bills and indexes every distinct dimension value).
 */
export function deliveryMetrics(summary: DeliverySummary): MetricBatch[] {
  const provider = summary.provider ?? 'none';
  const perProvider: MetricBatch = {
    dimensions: { provider },
    metrics: [
      { name: 'Patches', unit: 'Count', value: summary.patched.length },
      { name: 'PatchFailures', unit: 'Count', value: summary.failed.length },
      { name: 'DeliveryDuration', unit: 'Milliseconds', value: summary.duration_ms },
    ],
  };
  // Patches that failed for a passing reason and went to the retry queue: not failures yet (the DLQ alarm says when
  // they become one). Only when there are some, so the common document keeps its shape.
  if (summary.queued?.length)
    perProvider.metrics.push({ name: 'PatchesQueued', unit: 'Count', value: summary.queued.length });
  if (summary.status === 401) perProvider.metrics.push({ name: 'SignatureRejections', unit: 'Count', value: 1 });
  return [
    { dimensions: { provider, outcome: summary.outcome }, metrics: [{ name: 'Deliveries', unit: 'Count', value: 1 }] },
    perProvider,
  ];
}

/** The metrics of one sync run: changes per provider and action, failures per provider. */
export function syncMetrics(report: SyncReport): MetricBatch[] {
  const batches: MetricBatch[] = [];
  const failures = new Map<string, number>();
  for (const r of report.registrations) {
    if (!report.dryRun) {
      for (const action of ['create', 'update', 'reenable', 'delete'] as const) {
        if (r.actions[action] > 0)
          batches.push({
            dimensions: { provider: r.provider, action },
            metrics: [{ name: 'SyncActions', unit: 'Count', value: r.actions[action] }],
          });
      }
    }
    failures.set(r.provider, (failures.get(r.provider) ?? 0) + r.failures.length);
  }
  for (const [provider, count] of failures)
    batches.push({ dimensions: { provider }, metrics: [{ name: 'SyncFailures', unit: 'Count', value: count }] });
  return batches;
}

/**
 * The metrics of one retry batch, with no dimension but Powertools' `service`: RetryAttempts (records run),
 * RetryApplied (jobs fully applied), RetryExhausted (dead-lettered because their attempts ran out) and
 * RetryDeadLettered (dead-lettered for any reason: exhausted, failed for good, not a job). The receiver and cluster
 * stay in the log line.
 */
export function retryMetrics(records: readonly RetryRecordSummary[]): MetricBatch[] {
  if (records.length === 0) return [];
  const count = (p: (r: RetryRecordSummary) => boolean) => records.filter(p).length;
  return [
    {
      dimensions: {},
      metrics: [
        { name: 'RetryAttempts', unit: 'Count', value: records.length },
        { name: 'RetryApplied', unit: 'Count', value: count((r) => r.outcome === 'applied') },
        {
          name: 'RetryExhausted',
          unit: 'Count',
          value: count((r) => r.outcome === 'dead_letter' && r.exhausted === true),
        },
        { name: 'RetryDeadLettered', unit: 'Count', value: count((r) => r.outcome === 'dead_letter') },
      ],
    },
  ];
}

/** What `publishMetrics` needs of Powertools Metrics (kept narrow so the core does not load Powertools). */
export interface MetricsSink {
  addDimensions(dimensions: Record<string, string>): unknown;
  addMetric(name: string, unit: MetricUnit, value: number): unknown;
  publishStoredMetrics(): unknown;
}

/** One EMF document per batch (one dimension set each). */
export function publishMetrics(sink: MetricsSink, batches: readonly MetricBatch[]): void {
  for (const batch of batches) {
    sink.addDimensions(batch.dimensions);
    for (const metric of batch.metrics) sink.addMetric(metric.name, metric.unit, metric.value);
    sink.publishStoredMetrics();
  }
}
