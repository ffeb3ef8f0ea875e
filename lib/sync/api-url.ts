/**
 * The rule for a provider API root, and for the relay's public URL that hooks point at: `https:`, so neither the API
 * token that goes with every call nor the webhook secret that providers post with every delivery (GitLab's token,
 * Azure DevOps' Basic credential) is ever sent in clear text.
 * `http:` only to a loopback host and only when the configuration says so (tests and local development against a
 * loopback API), so that allowance can never reach a remote host. Checked in the configuration (lib/config/schema.ts,
 * naming the field) and again by the ApiClient, which every provider client uses.
 */
export function apiUrlProblem(url: string, allowHttpLoopback: boolean): string | undefined {
  const parsed = URL.canParse(url) ? new URL(url) : undefined;
  if (parsed?.protocol === 'https:') return undefined;
  if (parsed?.protocol === 'http:' && allowHttpLoopback && isLoopbackHost(parsed.hostname)) return undefined;
  return `must be an https: URL (http: only to a loopback host, with sync.allowHttpLoopback: true)`;
}

/**
 * A host name that can only mean this machine: `localhost`, an IPv4 literal in 127.0.0.0/8 (the URL parser has
 * already turned `127.1` or `0x7f.1` into dotted decimal) or `[::1]`. Names that merely start with 127 do not count.
 */
function isLoopbackHost(hostname: string): boolean {
  return hostname === 'localhost' || hostname === '[::1]' || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(hostname);
}
