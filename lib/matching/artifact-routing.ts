import type { RE2JS } from 're2js';
import { maxSemverRangeLength, tagSatisfies } from './git-ref';
import { artifactKey } from './artifact-ref';

/*
 * Which Flux objects a pushed artifact concerns, from what the cluster listed (lib/kube/artifact-sources.ts). Pure:
 * table-tested in tests/matching/artifact-routing.test.ts. Sources (Flux 2.7, source.toolkit.fluxcd.io/v1 and
 * image.toolkit.fluxcd.io/v1 API references, fluxcd.io/flux/components/source/ocirepositories/,
 * .../helmcharts/, fluxcd.io/flux/components/image/imagerepositories/).
 */

/** One pushed artifact: its repository key (artifactKey) and the tag and digest the registry reported. */
export interface PushedArtifact {
  key: string;
  tag?: string;
  digest?: string;
}

/** `spec.ref` of an OCIRepository. */
export interface OciRef {
  tag?: string;
  semver?: string;
  semverFilter?: string;
  digest?: string;
}

export interface OciRepositoryView {
  namespace: string;
  name: string;
  uid?: string;
  /** artifactKey(spec.url); undefined when the URL is not a registry reference. */
  key?: string;
  ref?: OciRef;
}

export interface HelmRepositoryView {
  namespace: string;
  name: string;
  /** `spec.type: oci`: the only HelmRepositories a registry push concerns (an HTTP one is polled through its index). */
  oci: boolean;
  url: string;
}

export interface HelmChartView {
  namespace: string;
  name: string;
  uid?: string;
  chart: string;
  /** `spec.version`: a semver constraint; Flux's default is `*`. */
  version?: string;
  sourceKind: string;
  sourceName: string;
}

export interface ImageRepositoryView {
  namespace: string;
  name: string;
  uid?: string;
  key?: string;
  /** `spec.exclusionList`: RE2 patterns of tags the controller never lists (the API server defaults it to `^.*\.sig$`). */
  exclusionList?: string[];
}

export interface ArtifactSources {
  ociRepositories?: readonly OciRepositoryView[];
  helmRepositories?: readonly HelmRepositoryView[];
  helmCharts?: readonly HelmChartView[];
  imageRepositories?: readonly ImageRepositoryView[];
}

export interface ArtifactMatch {
  kind: 'OCIRepository' | 'HelmChart' | 'ImageRepository';
  namespace: string;
  name: string;
  uid?: string;
}

/**
 * Would this push change what an OCIRepository with `ref` pulls? Precedence as source-controller's (digest > semver >
 * tag): a digest pins content and never triggers; `semver` matches a pushed tag in the range, and the tag must also
 * match `semverFilter` when set; `tag` matches that tag; no ref (or an empty one) means tag `latest`. A push that
 * reports no tag (a digest only) matches nothing by tag.
 */
export function ociRefMatches(ref: OciRef | undefined, pushed: { tag?: string }): boolean {
  if (ref?.digest) return false;
  const tag = pushed.tag;
  if (tag === undefined) return false;
  if (ref?.semver) {
    if (ref.semver.length > maxSemverRangeLength || !tagSatisfies(tag, ref.semver)) return false;
    return ref.semverFilter ? re2Finds(ref.semverFilter, tag) === true : true;
  }
  return tag === (ref?.tag || 'latest');
}

/**
 * Would this push be a version of a HelmChart with `version` (a semver constraint, default `*`)? When the tag is a
 * semantic version, it must satisfy the constraint (Helm writes a version's `+` as `_` in an OCI tag, so that is undone
 * first); a tag that is not a version, or no tag, cannot be checked and counts as a match: one reconcile too many
 * costs a manifest request, one too few leaves the chart waiting for its interval.
 */
export function chartVersionMatches(version: string | undefined, pushed: { tag?: string }): boolean {
  if (pushed.tag === undefined) return true;
  const tag = pushed.tag.replace(/_/g, '+');
  if (!/^v?\d+(\.\d+){0,2}([-+].*)?$/.test(tag)) return true;
  const constraint = version?.trim() || '*';
  return constraint.length <= maxSemverRangeLength && tagSatisfies(tag, constraint);
}

/**
 * Does an ImageRepository with `exclusionList` want to hear of this tag? An excluded tag is never listed by
 * image-reflector-controller, so scanning for it is pointless; a pattern that does not compile under RE2 (the
 * controller refuses such an object) excludes nothing.
 */
export function imageTagWanted(exclusionList: readonly string[] | undefined, pushed: { tag?: string }): boolean {
  if (pushed.tag === undefined || !exclusionList) return true;
  const tag = pushed.tag;
  return !exclusionList.some((pattern) => re2Finds(pattern, tag) === true);
}

/** The objects on one cluster that a push of these artifacts concerns. */
export function artifactMatches(sources: ArtifactSources, pushed: readonly PushedArtifact[]): ArtifactMatch[] {
  const out = new Map<string, ArtifactMatch>();
  const add = (m: ArtifactMatch) => out.set(`${m.kind}/${m.namespace}/${m.name}`, m);
  const byKey = new Map<string, PushedArtifact[]>();
  for (const p of pushed) byKey.set(p.key, [...(byKey.get(p.key) ?? []), p]);

  for (const repo of sources.ociRepositories ?? []) {
    const candidates = repo.key ? byKey.get(repo.key) : undefined;
    if (candidates?.some((p) => ociRefMatches(repo.ref, p)))
      add({ kind: 'OCIRepository', namespace: repo.namespace, name: repo.name, ...uidOf(repo) });
  }
  for (const image of sources.imageRepositories ?? []) {
    const candidates = image.key ? byKey.get(image.key) : undefined;
    if (candidates?.some((p) => imageTagWanted(image.exclusionList, p)))
      add({ kind: 'ImageRepository', namespace: image.namespace, name: image.name, ...uidOf(image) });
  }
  // An OCI HelmRepository has no artifact of its own: its HelmCharts (same namespace, sourceRef by name) pull
  // `<spec.url>/<spec.chart>`.
  const ociHelmRepositories = new Map<string, string>();
  for (const repo of sources.helmRepositories ?? [])
    if (repo.oci) ociHelmRepositories.set(`${repo.namespace}/${repo.name}`, repo.url);
  for (const chart of sources.helmCharts ?? []) {
    if (chart.sourceKind !== 'HelmRepository') continue;
    const url = ociHelmRepositories.get(`${chart.namespace}/${chart.sourceName}`);
    if (url === undefined) continue;
    const key = artifactKey(`${url.replace(/\/+$/, '')}/${chart.chart}`);
    const candidates = key ? byKey.get(key) : undefined;
    if (candidates?.some((p) => chartVersionMatches(chart.version, p)))
      add({ kind: 'HelmChart', namespace: chart.namespace, name: chart.name, ...uidOf(chart) });
  }
  return [...out.values()];
}

function uidOf(view: { uid?: string }): { uid?: string } {
  return view.uid ? { uid: view.uid } : {};
}

/** Patterns come from tenants' objects: bounded, and run by RE2 (linear time, Go's syntax, as the controllers use). */
const maxPatternLength = 1024;
const maxCachedPatterns = 256;
const compiled = new Map<string, RE2JS | null>();

/** Whether the RE2 `pattern` finds a match in `text` (Go's MatchString); undefined when the pattern is unusable. */
export function re2Finds(pattern: string, text: string): boolean | undefined {
  if (pattern.length > maxPatternLength) return undefined;
  let re = compiled.get(pattern);
  if (re === undefined) {
    try {
      // A lazy require: esbuild keeps re2js in the bundle but runs its top level (~15 ms, its Unicode tables) only on the
      // first pattern, so neither a Git push nor a registry push without patterns pays for it at cold start.
      // eslint-disable-next-line @typescript-eslint/no-require-imports -- deliberately lazy, see above
      const { RE2JS: engine } = require('re2js') as typeof import('re2js');
      re = engine.compile(pattern);
    } catch {
      re = null;
    }
    if (compiled.size >= maxCachedPatterns) compiled.clear();
    compiled.set(pattern, re);
  }
  return re === null ? undefined : re.matcher(text).find();
}
