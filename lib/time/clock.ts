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

/**
 * Nanoseconds since the epoch of an RFC 3339 time with up to nine fractional digits (what `rfc3339Nano`, `flux
 * reconcile` and other tools write), or undefined when the text is not one: annotation values are anyone's to set.
 */
export function parseRfc3339Nano(text: string): bigint | undefined {
  const m = /^(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2})(?:\.(\d{1,9}))?(Z|[+-]\d{2}:\d{2})$/i.exec(text);
  if (!m) return undefined;
  const seconds = Date.parse(`${m[1]}${m[3]!.toUpperCase()}`);
  if (Number.isNaN(seconds)) return undefined;
  return BigInt(seconds) * 1_000_000n + BigInt((m[2] ?? '').padEnd(9, '0'));
}
