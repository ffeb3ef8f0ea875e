import type { GitRepositoryRef } from '../matching/git-ref';
import { repoKey } from '../matching/repo-url';
import type { GitRepositoryView } from './cluster-client';

const refFields = ['branch', 'tag', 'semver', 'name', 'commit'] as const;

/**
 * Reads a GitRepositoryList defensively: the API server guarantees the CRD schema, but an object without a usable
 * `spec.url` must be skipped, not crash the delivery.
 */
export function parseGitRepositoryList(body: unknown): GitRepositoryView[] {
  const list = (body ?? {}) as { items?: unknown };
  const items: GitRepositoryView[] = [];
  for (const item of Array.isArray(list.items) ? list.items : []) {
    const view = toGitRepositoryView(item);
    if (view) items.push(view);
  }
  return items;
}

/**
 * One GitRepository (from a list or a watch event) as the relay sees it, with its repository key and uid computed
 * here, once per object version, instead of once per delivery.
 */
export function toGitRepositoryView(item: unknown): GitRepositoryView | undefined {
  const obj = item as {
    metadata?: { name?: unknown; namespace?: unknown; uid?: unknown };
    spec?: { url?: unknown; ref?: unknown };
  };
  const name = obj?.metadata?.name;
  const namespace = obj?.metadata?.namespace;
  const url = obj?.spec?.url;
  if (typeof name !== 'string' || typeof namespace !== 'string' || typeof url !== 'string') return undefined;
  const rawRef = obj.spec?.ref;
  let ref: GitRepositoryRef | undefined;
  if (rawRef && typeof rawRef === 'object') {
    ref = {};
    for (const field of refFields) {
      const value = (rawRef as Record<string, unknown>)[field];
      if (typeof value === 'string' && value !== '') ref[field] = value;
    }
  }
  const uid = obj.metadata?.uid;
  const key = repoKey(url);
  return {
    namespace,
    name,
    url,
    ...(ref ? { ref } : {}),
    ...(typeof uid === 'string' && uid !== '' ? { uid } : {}),
    ...(key !== undefined ? { key } : {}),
  };
}
