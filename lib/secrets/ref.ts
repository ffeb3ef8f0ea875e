/**
 * Where a secret lives. In configuration a reference is written as:
 * - `aws-sm:<name or ARN>` or just `<name or ARN>`: AWS Secrets Manager (the default scheme);
 * - `env:<VAR>`: an environment variable (local use);
 * - `file:<path>`: a file, `~/` expanded (local use, e.g. `file:~/.kube/config`).
 * Any of them may end in `#<key>` to pick one key of a JSON object (Secrets Manager's "key/value" secrets).
 */
export interface SecretRef {
  scheme: 'aws-sm' | 'env' | 'file';
  /** Secret name/ARN, variable name or path. */
  id: string;
  /** Key inside a JSON SecretString, if any. */
  key?: string;
  /** The reference as written, for messages (it names a secret, it is not one). */
  text: string;
}

const schemes = ['aws-sm', 'env', 'file'] as const;

export function parseSecretRef(text: string): SecretRef {
  const trimmed = text.trim();
  if (trimmed === '') throw new Error('secret reference is empty');
  const hash = trimmed.lastIndexOf('#');
  // Secrets Manager names and ARNs cannot contain '#', so the last one always starts a JSON key.
  const body = hash >= 0 ? trimmed.slice(0, hash) : trimmed;
  const key = hash >= 0 ? trimmed.slice(hash + 1) : undefined;
  if (key !== undefined && key === '') throw new Error(`secret reference ${JSON.stringify(text)} has an empty #key`);
  const scheme = schemes.find((s) => body.startsWith(`${s}:`));
  const id = scheme ? body.slice(scheme.length + 1) : body;
  if (id === '') throw new Error(`secret reference ${JSON.stringify(text)} names nothing after the scheme`);
  if (!scheme && /^[a-z][a-z0-9+.-]*:/i.test(body) && !body.startsWith('arn:')) {
    throw new Error(`secret reference ${JSON.stringify(text)} has an unknown scheme; use aws-sm:, env: or file:`);
  }
  return { scheme: scheme ?? 'aws-sm', id, ...(key !== undefined ? { key } : {}), text: trimmed };
}

/** Picks `ref.key` out of a JSON object secret, or returns the whole string when there is no key. */
export function selectKey(ref: SecretRef, raw: string): string {
  if (ref.key === undefined) return raw;
  let parsed: unknown;
  try {
    parsed = JSON.parse(raw);
  } catch {
    throw new Error(`secret ${ref.text}: value is not a JSON object, so #${ref.key} cannot be selected`);
  }
  if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) {
    throw new Error(`secret ${ref.text}: value is not a JSON object, so #${ref.key} cannot be selected`);
  }
  const value = (parsed as Record<string, unknown>)[ref.key];
  if (typeof value !== 'string') throw new Error(`secret ${ref.text}: key ${ref.key} is missing or not a string`);
  return value;
}
