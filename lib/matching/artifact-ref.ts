/**
 * Registry references reduced to one identity key, so the repository a registry names in a push and the one a Flux
 * object pulls compare equal whatever form each uses. Follows the Docker reference grammar
 * (github.com/distribution/reference, `normalize.go` at v0.6.0): the first path component is a registry host only if
 * it contains `.` or `:` or is `localhost`; otherwise the host is Docker Hub, whose single-name images live under
 * `library/`; `index.docker.io` and `registry-1.docker.io` are Docker Hub too.
 */

/** What a reference names: the repository key (`host/path`), and the tag and digest when it carries them. */
export interface ArtifactReference {
  key: string;
  tag?: string;
  digest?: string;
}

/** The longest reference read. Repository names are bounded by registries at 255 characters; hosts by DNS. */
export const maxReferenceLength = 1024;

const dockerHubAliases = new Set(['docker.io', 'index.docker.io', 'registry-1.docker.io', 'registry.hub.docker.com']);
/** distribution/reference: a tag is `[\w][\w.-]{0,127}`. */
export const tagPattern = /^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$/;
/** distribution/reference: `algorithm:encoded`. */
export const digestPattern = /^[a-z0-9]+(?:[.+_-][a-z0-9]+)*:[A-Za-z0-9=_-]{32,}$/;
/** A path component (lenient on case: registries refuse upper case, and a key must not merge two that differ). */
const componentPattern = /^[A-Za-z0-9]+(?:(?:[._]|__|-+)[A-Za-z0-9]+)*$/;
const hostPattern =
  /^(?:[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?)*|\[[0-9A-Fa-f:.]+\])(?::[0-9]{1,5})?$/;

/**
 * Parses `[oci://]host[:port]/path[:tag][@digest]` (or a Docker Hub short form such as `nginx:1.27`). The key has a
 * lower-case host without the default port `:443`, Docker Hub as `docker.io` with `library/` for single names, and
 * neither tag nor digest. Undefined for anything that is not a reference (another scheme, empty components,
 * whitespace, over `maxReferenceLength`).
 */
export function parseArtifactReference(reference: string): ArtifactReference | undefined {
  if (reference.length > maxReferenceLength) return undefined;
  let text = reference.trim();
  if (/^oci:\/\//i.test(text)) text = text.slice('oci://'.length);
  else if (/^[a-z][a-z0-9+.-]*:\/\//i.test(text)) return undefined;
  text = text.replace(/\/+$/, '');
  let digest: string | undefined;
  const at = text.indexOf('@');
  if (at >= 0) {
    digest = text.slice(at + 1);
    text = text.slice(0, at);
    if (!digestPattern.test(digest)) return undefined;
  }
  let tag: string | undefined;
  const lastSlash = text.lastIndexOf('/');
  const colon = text.indexOf(':', lastSlash + 1);
  // A colon in the last component is a tag, unless that component is also the host (`localhost:5000`).
  if (colon >= 0 && lastSlash >= 0) {
    tag = text.slice(colon + 1);
    text = text.slice(0, colon);
    if (!tagPattern.test(tag)) return undefined;
  }
  const parts = text.split('/');
  let host = 'docker.io';
  const first = parts[0]!;
  if (parts.length > 1 && (first.includes('.') || first.includes(':') || first.toLowerCase() === 'localhost')) {
    parts.shift();
    if (!hostPattern.test(first)) return undefined;
    host = first.toLowerCase().replace(/:443$/, '');
  } else if (colon >= 0 && lastSlash < 0) {
    // `nginx:1.27`: a Docker Hub short name with a tag.
    tag = text.slice(colon + 1);
    parts[0] = first.slice(0, colon);
    if (!tagPattern.test(tag)) return undefined;
  }
  if (parts.length === 0 || !parts.every((p) => componentPattern.test(p))) return undefined;
  if (dockerHubAliases.has(host)) {
    host = 'docker.io';
    if (parts.length === 1) parts.unshift('library');
  }
  return { key: `${host}/${parts.join('/')}`, ...(tag ? { tag } : {}), ...(digest ? { digest } : {}) };
}

/** The identity key of a registry reference (see parseArtifactReference); undefined when it is not one. */
export function artifactKey(reference: string): string | undefined {
  return parseArtifactReference(reference)?.key;
}
