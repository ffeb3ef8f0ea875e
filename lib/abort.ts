/** True for the errors fetch implementations (node-fetch, undici) throw when their AbortSignal fires. */
export function isAbortError(error: unknown): boolean {
  const name = (error as { name?: unknown } | undefined)?.name;
  const type = (error as { type?: unknown } | undefined)?.type;
  return name === 'AbortError' || name === 'TimeoutError' || type === 'aborted';
}
