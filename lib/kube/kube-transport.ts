/** One request to the API server. `path` is the API path (with its query string) below the kubeconfig's server. */
export interface KubeRequest {
  /** What the call does, for messages: `patch GitRepository flux-system/app`. */
  what: string;
  method: 'GET' | 'POST' | 'PATCH';
  path: string;
  body?: unknown;
  contentType?: string;
  maxBytes: number;
  signal: AbortSignal;
  /** Work nobody waits for (a watch, a background relist): its socket must not keep a local process alive. */
  background?: boolean;
  /**
   * Only the status of a success matters (a created Event): its body is read to the end, within `maxBytes`, but not
   * kept or parsed, and `json` resolves to undefined. Error answers are still read for their Status message.
   */
  discardBody?: boolean;
  /**
   * Ask for a gzip answer (`Accept-Encoding: gzip`): for lists, which kube-apiserver compresses when over 128 KiB,
   * about a tenth of the bytes for GitRepository JSON. The size bound applies to the decompressed text.
   */
  acceptGzip?: boolean;
}

/** An open watch: the stream of decoded WatchEvents (closed by breaking out of the loop or aborting the signal). */
export type WatchStream = AsyncIterable<unknown>;

/** The HTTP side of a cluster, as the GitRepository index uses it. */
export interface KubeTransport {
  readonly cluster: string;
  json(request: KubeRequest): Promise<unknown>;
  /** Resolves once the API server answered 200 to the watch; rejects with a ClusterCallError otherwise. */
  watch(what: string, path: string, signal: AbortSignal): Promise<WatchStream>;
  /** Every page of a list, following `metadata.continue` as the API server hands it out. */
  listAll(
    what: string,
    path: string,
    query: Record<string, string>,
    signal: AbortSignal,
    background?: boolean,
  ): Promise<unknown[]>;
}

/** `?a=b&c=d`, or '' for no parameters. */
export function queryString(query: Record<string, string | undefined>): string {
  const params = new URLSearchParams();
  for (const [key, value] of Object.entries(query)) if (value !== undefined) params.set(key, value);
  const text = params.toString();
  return text ? `?${text}` : '';
}

/** `/apis/<group>/<version>[/namespaces/<ns>]/<plural>`, or `/api/v1/...` for the core group. */
export function collectionPath(apiVersion: string, plural: string, namespace: string | undefined): string {
  const root = apiVersion.includes('/') ? `/apis/${apiVersion}` : `/api/${apiVersion}`;
  return `${root}${namespace !== undefined ? `/namespaces/${encodeURIComponent(namespace)}` : ''}/${plural}`;
}
