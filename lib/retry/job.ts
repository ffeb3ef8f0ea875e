import type { ClusterJob } from '../reconcile';

/**
 * Reads a queued ClusterJob back from a message body. Anything not shaped exactly like what SqsRetryQueue sends is
 * refused with a reason (the retry function dead-letters it): a message may come from an older relay, a hand-made
 * redrive or a bug, and running half a job is worse than not running it.
 */
export function parseClusterJob(body: string): { job: ClusterJob } | { error: string } {
  let raw: unknown;
  try {
    raw = JSON.parse(body);
  } catch {
    return { error: 'the body is not JSON' };
  }
  if (!isRecord(raw)) return { error: 'the body is not a JSON object' };
  const problems: string[] = [];
  const text = (key: string, optional = false): string | undefined => {
    const v = raw[key];
    if (v === undefined && optional) return undefined;
    if (typeof v !== 'string' || v === '') problems.push(`${key} must be a non-empty string`);
    return typeof v === 'string' ? v : undefined;
  };
  const strings = (value: unknown, field: string, nonEmpty: boolean): string[] | undefined => {
    if (!Array.isArray(value) || !value.every((s) => typeof s === 'string') || (nonEmpty && value.length === 0)) {
      problems.push(`${field} must be a ${nonEmpty ? 'non-empty ' : ''}list of strings`);
      return undefined;
    }
    return value as string[];
  };

  const receiver = text('receiver');
  const cluster = text('cluster');
  const requestedAt = text('requestedAt');
  const note = typeof raw.note === 'string' ? raw.note : (problems.push('note must be a string'), undefined);
  const deliveryId = text('deliveryId', true);
  if (requestedAt !== undefined && !/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,9})?Z$/.test(requestedAt)) {
    problems.push('requestedAt must be an RFC 3339 UTC timestamp');
  }
  let push: ClusterJob['push'];
  if (raw.push !== undefined) {
    if (!isRecord(raw.push)) problems.push('push must be an object');
    else {
      const keys = strings(raw.push.keys, 'push.keys', false);
      const refs = strings(raw.push.refs, 'push.refs', false);
      if (keys && refs) push = { keys, refs };
    }
  }
  const only = raw.only === undefined ? undefined : strings(raw.only, 'only', true);
  const known = new Set(['receiver', 'cluster', 'requestedAt', 'note', 'push', 'only', 'deliveryId']);
  const unknown = Object.keys(raw).filter((k) => !known.has(k));
  if (unknown.length > 0) problems.push(`unknown field(s) ${unknown.join(', ')}`);
  if (problems.length > 0) return { error: problems.join('; ') };
  return {
    job: {
      receiver: receiver!,
      cluster: cluster!,
      requestedAt: requestedAt!,
      note: note!,
      ...(push ? { push } : {}),
      ...(only ? { only } : {}),
      ...(deliveryId ? { deliveryId } : {}),
    },
  };
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}
