/**
 * Reduces a Git repository URL to an identity key `host/path`, so the URL a provider puts in a payload and the one a
 * GitRepository clones from compare equal whatever form each uses. Following Argo CD's webhook matching
 * (util/webhook `GetWebURLRegex`): scheme, user, port and a `.git` suffix are ignored; host and path compare
 * case-insensitively (GitHub, GitLab and Azure DevOps treat paths case-insensitively); the `ssh.` / `altssh.` host
 * prefixes that GitHub and GitLab use for SSH over port 443 (and Azure DevOps for all SSH) name the same repository.
 * Percent-escapes are decoded in both syntaxes: Azure DevOps shows a project named `My Project` as `My%20Project` in
 * its HTTPS and its scp-like SSH clone URLs alike.
 *
 * Then one provider-specific step: Azure DevOps spells the same repository in forms whose paths differ (see
 * `azureDevOpsKey`), so those are rewritten to one canonical key.
 *
 * Returns undefined for something that is not a repository URL.
 *
 * Memoised: a push names the same four URLs (html, clone, ssh, git) as the pushes before it, and working one out
 * costs a WHATWG URL parse and a few regular expressions, about 5 µs and 1.3 KB of garbage each (~21 µs, 5 KB per
 * warm delivery before the cache; a lookup is a Map get). The function is pure, so a cached key is the computed one.
 */
export function repoKey(url: string): string | undefined {
  const cached = keyCache.get(url);
  if (cached !== undefined || keyCache.has(url)) return cached;
  const key = computeRepoKey(url);
  if (url.length <= maxCachedUrlLength) {
    // A crude bound (start over when full) is enough: a container sees a handful of repositories.
    if (keyCache.size >= maxCachedKeys) keyCache.clear();
    keyCache.set(url, key);
  }
  return key;
}

const maxCachedKeys = 1024;
const maxCachedUrlLength = 512;
const keyCache = new Map<string, string | undefined>();

function computeRepoKey(url: string): string | undefined {
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
    path = parsed.pathname;
  } else {
    // scp-like syntax, as git defines it: no "://", and a colon before any slash (`git@host:org/repo.git`).
    const scp = /^(?:[^@/]+@)?([^:/]+):(.+)$/.exec(text);
    if (!scp || !scp[1] || !scp[2]) return undefined;
    host = scp[1];
    path = scp[2];
  }
  host = host
    .toLowerCase()
    .replace(/^\[|\]$/g, '')
    .replace(/^(alt)?ssh\./, '');
  path = decodeSafely(path)
    .toLowerCase()
    .replace(/\/{2,}/g, '/')
    .replace(/^\/+|\/+$/g, '')
    .replace(/\.git$/, '')
    .replace(/\/+$/, '');
  if (host === '' || path === '') return undefined;
  return azureDevOpsKey(host, path) ?? `${host}/${path}`;
}

const part = '([^/]+)';
/** `org/[project/]_git/repo` on dev.azure.com. */
const azureHttpsPath = new RegExp(`^${part}/(?:${part}/)?_git/${part}$`);
/** `v3/org/project/repo` on ssh.dev.azure.com and vs-ssh.visualstudio.com. */
const azureSshPath = new RegExp(`^v3/${part}/${part}/${part}$`);
/** `[DefaultCollection/][project/]_git/repo` on org.visualstudio.com. */
const azureLegacyHttpsPath = new RegExp(`^(?:defaultcollection/)?(?:${part}/)?_git/${part}$`);
const azureLegacyHost = /^([a-z0-9][a-z0-9-]*)\.visualstudio\.com$/;

/**
 * Azure DevOps Services: every form below names repository `repo` of project `project` in organization `org`, and all
 * become `dev.azure.com/org/project/_git/repo` (host and path already lower-cased, `ssh.` already dropped, so
 * `ssh.dev.azure.com` arrives here as `dev.azure.com`):
 *
 * - `https://[user@]dev.azure.com/org/project/_git/repo`: the clone URL the portal shows and the payload's `remoteUrl`;
 *   Flux's Azure DevOps bootstrap guide uses it for HTTPS (fluxcd/website
 *   content/en/flux/installation/bootstrap/azure-devops.md).
 * - `[ssh://]git@ssh.dev.azure.com[:/]v3/org/project/repo`: the SSH clone URL (Microsoft, "Use SSH key
 *   authentication", MicrosoftDocs/azure-devops-docs docs/repos/git/use-ssh-keys-to-authenticate.md: "Up to date SSH
 *   URLs start with ssh.dev.azure.com. The previous URLs use vs-ssh.visualstudio.com"); Flux requires the `ssh://`
 *   spelling (`ssh://git@ssh.dev.azure.com/v3/<org>/<project>/<repository>` in the same Flux guide).
 * - `org@vs-ssh.visualstudio.com:v3/org/project/repo`: the previous SSH host, which "continue[s] to work".
 * - `https://org.visualstudio.com/[DefaultCollection/]project/_git/repo`: the organization URL before dev.azure.com;
 *   older payloads still carry it in `remoteUrl` (argoproj/argo-cd#20125, #22612).
 * - `.../_git/repo` with no project segment (`dev.azure.com/org/_git/repo`, `org.visualstudio.com/DefaultCollection/
 *   _git/repo`): the short form for the repository named like its project, as in Microsoft's own `git.push` sample
 *   (`DefaultCollection/_git/Fabrikam-Fiber-Git`, project `Fabrikam-Fiber-Git`).
 *
 * Argo CD matches none of these across forms (argoproj/argo-cd#16854: SSH-cloned apps are not refreshed by Azure
 * DevOps webhooks). Azure DevOps Server (on premises) keeps the same path over HTTPS and SSH
 * (`host/tfs/Collection/project/_git/repo`), so the generic rules already equate its forms.
 */
function azureDevOpsKey(host: string, path: string): string | undefined {
  let org: string | undefined;
  let project: string | undefined;
  let repo: string | undefined;
  if (host === 'dev.azure.com') {
    // The HTTPS form first, so that an organization named `v3` is not read as the SSH form.
    [, org, project, repo] = azureHttpsPath.exec(path) ?? azureSshPath.exec(path) ?? [];
  } else if (host === 'vs-ssh.visualstudio.com') {
    [, org, project, repo] = azureSshPath.exec(path) ?? [];
  } else {
    org = azureLegacyHost.exec(host)?.[1];
    if (org) [, project, repo] = azureLegacyHttpsPath.exec(path) ?? [];
  }
  if (!org || !repo) return undefined;
  return `dev.azure.com/${org}/${project ?? repo}/_git/${repo}`;
}

function decodeSafely(path: string): string {
  try {
    return decodeURIComponent(path);
  } catch {
    return path;
  }
}
