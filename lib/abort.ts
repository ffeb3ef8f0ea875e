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
