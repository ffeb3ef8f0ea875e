import { withoutTrailingSlashes } from '../http/trailing-slashes';
import type { HookSpec, HookState, HookTarget } from './hook-api';

/** One thing the sync will do (or did) to one hook. */
export type SyncAction =
  | { kind: 'create'; target: HookTarget; spec: HookSpec }
  | { kind: 'update'; target: HookTarget; id: string; spec: HookSpec; reasons: string[] }
  | { kind: 'reenable'; target: HookTarget; id: string }
  | { kind: 'delete'; target: HookTarget; id: string; reason: string }
  | { kind: 'unchanged'; target: HookTarget; id: string }
  /** A hook someone else made: reported, never touched. */
  | { kind: 'foreign'; target: HookTarget; id: string; url: string };

/** The relay's view of ownership: a hook is the relay's when its URL (without query) is under `<publicUrl>/hooks/`. */
export interface Ownership {
  /** `<publicUrl>/hooks/` */
  hooksPrefix: string;
  /**
   * `<former publicUrl>/hooks/` for each URL the relay was public under before (the HTTP API's own URL after a switch
   * to a custom domain): hooks there are still the relay's, and are moved to `hooksPrefix`.
   */
  formerHooksPrefixes?: readonly string[];
  /** Receivers that exist: a relay hook for any other receiver is stale and removed. */
  receivers: ReadonlySet<string>;
}

export interface HookExpectations {
  /** The provider-native events a relay hook has. */
  events: readonly string[];
  /** The content type it has, where the provider has the setting. */
  contentType?: string;
}

/** The URL without its query: the secret version marker lives in the query. */
export function baseUrl(url: string): string {
  const q = url.search(/[?#]/);
  return withoutTrailingSlashes(q < 0 ? url : url.slice(0, q));
}

/**
 * Decides what to do with the hooks of one target, given the hook the relay wants there. Pure: the same inputs give
 * the same plan, and a target already in the wanted state gives only `unchanged` and `foreign` entries.
 *
 * - Hooks for the wanted receiver are the relay's: the first one with the exact wanted URL (or else the first) is
 *   kept and brought up to date; other ones are duplicates and deleted ("exactly one hook per repository").
 * - Hooks under the relay's `/hooks/` for a receiver that no longer exists are stale and deleted; hooks for another
 *   existing receiver belong to another registration and are left alone.
 * - Every other hook is foreign: reported, never changed. So is one under `/hooks/` whose receiver part does not
 *   decode (a bad percent-escape): the relay never makes such a URL, and one odd hook must not fail the target.
 * - A URL that differs only in its query carries an old secret version marker: the secret rotated, so the hook is
 *   re-keyed (updated with the new secret and marker).
 * - Under a former public URL (`formerHooksPrefixes`) the same rules hold: the wanted receiver's hook there is the
 *   relay's and is moved to the wanted URL (an update, which re-sends the secret), a stale receiver's is deleted.
 */
export function planTarget(
  target: HookTarget,
  wanted: HookSpec,
  actual: readonly HookState[],
  ownership: Ownership,
  expect: HookExpectations,
): SyncAction[] {
  const wantedBase = baseUrl(wanted.url);
  const prefixes = [
    ownership.hooksPrefix,
    ...(ownership.formerHooksPrefixes ?? []).filter((p) => p !== ownership.hooksPrefix),
  ];
  // The receiver part of the wanted URL, as the relay writes it (percent-encoded), under every prefix.
  const wantedBases = new Set(
    wantedBase.startsWith(ownership.hooksPrefix)
      ? prefixes.map((p) => `${p}${wantedBase.slice(ownership.hooksPrefix.length)}`)
      : [wantedBase],
  );
  const actions: SyncAction[] = [];
  const mine: HookState[] = [];
  for (const hook of actual) {
    const base = baseUrl(hook.url);
    if (wantedBases.has(base)) {
      mine.push(hook);
      continue;
    }
    const receiver = receiverUnder(base, prefixes);
    if (receiver === undefined) actions.push({ kind: 'foreign', target, id: hook.id, url: hook.url });
    else if (!ownership.receivers.has(receiver))
      actions.push({ kind: 'delete', target, id: hook.id, reason: `receiver ${receiver} no longer exists` });
  }
  if (mine.length === 0) return [...actions, { kind: 'create', target, spec: wanted }];

  // Prefer the hook that already has the wanted URL, then one on the current public URL, then a former one.
  const keep = mine.find((h) => h.url === wanted.url) ?? mine.find((h) => baseUrl(h.url) === wantedBase) ?? mine[0]!;
  for (const hook of mine)
    if (hook !== keep) actions.push({ kind: 'delete', target, id: hook.id, reason: 'duplicate relay hook' });

  const reasons: string[] = [];
  if (keep.url !== wanted.url) reasons.push(urlChange(keep.url, wanted.url));
  if (!sameSet(keep.events, expect.events))
    reasons.push(`events ${[...keep.events].sort().join(',') || '(none)'} → ${expect.events.join(',')}`);
  if (!keep.active) reasons.push('inactive');
  if (expect.contentType !== undefined && keep.contentType !== expect.contentType)
    reasons.push(`content type ${keep.contentType ?? '(none)'} → ${expect.contentType}`);
  if (keep.name !== undefined && keep.name !== wanted.name)
    reasons.push(`name ${keep.name || '(none)'} → ${wanted.name}`);
  // Provider settings that break deliveries (branch filter, removed secret, unverified TLS): the update repairs them.
  reasons.push(...(keep.drift ?? []));
  if (reasons.length > 0) actions.push({ kind: 'update', target, id: keep.id, spec: wanted, reasons });
  if (keep.disabled) actions.push({ kind: 'reenable', target, id: keep.id });
  if (reasons.length === 0 && !keep.disabled) actions.push({ kind: 'unchanged', target, id: keep.id });
  return actions;
}

/** Whether a hook URL is under one of the relay's `/hooks/` prefixes (current or former public URL): the relay's. */
export function underRelayPrefix(url: string, prefixes: readonly string[]): boolean {
  return prefixes.some((prefix) => url.startsWith(prefix));
}

/** The receiver a URL under one of the `/hooks/` prefixes names, or undefined. */
function receiverUnder(base: string, prefixes: readonly string[]): string | undefined {
  const prefix = prefixes.find((p) => base.startsWith(p));
  return prefix === undefined ? undefined : receiverOf(base, prefix);
}

/** The receiver a URL under `<publicUrl>/hooks/` names, or undefined when it is not under it or does not decode. */
function receiverOf(base: string, hooksPrefix: string): string | undefined {
  if (!base.startsWith(hooksPrefix)) return undefined;
  try {
    return decodeURIComponent(base.slice(hooksPrefix.length));
  } catch {
    return undefined;
  }
}

/** The query parameter that records which secret version a hook was given (no provider returns the secret). */
export const secretVersionParam = 'relay-secret-version';

function urlChange(actual: string, wanted: string): string {
  const version = (url: string) => (URL.canParse(url) ? new URL(url).searchParams.get(secretVersionParam) : null);
  const had = version(actual);
  if (had === version(wanted)) return 'url';
  return had === null ? 'secret version unknown' : 'secret rotated';
}

function sameSet(a: readonly string[], b: readonly string[]): boolean {
  const left = new Set(a);
  return left.size === new Set(b).size && b.every((x) => left.has(x));
}

/** Writes in a plan: what a dry run prints and an applied run does. */
export function isChange(action: SyncAction): boolean {
  return action.kind !== 'unchanged' && action.kind !== 'foreign';
}

/** One human-readable line per action, for `--dry-run` and the log. */
export function describeAction(provider: string, action: SyncAction): string {
  const where = `${provider} ${action.target.kind === 'organization' ? 'org ' : ''}${action.target.path}`;
  switch (action.kind) {
    case 'create':
      return `create   ${where}: hook → ${baseUrl(action.spec.url)}`;
    case 'update':
      return `update   ${where}: hook ${action.id} (${action.reasons.join('; ')})`;
    case 'reenable':
      return `reenable ${where}: hook ${action.id} was disabled by the provider after failed deliveries`;
    case 'delete':
      return `delete   ${where}: hook ${action.id} (${action.reason})`;
    case 'unchanged':
      return `ok       ${where}: hook ${action.id}`;
    case 'foreign':
      // Only the host: another tool's hook URL can itself be a credential (Flux's receiver paths are).
      return `foreign  ${where}: hook ${action.id} → ${hostOf(action.url)} (not the relay's; left alone)`;
  }
}

function hostOf(url: string): string {
  try {
    return new URL(url).host;
  } catch {
    return '(unparseable URL)';
  }
}
