/**
 * Reduces a Git repository URL to an identity key `host/path`, so the URL a provider puts in a payload and the one a
 * GitRepository clones from compare equal whatever form each uses. Following Argo CD's webhook matching
 * (util/webhook `GetWebURLRegex`): scheme, user, port and a `.git` suffix are ignored; host and path compare
 * case-insensitively (GitHub and GitLab treat paths case-insensitively); the `ssh.` / `altssh.` host prefixes that
 * GitHub and GitLab use for SSH over port 443 name the same repository.
 *
 * Returns undefined for something that is not a repository URL.
 */
export function repoKey(url: string): string | undefined {
  const text = url.trim();
  if (text === '') return undefined;
  let host: string;
  let path: string;
  const scheme = /^([a-z][a-z0-9+.-]*):\/\//i.exec(text);
  if (scheme) {
    let parsed: URL;
    try {
      // URL does not know ssh:// et al. as "special" schemes but still splits authority and path correctly.
      parsed = new URL(text);
    } catch {
      return undefined;
    }
    host = parsed.hostname;
    path = decodeSafely(parsed.pathname);
  } else {
    // scp-like syntax, as git defines it: no "://", and a colon before any slash (`git@host:org/repo.git`).
    const scp = /^(?:[^@/]+@)?([^:/]+):(.+)$/.exec(text);
    if (!scp || !scp[1] || !scp[2]) return undefined;
    host = scp[1];
    path = scp[2];
  }
  host = host.toLowerCase().replace(/^\[|\]$/g, '').replace(/^(alt)?ssh\./, '');
  path = path
    .toLowerCase()
    .replace(/\/{2,}/g, '/')
    .replace(/^\/+|\/+$/g, '')
    .replace(/\.git$/, '')
    .replace(/\/+$/, '');
  if (host === '' || path === '') return undefined;
  return `${host}/${path}`;
}

function decodeSafely(path: string): string {
  try {
    return decodeURIComponent(path);
  } catch {
    return path;
  }
}
