/**
 * Replay protection for receivers that ask for it: an authenticated delivery whose id was already applied within
 * the window is acknowledged and not applied again.
 */
export interface DeliveryDedupe {
  /**
   * Runs `apply` unless `key` was remembered within the window. A result is remembered only if `remember(result)`
   * says so (a delivery that failed must stay retryable). Resolves to the result, or `{ duplicate: true }` when the
   * key was already applied; rejects with `DuplicateInProgress` when another invocation is applying it right now.
   */
  once<T>(key: string, apply: () => Promise<T>, remember: (result: T) => boolean): Promise<{ duplicate: false; result: T } | { duplicate: true; firstSeen?: string }>;
}
