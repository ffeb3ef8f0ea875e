import semver from 'semver';

/** `spec.ref` of a source.toolkit.fluxcd.io/v1 GitRepository. */
export interface GitRepositoryRef {
  branch?: string;
  tag?: string;
  semver?: string;
  name?: string;
  commit?: string;
}

const heads = 'refs/heads/';
const tags = 'refs/tags/';

/**
 * The longest `spec.ref.semver` read. The range comes from a GitRepository, which any tenant with write access to its
 * namespace controls, and is parsed on every tag push: unbounded, a range of 150,000 spaces kept a delivery busy for
 * ~20 s (regular expressions cannot be interrupted). Real ranges are a few dozen characters (`>=1.2.0 <2.0.0`).
 */
export const maxSemverRangeLength = 256;

/**
 * Would a push to `pushedRef` (a full ref such as `refs/heads/main` or `refs/tags/v1.2.0`) change what a
 * GitRepository with this `spec.ref` checks out?
 *
 * Follows source-controller's precedence (api/v1 GitRepositoryRef docs: commit > name > semver > tag > branch):
 * - `commit` pins one commit, so no push changes it (even with `branch` beside it, which only narrows the clone);
 * - `name` is a full ref and must equal the pushed ref;
 * - `semver` matches a pushed tag whose version satisfies the range;
 * - `tag` matches that tag; `branch` that branch;
 * - no ref, or a ref with no field set, means branch `master` ("defaults to the 'master' branch").
 * A branch never matches a tag of the same name, nor the reverse.
 */
export function refMatches(ref: GitRepositoryRef | undefined, pushedRef: string): boolean {
  if (ref?.commit) return false;
  if (ref?.name) return ref.name === pushedRef;
  if (ref?.semver)
    return (
      pushedRef.startsWith(tags) &&
      ref.semver.length <= maxSemverRangeLength &&
      tagSatisfies(pushedRef.slice(tags.length), ref.semver)
    );
  if (ref?.tag) return pushedRef === `${tags}${ref.tag}`;
  return pushedRef === `${heads}${ref?.branch || 'master'}`;
}

/**
 * Why `refMatches` can never match this ref, when the reason is one the GitRepository's owner should hear about (a
 * semver range over `maxSemverRangeLength`); undefined otherwise.
 */
export function semverRangeProblem(ref: GitRepositoryRef | undefined): string | undefined {
  if (ref?.commit || ref?.name || !ref?.semver || ref.semver.length <= maxSemverRangeLength) return undefined;
  return `spec.ref.semver is ${ref.semver.length} characters long; a range longer than ${maxSemverRangeLength} matches no tag`;
}

/**
 * Masterminds/semver (what Flux uses) accepts a leading `v` and short versions like `1.2`; node-semver does not, so
 * tags are brought into its form first. Pre-releases satisfy a range only if the range names one, in both libraries.
 */
export function tagSatisfies(tag: string, range: string): boolean {
  const m = /^v?(\d+)(?:\.(\d+))?(?:\.(\d+))?(-[0-9A-Za-z.-]+)?(\+[0-9A-Za-z.-]+)?$/.exec(tag);
  if (!m) return false;
  const version = semver.parse(`${m[1]}.${m[2] ?? 0}.${m[3] ?? 0}${m[4] ?? ''}${m[5] ?? ''}`);
  if (!version) return false;
  // Masterminds separates AND-ed constraints with commas; node-semver with spaces. Split and trimmed rather than
  // replaced with /\s*,\s*/, which backtracks quadratically over a run of whitespace without a comma.
  const normalisedRange = range
    .split(',')
    .map((constraint) => constraint.trim())
    .join(' ');
  try {
    return semver.satisfies(version, normalisedRange);
  } catch {
    return false;
  }
}
