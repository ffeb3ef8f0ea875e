import type { ClusterJob } from '../delivery/reconcile';

/**
 * Where a delivery puts the cluster jobs whose patches failed for reasons that may pass (timeout, 5xx, connection
 * reset, rejected credentials), so that the provider still gets its answer in time and the push is not lost: GitHub
 * and most providers never retry a failed delivery by themselves.
 */
export interface RetryQueue {
  /**
   * Resolves once every job is durably queued; rejects if any could not be (the delivery then answers 502), or when
   * `signal` aborts: the delivery's budget bounds the queueing too, so the provider still gets an answer in time.
   */
  enqueue(jobs: readonly ClusterJob[], signal?: AbortSignal): Promise<void>;
}
