import { MalformedPayload, PayloadLimitExceeded, UnsupportedMediaType } from '../delivery/errors';
import { knownBodyText, mediaType, type WebhookRequest } from '../http/request';
import { digestPattern, tagPattern } from '../matching/artifact-ref';
import type { ArtifactPushEvent, PushEvent } from './provider';

export type JsonObject = Record<string, unknown>;

/*
 * Bounds on what an authenticated payload may make the relay read. A valid signature proves who sent the bytes,
 * not that they are sane (a compromised or buggy sender, or a leaked secret), so these hold after authentication too;
 * each is far above anything a provider sends and each refusal names the bound.
 */

/** JSON nesting deeper than this is refused before JSON.parse. Push payloads nest about 6 deep. */
export const maxJsonDepth = 64;
/**
 * Ref changes read from one delivery (Bitbucket `changes`, Azure DevOps `refUpdates`). Each is matched against every
 * GitRepository, so the count multiplies the routing work. GitHub sends no push event at all for more than three
 * tags at once (GitHub docs, "Webhook events and payloads", push); Bitbucket Data Center sends one `changes` entry
 * per ref of a `git push --all`, so a bulk push over the bound is refused (400) and left to Flux's polling.
 */
export const maxRefChanges = 100;
/** Entries read from any other array the relay walks (Bitbucket Data Center `links.clone`, `links.self`). */
export const maxLinks = 20;
/**
 * Longest repository name and ref read. Both are logged and answered. Git itself bounds neither, but GitHub caps
 * ref names at 255 bytes and GitLab project paths at 255 characters per segment; 1024 leaves room for nested groups.
 */
export const maxNameLength = 1024;
/** Longest repository URL read (matched, never logged). */
export const maxUrlLength = 2048;
/** A commit is a SHA-1 (40) or SHA-256 (64) object id in hex; abbreviated ids are at least 4 (`git rev-parse --short`). */
const objectId = /^[0-9a-fA-F]{4,64}$/;

const utf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

/**
 * The body as text, refusing invalid UTF-8 instead of replacing it with U+FFFD as `Buffer.toString` does: JSON is
 * UTF-8 (RFC 8259 section 8.1), and a replaced byte would make the parsed payload differ from the signed one.
 */
export function decodeUtf8(body: Uint8Array, what: string): string {
  const known = knownBodyText(body);
  if (known !== undefined) return known;
  try {
    return utf8.decode(body);
  } catch {
    throw new MalformedPayload(`${what} is not valid UTF-8`);
  }
}

/** An authenticated JSON body as an object: strict UTF-8, bounded nesting (parseJsonObject). */
export function parseJsonBody(body: Uint8Array, what: string): JsonObject {
  return parseJsonObject(decodeUtf8(body, what), what);
}

/**
 * Refuses JSON nested deeper than `maxJsonDepth` with one linear pass over the text, before JSON.parse builds
 * anything: brackets are counted outside strings, and a backslash in a string skips the character it escapes. It
 * does not validate; JSON.parse does that next.
 */
export function checkJsonDepth(text: string, what: string): void {
  let depth = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === 0x22) {
      // Jump to the closing quote with one native search per string instead of a step per character: strings are
      // most of a push payload (this scan was ~20 µs of a warm delivery char by char, npm run bench profile). A quote
      // preceded by an odd number of backslashes is escaped and does not close the string.
      let j = i;
      for (;;) {
        j = text.indexOf('"', j + 1);
        if (j === -1) return; // Unterminated: JSON.parse refuses it next.
        let backslashes = 0;
        while (text.charCodeAt(j - 1 - backslashes) === 0x5c) backslashes += 1;
        if (backslashes % 2 === 0) break;
      }
      i = j;
    } else if (c === 0x7b || c === 0x5b) {
      depth += 1;
      if (depth > maxJsonDepth) throw new PayloadLimitExceeded(`${what} nests deeper than ${maxJsonDepth} levels`);
    } else if (c === 0x7d || c === 0x5d) {
      depth -= 1;
    }
  }
}

/** An array of at most `max` entries, checked before anything iterates it. */
export function boundedArray(value: unknown, max: number, what: string): unknown[] {
  if (!Array.isArray(value)) throw new MalformedPayload(`${what} must be an array`);
  if (value.length > max)
    throw new PayloadLimitExceeded(`${what} has ${value.length} entries; at most ${max} are read`);
  return value;
}

/**
 * Bounds every string of a parsed push that is logged, answered or matched: repository name and each ref at most
 * `maxNameLength`, each URL at most `maxUrlLength`, each commit an object id, at most `maxRefChanges` changes.
 * Every provider's `parsePush` returns through it.
 */
export function boundedPush(push: PushEvent, what: string): PushEvent {
  const long = (value: string, max: number, field: string) => {
    if (value.length > max)
      throw new PayloadLimitExceeded(`${what}: ${field} is ${value.length} characters long; at most ${max} are read`);
  };
  long(push.repository, maxNameLength, 'the repository name');
  if (push.repositoryUrls.length > maxLinks)
    throw new PayloadLimitExceeded(
      `${what}: ${push.repositoryUrls.length} repository URLs; at most ${maxLinks} are read`,
    );
  for (const url of push.repositoryUrls) long(url, maxUrlLength, 'a repository URL');
  if (push.changes.length > maxRefChanges)
    throw new PayloadLimitExceeded(`${what}: ${push.changes.length} ref changes; at most ${maxRefChanges} are read`);
  for (const change of push.changes) {
    long(change.ref, maxNameLength, 'a ref');
    if (change.commit !== undefined && !objectId.test(change.commit)) {
      throw new MalformedPayload(
        `${what}: commit ${JSON.stringify(change.commit.slice(0, 70))} is not a hex object id`,
      );
    }
  }
  return push;
}

export function parseJsonObject(text: string, what: string): JsonObject {
  checkJsonDepth(text, what);
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    throw new MalformedPayload(`${what} is not valid JSON`);
  }
  if (value === null || typeof value !== 'object' || Array.isArray(value))
    throw new MalformedPayload(`${what} is not a JSON object`);
  return value as JsonObject;
}

export function objectAt(obj: JsonObject, key: string, what: string): JsonObject {
  const value = obj[key];
  if (value === null || typeof value !== 'object' || Array.isArray(value))
    throw new MalformedPayload(`${what}: ${key} must be an object`);
  return value as JsonObject;
}

export function stringAt(obj: JsonObject, key: string, what: string): string {
  const value = obj[key];
  if (typeof value !== 'string' || value === '')
    throw new MalformedPayload(`${what}: ${key} must be a non-empty string`);
  return value;
}

export function optionalString(obj: JsonObject, key: string): string | undefined {
  const value = obj[key];
  return typeof value === 'string' && value !== '' ? value : undefined;
}

/** Collects the string values of `keys` that are present (URL fields, which vary by provider version). */
export function urlsAt(obj: JsonObject, keys: readonly string[]): string[] {
  return keys.map((k) => obj[k]).filter((v): v is string => typeof v === 'string' && v !== '');
}

export function requireRef(ref: string, what: string): string {
  if (!ref.startsWith('refs/'))
    throw new MalformedPayload(`${what}: ref ${JSON.stringify(ref.slice(0, 100))} is not a full ref`);
  return ref;
}

/** Git's all-zero object id marks a created (before) or deleted (after) ref. */
export function isZeroSha(sha: string | undefined): boolean {
  return sha !== undefined && /^0+$/.test(sha);
}

/** Providers that only ever post JSON: anything else is a 415, before any secret is read. */
export function requireJson(request: WebhookRequest): void {
  const type = mediaType(request.headers['content-type']);
  if (type !== 'application/json') throw new UnsupportedMediaType(type, ['application/json']);
}

/**
 * Bounds an artifact push like boundedPush bounds a Git push: the repository at most `maxNameLength`, at most
 * `maxRefChanges` artifacts, each reference at most `maxUrlLength`, each tag an OCI tag and each digest an OCI digest.
 */
export function boundedArtifactPush(push: ArtifactPushEvent, what: string): ArtifactPushEvent {
  if (push.repository.length > maxNameLength)
    throw new PayloadLimitExceeded(
      `${what}: the repository name is ${push.repository.length} characters long; at most ${maxNameLength} are read`,
    );
  if (push.artifacts.length > maxRefChanges)
    throw new PayloadLimitExceeded(`${what}: ${push.artifacts.length} artifacts; at most ${maxRefChanges} are read`);
  for (const a of push.artifacts) {
    if (a.reference.length > maxUrlLength)
      throw new PayloadLimitExceeded(
        `${what}: an artifact reference is ${a.reference.length} characters long; at most ${maxUrlLength} are read`,
      );
    if (a.tag !== undefined && !tagPattern.test(a.tag))
      throw new MalformedPayload(`${what}: tag ${JSON.stringify(a.tag.slice(0, 140))} is not an OCI tag`);
    if (a.digest !== undefined && (a.digest.length > 200 || !digestPattern.test(a.digest))) {
      throw new MalformedPayload(`${what}: digest ${JSON.stringify(a.digest.slice(0, 80))} is not an OCI digest`);
    }
  }
  return push;
}
