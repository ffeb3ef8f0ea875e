/** A Kubernetes `Status` body's reason and message, which say why (e.g. RBAC's "cannot patch resource ..."). */
export function statusMessage(body: unknown): string | undefined {
  let parsed = body;
  if (typeof body === 'string') {
    try {
      parsed = JSON.parse(body);
    } catch {
      return undefined;
    }
  }
  if (parsed && typeof parsed === 'object' && (parsed as { kind?: unknown }).kind === 'Status') {
    const { reason, message } = parsed as { reason?: unknown; message?: unknown };
    return (
      [reason, message]
        .filter((s): s is string => typeof s === 'string')
        .join(': ')
        .slice(0, 300) || undefined
    );
  }
  return undefined;
}

/** The first line of an error's message, bounded (parsers may quote whole documents, kubeconfigs hold tokens). */
export function firstLine(error: unknown): string {
  // Duck-typed, not instanceof: errors from another realm (Node internals seen from a Jest sandbox) are Errors too.
  const message = (error as { message?: unknown } | null | undefined)?.message;
  const text = typeof message === 'string' ? message : String(error);
  return (text.split('\n')[0] ?? '').slice(0, 200);
}
