/**
 * Replay protection for receivers that ask for it: an authenticated delivery whose verified body, or whose delivery
 * id, was already applied within the window is acknowledged and not applied again. Two keys, because each misses
 * what the other catches: the id header is not covered by any provider's signature (a replay of captured bytes can
 * carry a new id, or none), and a provider's own redelivery carries the same id (and, for every provider the relay
 * knows, the same bytes).
 */
export interface DeliveryDedupe {
  /**
   * Runs `apply` unless this delivery (its body hash or its id) was remembered within `delivery.windowSeconds`. A result is remembered only if
   * `remember(result)` says so (a delivery that failed must stay retryable). Resolves to the result, or
   * `{ duplicate: true }` when the delivery was already applied; rejects with `DuplicateInProgress` when another
   * invocation is applying it right now, and with whatever `apply` threw. When the store cannot be reached, `apply`
   * runs anyway (fail open) and the result is returned as if the delivery were new.
   */
  once<T>(delivery: DeliveryKey, apply: () => Promise<T>, remember: (result: T) => boolean): Promise<DedupeResult<T>>;
}

/** One authenticated delivery; its records are keyed by receiver too, so two receivers never share one. */
export interface DeliveryKey {
  receiver: string;
  /** The provider's delivery id, where it sent one (not signed: see `bodySha256`). */
  id?: string;
  /** Hex SHA-256 of the body exactly as authenticated. */
  bodySha256: string;
  /** How long the delivery is remembered once applied (the receiver's `dedupe.windowSeconds`). */
  windowSeconds: number;
}

export type DedupeResult<T> = { duplicate: false; result: T } | { duplicate: true; firstSeen?: string };

/** Where the dedupe reports that it fell back to applying without protection (a Powertools Logger's `warn`). */
export type DedupeWarn = (message: string, fields: Record<string, unknown>) => void;

/**
 * The record keys of a delivery, id first (the key a provider's redelivery and a concurrent duplicate meet first).
 * Receiver names are DNS labels (lib/config/schema.ts), so the first `#` ends the receiver, and the kind after it
 * keeps an id that looks like a hash from ever meeting a body's record.
 */
export function dedupeKeys(delivery: DeliveryKey): string[] {
  return [
    ...(delivery.id !== undefined ? [`${delivery.receiver}#id#${delivery.id}`] : []),
    `${delivery.receiver}#body#${delivery.bodySha256}`,
  ];
}

/** How a delivery is named in messages: its id, or else its body hash's first 16 hex digits. */
export function deliveryLabel(delivery: DeliveryKey): string {
  return delivery.id ?? `with body sha256 ${delivery.bodySha256.slice(0, 16)}`;
}
