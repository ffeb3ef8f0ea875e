/**
 * When a failed cluster job comes back. Exponential, doubling from `baseSeconds` per attempt up to `capSeconds`,
 * with "equal jitter" (half the step fixed, half random; AWS Architecture Blog, "Exponential Backoff And Jitter"):
 * jobs that failed together (one cluster down, many deliveries) spread out instead of returning in one burst, and
 * never come back at once.
 *
 * The defaults: 30 s, 60 s, 2 min, 4 min, 8 min, 15 min, 15 min (then dead-lettered at the 8th attempt): about 45
 * minutes of trying. Longer adds little: once the cluster is back, Flux's own polling (`spec.interval`) reconciles the
 * source anyway; the webhook only makes it sooner. The cap is 900 s because that is also SQS's largest DelaySeconds,
 * which a narrowed copy of a job is sent with.
 */
export interface BackoffPolicy {
  baseSeconds: number;
  capSeconds: number;
}

export const defaultBackoff: BackoffPolicy = { baseSeconds: 30, capSeconds: 900 };

/** Seconds before attempt `attempt + 1`, after attempt `attempt` (1-based) failed. `random` returns [0, 1). */
export function backoffSeconds(
  attempt: number,
  random: () => number = Math.random,
  policy: BackoffPolicy = defaultBackoff,
): number {
  const step = Math.min(policy.capSeconds, policy.baseSeconds * 2 ** Math.max(0, attempt - 1));
  return Math.min(policy.capSeconds, Math.ceil(step / 2 + random() * (step / 2)));
}
