import type { HookTarget } from '../hook-api';

/**
 * Hook paths shared by the providers whose API names repositories `owner/repo` and organisations by one name, under
 * `/repos/{owner}/{repo}/hooks` and `/orgs/{org}/hooks` (GitHub, Gitea, Forgejo), and the checks every client makes
 * before a name or an id goes into a path: a name that could climb (`..`), split (`/`, `%`, `\`) or end (`?`, `#`) a
 * path never reaches the API.
 */

/** An owner, organisation or repository name: no separators, nothing URL normalisation would rewrite. */
export const NAME_SEGMENT = /^(?!\.\.?$)[^/\s?#%\\]+$/;

/** `owner/repo` when the identity key's path is one, else undefined (a repository this provider cannot host). */
export function ownerRepoPath(keyPath: string): string | undefined {
  const segments = keyPath.split('/');
  return segments.length === 2 && segments.every((s) => NAME_SEGMENT.test(s)) ? keyPath : undefined;
}

/** `/repos/{owner}/{repo}/hooks` or `/orgs/{org}/hooks`; throws (naming `provider`) for a path that is neither. */
export function ownerRepoHooksPath(provider: string, target: HookTarget): string {
  return ownerRepoResourcePath(provider, target, 'hooks');
}

/**
 * `/repos/{owner}/{repo}/<resource>` or `/orgs/{org}/<resource>` (`hooks`; GitHub's `installation`); throws (naming
 * `provider`) for a path that is neither.
 */
export function ownerRepoResourcePath(
  provider: string,
  target: HookTarget,
  resource: 'hooks' | 'installation',
): string {
  const segments = target.path.split('/');
  if (target.kind === 'repository') {
    if (segments.length !== 2 || !segments.every((s) => NAME_SEGMENT.test(s)))
      throw new Error(`${provider}: "${target.path}" is not an owner/repository path`);
    return `/repos/${segments.map(encodeURIComponent).join('/')}/${resource}`;
  }
  if (segments.length !== 1 || !NAME_SEGMENT.test(target.path))
    throw new Error(`${provider}: "${target.path}" is not an organization name`);
  return `/orgs/${encodeURIComponent(target.path)}/${resource}`;
}

/**
 * The hook id as a path segment: these providers number their hooks, and anything else is not one of theirs. `where`
 * names the provider and target in the error, `provider` how the provider is spelled in it.
 */
export function numericHookId(id: string, where: string, provider: string): string {
  if (!/^[0-9]+$/.test(id)) throw new Error(`${where}: hook id "${id}" is not a ${provider} hook id`);
  return id;
}
