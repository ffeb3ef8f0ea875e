/**
 * Replay protection for receivers that ask for it: an authenticated delivery whose id was already applied within
 * the window is acknowledged and not applied again.
 */
export interface DeliveryDedupe {
  /**
   * Runs `apply` unless this delivery was remembered within `delivery.windowSeconds`. A result is remembered only if
   * `remember(result)` says so (a delivery that failed must stay retryable). Resolves to the result, or
   * `{ duplicate: true }` when the delivery was already applied; rejects with `DuplicateInProgress` when another
   * invocation is applying it right now, and with whatever `apply` threw. When the store cannot be reached, `apply`
   * runs anyway (fail open) and the result is returned as if the delivery were new.
   */
  once<T>(delivery: DeliveryKey, apply: () => Promise<T>, remember: (result: T) => boolean): Promise<DedupeResult<T>>;
}

/** One authenticated delivery: remembered as `receiver#id`, so two receivers never share a record. */
export interface DeliveryKey {
  receiver: string;
  id: string;
  /** How long the delivery is remembered once applied (the receiver's `dedupe.windowSeconds`). */
  windowSeconds: number;
}

export type DedupeResult<T> = { duplicate: false; result: T } | { duplicate: true; firstSeen?: string };

/** Where the dedupe reports that it fell back to applying without protection (a Powertools Logger's `warn`). */
export type DedupeWarn = (message: string, fields: Record<string, unknown>) => void;

/** The record key of a delivery. Receiver names are DNS labels (lib/config/schema.ts), so `#` cannot be ambiguous. */
export function dedupeKey(delivery: DeliveryKey): string {
  return `${delivery.receiver}#${delivery.id}`;
}
