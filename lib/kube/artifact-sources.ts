import { artifactKey } from '../matching/artifact-ref';
import type {
  ArtifactSources,
  HelmChartView,
  HelmRepositoryView,
  ImageRepositoryView,
  OciRef,
  OciRepositoryView,
} from '../matching/artifact-routing';
import type { ClusterClient } from './cluster-client';

/*
 * The objects a registry push may concern, read defensively from plain lists (no index: a registry push is rarer
 * than a Git push, and four lists of a few objects each are one round trip per kind, in parallel). The API server
 * guarantees each CRD's schema, but an object without what routing needs is skipped, never a crash.
 */

type Item = { metadata?: { name?: unknown; namespace?: unknown; uid?: unknown }; spec?: Record<string, unknown> };

function base(
  item: unknown,
): { namespace: string; name: string; uid?: string; spec: Record<string, unknown> } | undefined {
  const obj = item as Item | undefined;
  const name = obj?.metadata?.name;
  const namespace = obj?.metadata?.namespace;
  const spec = obj?.spec;
  if (typeof name !== 'string' || typeof namespace !== 'string' || !spec || typeof spec !== 'object') return undefined;
  const uid = obj.metadata?.uid;
  return { namespace, name, spec, ...(typeof uid === 'string' && uid !== '' ? { uid } : {}) };
}

const str = (value: unknown): string | undefined => (typeof value === 'string' && value !== '' ? value : undefined);

export function toOciRepositoryView(item: unknown): OciRepositoryView | undefined {
  const b = base(item);
  const url = b && str(b.spec.url);
  if (!b || !url) return undefined;
  const raw = b.spec.ref;
  let ref: OciRef | undefined;
  if (raw && typeof raw === 'object') {
    ref = {};
    for (const field of ['tag', 'semver', 'semverFilter', 'digest'] as const) {
      const value = str((raw as Record<string, unknown>)[field]);
      if (value) ref[field] = value;
    }
  }
  const key = artifactKey(url);
  return {
    namespace: b.namespace,
    name: b.name,
    ...(b.uid ? { uid: b.uid } : {}),
    ...(key ? { key } : {}),
    ...(ref ? { ref } : {}),
  };
}

export function toHelmRepositoryView(item: unknown): HelmRepositoryView | undefined {
  const b = base(item);
  const url = b && str(b.spec.url);
  if (!b || !url) return undefined;
  return { namespace: b.namespace, name: b.name, url, oci: b.spec.type === 'oci' };
}

export function toHelmChartView(item: unknown): HelmChartView | undefined {
  const b = base(item);
  const chart = b && str(b.spec.chart);
  const source = b?.spec.sourceRef as { kind?: unknown; name?: unknown } | undefined;
  const sourceKind = str(source?.kind);
  const sourceName = str(source?.name);
  if (!b || !chart || !sourceKind || !sourceName) return undefined;
  const version = str(b.spec.version);
  return {
    namespace: b.namespace,
    name: b.name,
    ...(b.uid ? { uid: b.uid } : {}),
    chart,
    sourceKind,
    sourceName,
    ...(version ? { version } : {}),
  };
}

export function toImageRepositoryView(item: unknown): ImageRepositoryView | undefined {
  const b = base(item);
  const image = b && str(b.spec.image);
  if (!b || !image) return undefined;
  const key = artifactKey(image);
  const list = b.spec.exclusionList;
  const exclusionList = Array.isArray(list) ? list.filter((p): p is string => typeof p === 'string') : undefined;
  return {
    namespace: b.namespace,
    name: b.name,
    ...(b.uid ? { uid: b.uid } : {}),
    ...(key ? { key } : {}),
    ...(exclusionList ? { exclusionList } : {}),
  };
}

function views<T>(items: readonly unknown[], read: (item: unknown) => T | undefined): T[] {
  return items.map(read).filter((v): v is T => v !== undefined);
}

/** The kinds a registry push is routed to, and the kind a failed list is reported as. */
export const artifactSourceKinds = ['OCIRepository', 'HelmRepository', 'HelmChart', 'ImageRepository'] as const;
export type ArtifactSourceKind = (typeof artifactSourceKinds)[number];

/**
 * Lists the four kinds on one cluster in parallel. A kind whose list fails (RBAC, a cluster without
 * image-reflector-controller's CRD: 404) is reported in `failed` by kind; the others still route.
 */
export async function listArtifactSources(
  client: Pick<ClusterClient, 'listObjects'>,
  signal: AbortSignal,
): Promise<{ sources: ArtifactSources; failed: Array<{ kind: ArtifactSourceKind; error: unknown }> }> {
  const list = (kind: ArtifactSourceKind): Promise<unknown[]> =>
    client.listObjects
      ? client.listObjects(kind, signal)
      : Promise.reject(new Error('this cluster client cannot list objects'));
  const settled = await Promise.allSettled(artifactSourceKinds.map(list));
  const failed: Array<{ kind: ArtifactSourceKind; error: unknown }> = [];
  const items = (i: number): unknown[] => {
    const s = settled[i]!;
    if (s.status === 'fulfilled') return s.value;
    failed.push({ kind: artifactSourceKinds[i]!, error: s.reason });
    return [];
  };
  const sources: ArtifactSources = {
    ociRepositories: views(items(0), toOciRepositoryView),
    helmRepositories: views(items(1), toHelmRepositoryView),
    helmCharts: views(items(2), toHelmChartView),
    imageRepositories: views(items(3), toImageRepositoryView),
  };
  return { sources, failed };
}
