/** True for the errors fetch implementations (node-fetch, undici) throw when their AbortSignal fires. */
export function isAbortError(error: unknown): boolean {
  const name = (error as { name?: unknown } | undefined)?.name;
  const type = (error as { type?: unknown } | undefined)?.type;
  return name === 'AbortError' || name === 'TimeoutError' || type === 'aborted';
}

/** Settles like `promise`, or rejects with the signal's reason as soon as it aborts (for work that takes no signal). */
export function untilAborted<T>(promise: Promise<T>, signal: AbortSignal): Promise<T> {
  if (signal.aborted) return Promise.reject(signal.reason);
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(signal.reason);
    signal.addEventListener('abort', onAbort, { once: true });
    promise.then(
      (value) => {
        signal.removeEventListener('abort', onAbort);
        resolve(value);
      },
      (error: unknown) => {
        signal.removeEventListener('abort', onAbort);
        reject(error);
      },
    );
  });
}

/**
 * A signal that aborts after `ms` or when `parent` aborts, whichever comes first, and a `dispose` that clears its
 * timer. Not `AbortSignal.any([parent, AbortSignal.timeout(ms)])`: on Node 20 the composite holds its sources weakly,
 * so a timeout signal nothing else references can be garbage-collected and never fire (seen here as a cluster
 * timeout that did not happen under CI load). Here the pending timer keeps the controller alive.
 */
export function timeoutSignal(ms: number, parent?: AbortSignal): { signal: AbortSignal; dispose(): void } {
  const controller = new AbortController();
  const parentDeadline = parent ? deadlines.get(parent) : undefined;
  deadlines.set(controller.signal, Math.min(performance.now() + ms, parentDeadline ?? Infinity));
  const timer = setTimeout(() => controller.abort(new DOMException(`timed out after ${ms} ms`, 'TimeoutError')), ms);
  const onParentAbort = () => controller.abort(parent?.reason);
  if (parent?.aborted) onParentAbort();
  else parent?.addEventListener('abort', onParentAbort, { once: true });
  return {
    signal: controller.signal,
    dispose: () => {
      clearTimeout(timer);
      parent?.removeEventListener('abort', onParentAbort);
    },
  };
}

/** Runs `fn` with a signal that aborts after `ms` (or with `parent`), and always clears the timer afterwards. */
export async function withTimeout<T>(
  ms: number,
  parent: AbortSignal | undefined,
  fn: (signal: AbortSignal) => Promise<T>,
): Promise<T> {
  const { signal, dispose } = timeoutSignal(ms, parent);
  try {
    return await fn(signal);
  } finally {
    dispose();
  }
}

/** When each timeoutSignal's signal aborts (performance.now() ms), so that work under it can tell what time is left. */
const deadlines = new WeakMap<AbortSignal, number>();

/**
 * Milliseconds until `signal` times out, if it was made by timeoutSignal/withTimeout (or under one); undefined for a
 * signal without a known deadline (a watch's, a background relist's).
 */
export function remainingMs(signal: AbortSignal): number | undefined {
  const deadline = deadlines.get(signal);
  return deadline === undefined ? undefined : deadline - performance.now();
}

/** Resolves after `ms`, or rejects with the signal's reason as soon as it aborts. */
export function sleep(ms: number, signal: AbortSignal): Promise<void> {
  if (signal.aborted) return Promise.reject(signal.reason);
  return new Promise<void>((resolve, reject) => {
    const onAbort = () => {
      clearTimeout(timer);
      reject(signal.reason);
    };
    const timer = setTimeout(() => {
      signal.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal.addEventListener('abort', onAbort, { once: true });
  });
}
