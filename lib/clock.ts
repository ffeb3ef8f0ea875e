/** Nanoseconds since the Unix epoch. Injected so tests can pin the annotation value. */
export type Clock = () => bigint;

const originNs = BigInt(Date.now()) * 1_000_000n;
const originHr = process.hrtime.bigint();

/**
 * Wall clock with sub-millisecond resolution: `Date.now()` has only milliseconds, so the monotonic clock supplies the
 * rest. Two deliveries in the same millisecond still write different `requestedAt` values, which matters because Flux
 * reconciles only when the value changes.
 */
export const systemClock: Clock = () => originNs + (process.hrtime.bigint() - originHr);

/**
 * Formats like Go's `time.RFC3339Nano` in UTC (what `flux reconcile` writes): fractional seconds with trailing zeros
 * trimmed and the dot dropped when they are all zero, e.g. `2026-11-24T21:09:02.123456789Z`.
 */
export function rfc3339Nano(epochNs: bigint): string {
  const ms = epochNs / 1_000_000n;
  const nanos = Number(epochNs % 1_000_000_000n);
  const whole = new Date(Number(ms)).toISOString().slice(0, 19);
  const fraction = nanos === 0 ? '' : `.${String(nanos).padStart(9, '0').replace(/0+$/, '')}`;
  return `${whole}${fraction}Z`;
}
