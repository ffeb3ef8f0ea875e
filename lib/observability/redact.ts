import { parseYamlOrJson } from '../config/structured-text';

/**
 * The redaction layer for everything the relay writes about a delivery: the log line (lib/observability/delivery-log.ts
 * `loggableSummary`, used by lib/runtime/relay-deps.ts) and the free text of answers (`reason`, `message`, `failed[].error`).
 *
 * Two kinds of scrubbing, both replacing with `[REDACTED]`:
 * - known values: every secret value the SecretStore reads is registered here (`registerSecret`), with the fields of
 *   JSON secrets and the credentials inside kubeconfigs, so an error message that echoes one cannot leak it;
 * - shapes of credentials whatever their origin: `Bearer`/`Basic` credentials, `Authorization:` values, PEM blocks,
 *   JWTs, `token=`-style query values, passwords in URL userinfo, AWS access key ids.
 *
 * It runs on every delivery, so it is cheap: one case-insensitive scan decides whether any shape can be present (most
 * strings skip all pattern work), and every pattern is linear: no nested quantifiers, runs bounded where a match
 * could start at many positions, PEM blocks found with indexOf.
 */

export const redactedMarker = '[REDACTED]';

/**
 * Registered values shorter than this are not scrubbed by value: they would match ordinary words and make the log
 * useless (a secret that short is guessable anyway). The shape patterns still apply to them.
 */
export const minRegisteredLength = 8;
/** Registered values are kept for the container's life; rotations add a few. The cap stops a runaway, not usage. */
const maxRegistered = 2048;

/** Longest first, so a JSON secret is replaced whole before any of its fields. */
let registered: string[] = [];
const registeredSet = new Set<string>();

/**
 * Registers a secret value read from a backend: the value itself and, when it is JSON, each string inside it (a
 * `#key` secret's fields; each field registered the same way, so a kubeconfig stored under a key is covered too),
 * and, when it is a kubeconfig (YAML), each user's `token`, `password`, `client-key-data`,
 * `client-certificate-data`, each cluster's `certificate-authority-data`, and the base64 lines of the PEM blocks those
 * data fields hold (a log line quoting part of a certificate or key then still matches).
 */
export function registerSecret(value: string): void {
  collect(value, 0);
  registered = [...registeredSet].sort((a, b) => b.length - a.length);
  cleanCache.clear();
}

/** Forgets every registered value (tests). */
export function clearRegisteredSecrets(): void {
  registeredSet.clear();
  registered = [];
  cleanCache.clear();
}

/** How many values are registered (tests, figures). */
export function registeredSecretCount(): number {
  return registered.length;
}

function add(value: string): void {
  const trimmed = value.trim();
  if (trimmed.length < minRegisteredLength || registeredSet.size >= maxRegistered) return;
  registeredSet.add(trimmed);
}

function collect(value: string, depth: number): void {
  add(value);
  if (depth > 2) return;
  const text = value.trim();
  if (text.startsWith('{')) {
    let parsed: unknown;
    try {
      parsed = JSON.parse(text);
    } catch {
      return;
    }
    for (const field of stringsIn(parsed, 0)) collect(field, depth + 1);
    return;
  }
  if (/^(apiVersion|kind|clusters|users|contexts|current-context|preferences):/m.test(text)) collectKubeconfig(text);
}

function stringsIn(value: unknown, depth: number): string[] {
  if (typeof value === 'string') return [value];
  if (depth > 3 || value === null || typeof value !== 'object') return [];
  return Object.values(value).flatMap((v) => stringsIn(v, depth + 1));
}

/** The credentials of a kubeconfig (client-go's clientcmd v1 Config: users[].user, clusters[].cluster). */
function collectKubeconfig(text: string): void {
  let doc: unknown;
  try {
    doc = parseYamlOrJson(text, { maxAliasCount: 10 });
  } catch {
    return;
  }
  if (!isRecord(doc)) return;
  for (const entry of listOf(doc.users)) {
    const user = isRecord(entry) ? entry.user : undefined;
    if (!isRecord(user)) continue;
    for (const key of ['token', 'password']) {
      const field = user[key];
      if (typeof field === 'string') add(field);
    }
    for (const key of ['client-key-data', 'client-certificate-data']) {
      const field = user[key];
      if (typeof field === 'string') addData(field);
    }
  }
  for (const entry of listOf(doc.clusters)) {
    const cluster = isRecord(entry) ? entry.cluster : undefined;
    const field = isRecord(cluster) ? cluster['certificate-authority-data'] : undefined;
    if (typeof field === 'string') addData(field);
  }
}

/** A base64 `*-data` field: the field, and each base64 line of the PEM it decodes to. */
function addData(data: string): void {
  add(data);
  const pem = Buffer.from(data, 'base64').toString('utf8');
  for (const line of pem.split('\n')) if (!line.startsWith('-----')) add(line);
}

function listOf(value: unknown): unknown[] {
  return Array.isArray(value) ? value.slice(0, 100) : [];
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}

/** Any of these (case-insensitive) may start a credential shape; without one, the pattern pass is skipped. */
const suspicious = /bearer|basic|authori[sz]ation|-----begin|eyj|token=|:\/\/|akia|asia/i;
/** `Authorization: <value>` / `"authorization":"<value>"`: the value up to a quote or the end of the line. */
const authorizationValue = /(authori[sz]ation["']?\s*[:=]\s*["']?)[^"'\r\n]+/gi;
const bearer = /\b(bearer\s+)[A-Za-z0-9\-._~+/]+=*/gi;
/** Basic credentials are scrubbed when they decode to `user:password`, so prose such as "basic checks" survives. */
const basic = /\b(basic\s+)([A-Za-z0-9+/]{4,}={0,2})/gi;
/** Runs of the JWT alphabet; each is checked for the three-part `eyJ...` shape (linear: one pass over runs). */
const jwtRun = /[A-Za-z0-9_\-.]{12,}/g;
/** `token=`, `private_token=`, `access_token=`, `id_token=`... as a query or form value. */
const tokenParameter = /([A-Za-z_]{0,32}token=)[^&#\s"',;]+/gi;
/** URL userinfo (bounded run: at most 256 characters are examined after each `://`). */
const userinfo = /:\/\/([^\s/?#@]{1,256})@/g;
/** A user name without a password that is not a credential (`ssh://git@host`). */
const plainUser = /^[A-Za-z_][A-Za-z0-9._-]{0,31}$/;
/** AWS access key ids: long-term (AKIA) and temporary (ASIA), 20 characters (AWS IAM docs, "Manage access keys"). */
const awsAccessKeyId = /\b(?:AKIA|ASIA)[A-Z0-9]{16}\b/g;

/**
 * Strings that `redact` left as they were since the last registration: a warm delivery writes the same target names,
 * outcome, event, repository and ref into its answer and its log line as the deliveries before it, and scanning each
 * against every registered value (a kubeconfig registers dozens: its CA and certificate lines) is most of what
 * redaction costs there (~15 strings, two passes per delivery). Only unchanged strings are kept, so no text that held
 * a secret or a credential shape is retained; any registration starts the cache over, as the answer may change.
 */
const cleanCache = new Set<string>();
const maxCleanCached = 1024;
const maxCleanCachedLength = 256;

/** Scrubs registered secret values and credential shapes from one string. */
export function redact(text: string): string {
  if (cleanCache.has(text)) return text;
  const out = scrub(text);
  if (out === text && text.length <= maxCleanCachedLength) {
    // A crude bound (start over when full): the strings that repeat are few.
    if (cleanCache.size >= maxCleanCached) cleanCache.clear();
    cleanCache.add(text);
  }
  return out;
}

function scrub(text: string): string {
  let out = text;
  if (out.length >= minRegisteredLength) {
    for (const value of registered) {
      if (value.length <= out.length && out.includes(value)) out = out.split(value).join(redactedMarker);
    }
  }
  if (!suspicious.test(out)) return out;
  out = redactPem(out);
  out = out.replace(authorizationValue, `$1${redactedMarker}`);
  out = out.replace(bearer, `$1${redactedMarker}`);
  out = out.replace(basic, (match: string, prefix: string, credential: string) =>
    Buffer.from(credential, 'base64').toString('utf8').includes(':') ? `${prefix}${redactedMarker}` : match,
  );
  out = out.replace(jwtRun, (run: string) => (run.includes('eyJ') ? redactJwts(run) : run));
  out = out.replace(tokenParameter, `$1${redactedMarker}`);
  out = out.replace(userinfo, (match: string, info: string) => {
    const colon = info.indexOf(':');
    if (colon >= 0) return `://${info.slice(0, colon)}:${redactedMarker}@`;
    return plainUser.test(info) ? match : `://${redactedMarker}@`;
  });
  return out.replace(awsAccessKeyId, redactedMarker);
}

/**
 * JWTs in a run of the JWT alphabet: a segment containing `eyJ` (base64url of `{"`), then a non-empty payload segment
 * and a signature segment (empty for `alg: none`). Split on dots once, so the work is linear in the run.
 */
function redactJwts(run: string): string {
  const segments = run.split('.');
  const out: string[] = [];
  for (let i = 0; i < segments.length; i++) {
    const segment = segments[i]!;
    const header = segment.indexOf('eyJ');
    if (header >= 0 && i + 2 < segments.length && segments[i + 1] !== '') {
      out.push(`${segment.slice(0, header)}${redactedMarker}`);
      i += 2;
    } else {
      out.push(segment);
    }
  }
  return out.join('.');
}

/** PEM blocks, BEGIN to END (or to the end of the text when cut off), found with indexOf rather than a lazy regex. */
function redactPem(text: string): string {
  const begin = '-----BEGIN ';
  let start = text.indexOf(begin);
  if (start === -1) return text;
  let out = '';
  let from = 0;
  while (start !== -1) {
    const end = text.indexOf('-----END ', start + begin.length);
    const close = end === -1 ? -1 : text.indexOf('-----', end + 9);
    out += text.slice(from, start) + redactedMarker;
    from = close === -1 ? text.length : close + 5;
    start = text.indexOf(begin, from);
  }
  return out + text.slice(from);
}

/**
 * A copy of `value` with every string redacted (objects and arrays to a small depth: answers and log summaries are
 * shallow). Other values are kept as they are.
 */
export function redactDeep<T>(value: T): T {
  return mapStringsDeep(value, redact);
}

/** A copy of `value` with `fn` applied to every string, walking objects and arrays to depth 4 in one pass. */
export function mapStringsDeep<T>(value: T, fn: (text: string) => string, depth = 0): T {
  if (typeof value === 'string') return fn(value) as T;
  if (depth > 4 || value === null || typeof value !== 'object') return value;
  if (Array.isArray(value)) return value.map((v: unknown) => mapStringsDeep(v, fn, depth + 1)) as T;
  const out: Record<string, unknown> = {};
  // Own enumerable string keys, as Object.entries gives them, without its array of pairs.
  const record = value as Record<string, unknown>;
  for (const k of Object.keys(record)) out[k] = mapStringsDeep(record[k], fn, depth + 1);
  return out as T;
}
