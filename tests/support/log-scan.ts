import { appendFileSync } from 'node:fs';
import { join } from 'node:path';

/*
 * The fixtures' side of the whole-run log scan (log-scan-core.cjs): test servers and harnesses register every secret
 * they create, and tests that intercept output themselves hand it over, so the scan after the run sees both.
 */

const registered = new Set<string>();

/** Registers a secret value the tests configured (a webhook secret, a token, a key's PEM body line). */
export function registerTestSecret(value: string, origin = 'test'): void {
  const dir = process.env.RELAY_LOG_SCAN_DIR;
  if (!dir || registered.has(value)) return;
  registered.add(value);
  appendFileSync(join(dir, `secrets-${process.pid}.jsonl`), `${JSON.stringify({ value, origin })}\n`);
}

/** Registers each base64 body line of a PEM text (a log line quoting part of a key or certificate still matches). */
export function registerPemBody(pem: string, origin: string): void {
  for (const line of pem.split('\n')) if (line && !line.startsWith('-----')) registerTestSecret(line.trim(), origin);
}

/** Registers a secret string and, when it is a JSON object, each string field in it (`#key` secrets). */
export function registerSecretString(value: string, origin: string): void {
  registerTestSecret(value, origin);
  if (!value.trimStart().startsWith('{')) return;
  try {
    const parsed: unknown = JSON.parse(value);
    if (parsed && typeof parsed === 'object') {
      for (const field of Object.values(parsed)) if (typeof field === 'string') registerTestSecret(field, origin);
    }
  } catch {
    // Not JSON after all: the whole value is registered above.
  }
}

/** Output a test intercepted itself (a spy on process.stdout.write), which the capture wrapper never saw. */
export function recordCapturedOutput(text: string): void {
  const dir = process.env.RELAY_LOG_SCAN_DIR;
  if (!dir || text === '') return;
  appendFileSync(join(dir, `output-${process.pid}.log`), text.endsWith('\n') ? text : `${text}\n`);
}
