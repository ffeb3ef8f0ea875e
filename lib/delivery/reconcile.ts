import { isAbortError, untilAborted } from '../time/abort';
import { parseRfc3339Nano } from '../time/clock';
import type { RoutingConfig } from '../config/schema';
import { ClusterCallError, type ClusterClient } from '../kube/cluster-client';
import { listArtifactSources } from '../kube/artifact-sources';
import { type FluxObjectRef, describeTarget, fluxKinds } from '../kube/kinds';
import type { ClusterRegistry } from '../kube/registry';
import { artifactMatches, type PushedArtifact } from '../matching/artifact-routing';
import { refMatches, semverRangeProblem } from '../matching/git-ref';
import { repoKey } from '../matching/repo-url';
import type { WarnOnce } from '../observability/warn';

/**
 * What one cluster must do for one delivery. Serialisable (plain JSON), because a job whose patches failed is queued
 * as is and run again by the retry function, which may be another container hours later.
 */
export interface ClusterJob {
  /** The receiver whose delivery this is; `ecr` for an ECR event (with `source`). */
  receiver: string;
  /**
   * Where the job's routing configuration lives when not in `receivers`: `ecr`, the configuration's `ecr` section
   * (an ECR push through EventBridge, lib/registry-events). Absent: `receivers[receiver]`.
   */
  source?: JobSource;
  cluster: string;
  /** The annotation value of the delivery; a retry writes the same value, so patching twice changes nothing. */
  requestedAt: string;
  /** The message of the Kubernetes Event recorded on each patched object. */
  note: string;
  /** Match GitRepositories on the cluster against these repository identity keys and refs (absent: static only). */
  push?: { keys: string[]; refs: string[] };
  /**
   * A registry push: match OCIRepositories, HelmCharts of OCI HelmRepositories and ImageRepositories on the cluster
   * against these artifacts (repository key, tag, digest; lib/matching/artifact-routing.ts).
   */
  artifacts?: PushedArtifact[];
  /**
   * Only these targets (`cluster/namespace/Kind/name`); absent: everything the job matches. A retry narrows a job to
   * what failed, unless the failure was cluster-wide (kubeconfig or list), when nothing narrower is known.
   */
  only?: string[];
  /** The delivery this job came from, for log lines. */
  deliveryId?: string;
}

/** Event sources that are not a webhook receiver (ClusterJob.source). */
export type JobSource = 'ecr';

/**
 * How a run treats what the objects already carry. A retry runs later than its delivery, and a newer delivery may
 * have written a later requestedAt meanwhile: writing the older value over it would ask Flux for one more reconcile
 * and leave a `flux reconcile` waiting for its own value in the lurch. So a retry reads the value first and leaves a
 * later one alone (counting the target as done: a reconcile at or after the push has been requested).
 */
export interface RunOptions {
  keepLaterRequests?: boolean;
}

export interface FailedTarget {
  target: string;
  error: string;
  /** A later attempt may succeed (timeout, 5xx, connection reset, rejected credentials); see ClusterCallError. */
  retryable: boolean;
}

export interface ClusterOutcome {
  matched: string[];
  patched: string[];
  failed: FailedTarget[];
  /** Kubernetes Events that could not be recorded (not a failure of the delivery). */
  eventsFailed: number;
}

export interface ReconcileDeps {
  clusters: Pick<ClusterRegistry, 'clientFor'> & Partial<Pick<ClusterRegistry, 'reportFailure'>>;
  /** Where a GitRepository of the pushed repository that can never match is reported, once per object. */
  warnOnce?: WarnOnce;
  /** `recordEvents: false` skips the Kubernetes Event beside each patch (default: recorded). */
  config?: { recordEvents?: boolean };
}

/** The jobs of one delivery: one per cluster of the receiver. */
export function jobsFor(
  receiverName: string,
  receiver: RoutingConfig,
  allClusters: readonly string[],
  delivery: {
    source?: JobSource;
    requestedAt: string;
    note: string;
    repositoryUrls?: readonly string[];
    refs?: readonly string[];
    artifacts?: readonly PushedArtifact[];
    deliveryId?: string;
  },
): ClusterJob[] {
  const push = delivery.repositoryUrls
    ? {
        keys: [...new Set(delivery.repositoryUrls.map(repoKey).filter((k): k is string => k !== undefined))],
        refs: [...(delivery.refs ?? [])],
      }
    : undefined;
  return (receiver.clusters ?? allClusters).map((cluster) => ({
    receiver: receiverName,
    ...(delivery.source ? { source: delivery.source } : {}),
    cluster,
    requestedAt: delivery.requestedAt,
    note: delivery.note,
    ...(push ? { push } : {}),
    ...(delivery.artifacts && delivery.artifacts.length > 0
      ? { artifacts: delivery.artifacts.map((a) => ({ ...a })) }
      : {}),
    ...(delivery.deliveryId ? { deliveryId: delivery.deliveryId } : {}),
  }));
}

/**
 * Finds the objects a job concerns on its cluster and patches them all in parallel, each with its Event. Never
 * throws: every failure is reported per target, with whether retrying could help.
 */
export async function reconcileCluster(
  job: ClusterJob,
  receiver: RoutingConfig,
  deps: ReconcileDeps,
  signal: AbortSignal,
  options: RunOptions = {},
): Promise<ClusterOutcome> {
  const { cluster } = job;
  const matched = new Map<string, { target: FluxObjectRef; uid?: string }>();
  const failed: FailedTarget[] = [];
  const only = job.only ? new Set(job.only) : undefined;
  const add = (target: FluxObjectRef, uid?: string) => {
    const name = describeTarget(target);
    if (!only || only.has(name)) matched.set(name, { target, ...(uid ? { uid } : {}) });
  };
  const fail = (target: string, error: unknown) => {
    failed.push(failureOf(target, error));
    if (error instanceof ClusterCallError) deps.clusters.reportFailure?.(cluster, error);
  };

  let client: ClusterClient;
  try {
    // Reading the kubeconfig may call Secrets Manager (an EKS cluster: DescribeCluster, AssumeRole): it counts against the cluster's time too.
    client = await untilAborted(deps.clusters.clientFor(cluster), signal);
  } catch (error) {
    const reason = isAbortError(error)
      ? new ClusterCallError(
          `cluster ${cluster}: kubeconfig (or EKS endpoint) could not be read in time`,
          undefined,
          'timeout',
        )
      : error;
    fail(`${cluster}/*`, reason);
    return { matched: [], patched: [], failed, eventsFailed: 0 };
  }

  if (job.push) {
    const keys = new Set(job.push.keys);
    try {
      // From the client's watch-fed index when it can vouch for it (a key lookup), else a full list.
      const candidates = client.gitRepositoriesFor
        ? await client.gitRepositoriesFor(keys, signal)
        : await client.listGitRepositories(signal);
      for (const repo of candidates) {
        const key = repo.key ?? repoKey(repo.url);
        if (!key || !keys.has(key)) continue;
        const target: FluxObjectRef = {
          cluster,
          apiVersion: 'source.toolkit.fluxcd.io/v1',
          kind: 'GitRepository',
          namespace: repo.namespace,
          name: repo.name,
        };
        // Its owner should hear why it is never reconciled, once rather than on every push.
        const problem = semverRangeProblem(repo.ref);
        if (problem)
          deps.warnOnce?.(`${describeTarget(target)}\u0000${problem}`, 'GitRepository can never match a push', {
            target: describeTarget(target),
            problem,
          });
        if (job.push.refs.some((ref) => refMatches(repo.ref, ref))) add(target, repo.uid);
      }
    } catch (error) {
      // Static targets on this cluster are still worth trying: a list can fail (RBAC, timeout) where a patch works.
      fail(`${cluster}/*/GitRepository/*`, error);
    }
  }
  if (job.artifacts) {
    const { sources, failed: lists } = await listArtifactSources(client, signal);
    // A kind that could not be listed is a cluster-wide failure of that kind (retried whole); the others still route.
    for (const f of lists) fail(`${cluster}/*/${f.kind}/*`, f.error);
    for (const m of artifactMatches(sources, job.artifacts)) {
      add(
        { cluster, apiVersion: fluxKinds[m.kind].apiVersion, kind: m.kind, namespace: m.namespace, name: m.name },
        m.uid,
      );
    }
  }
  await Promise.all(
    receiver.targets
      .filter((t) => t.cluster === cluster)
      .map(async (t) => {
        if (t.name !== '*') return add({ ...t, name: t.name });
        // `name: "*"` selects by label within the namespace, as Flux's Receiver does; none found is not an error.
        try {
          for (const name of await client.listNames(t, t.matchLabels ?? {}, signal)) add({ ...t, name });
        } catch (error) {
          fail(describeTarget(t), error);
        }
      }),
  );

  const patched: string[] = [];
  let eventsFailed = 0;
  const recordEvents = deps.config?.recordEvents ?? true;
  const requestedAtNs = options.keepLaterRequests ? parseRfc3339Nano(job.requestedAt) : undefined;
  await Promise.all(
    [...matched].map(async ([name, { target, uid }]) => {
      if (options.keepLaterRequests && client.requestedAtOf && requestedAtNs !== undefined) {
        try {
          const current = await client.requestedAtOf(target, signal);
          const currentNs = current === undefined ? undefined : parseRfc3339Nano(current);
          if (currentNs !== undefined && currentNs > requestedAtNs) {
            patched.push(name);
            return;
          }
        } catch (error) {
          fail(name, error);
          return;
        }
      }
      const event = { reason: 'WebhookReceived', message: job.note };
      const record = (objectUid: string | undefined) =>
        client.recordEvent({ ...target, ...(objectUid ? { uid: objectUid } : {}) }, event, signal).then(
          () => true,
          () => false,
        );
      // With the uid known from the list, the Event goes out beside the patch instead of after it: one round trip
      // per delivery instead of two. It is only an explanation, so losing it (RBAC without events/create, a slow
      // API) is not a failure, and recording it for a patch that then fails costs nothing worse than a stray note.
      const recorded = recordEvents && uid ? record(uid) : undefined;
      try {
        const result = await client.requestReconcile(target, job.requestedAt, signal);
        patched.push(name);
        if (recordEvents && !(await (recorded ?? record(result.uid)))) eventsFailed += 1;
      } catch (error) {
        await recorded;
        fail(name, error);
      }
    }),
  );
  return { matched: [...matched.keys()], patched, failed, eventsFailed };
}

/**
 * The job a retry must run for some of a job's failures: narrowed to those targets, unless one of them is
 * cluster-wide (a `*` target: the kubeconfig or a list failed), when nothing narrower is known and the whole job
 * stands. Used by the relay when it queues and by the retry function when it re-queues.
 */
export function narrowedTo(job: ClusterJob, failures: readonly FailedTarget[]): ClusterJob {
  if (failures.some((f) => f.target.includes('*'))) return job;
  return { ...job, only: failures.map((f) => f.target).sort() };
}

function failureOf(target: string, error: unknown): FailedTarget {
  if (error instanceof ClusterCallError) return { target, error: error.message, retryable: error.retryable };
  // Anything else (a bug, a kubeconfig the client could not use) would fail the same way again.
  return { target, error: error instanceof Error ? error.message : String(error), retryable: false };
}
