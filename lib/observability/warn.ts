/** A warning log line: a message and its fields. Fields name things (secrets by reference), never secret values. */
export type Warn = (message: string, fields: Record<string, unknown>) => void;

/** Reports a warning at most once per `key` (see `onceEach`). */
export type WarnOnce = (key: string, message: string, fields: Record<string, unknown>) => void;

/**
 * Wraps `warn` so that each key is reported once per container: what deliveries find wrong with a secret or a
 * cluster object would otherwise be logged on every delivery that meets it. Bounded: after `max` keys it starts over
 * (and may report a key again), so an attacker-driven stream of keys cannot grow it.
 */
export function onceEach(warn: Warn | undefined, max = 1024): WarnOnce {
  const reported = new Set<string>();
  return (key, message, fields) => {
    if (!warn || reported.has(key)) return;
    if (reported.size >= max) reported.clear();
    reported.add(key);
    warn(message, fields);
  };
}
