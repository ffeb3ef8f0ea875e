import type { GitRepositoryRef } from '../matching/git-ref';
import type { FluxKind, FluxObjectRef } from './kinds';

/** What the relay needs to know of a GitRepository to decide whether a push concerns it. */
export interface GitRepositoryView {
  namespace: string;
  name: string;
  url: string;
  ref?: GitRepositoryRef;
  /** metadata.uid, so the Event about a reconcile can be recorded without waiting for the patch's answer. */
  uid?: string;
  /** repoKey(url), computed once per object version rather than once per delivery. */
  key?: string;
}

/** The relay's whole use of a cluster. The core depends on this, never on a Kubernetes client directly. */
export interface ClusterClient {
  /** All source.toolkit.fluxcd.io/v1 GitRepositories in the watched namespaces (or cluster-wide). */
  listGitRepositories(signal: AbortSignal): Promise<GitRepositoryView[]>;
  /**
   * The GitRepositories (as listGitRepositories would return them) whose `key` is in `keys`: the candidates of a
   * push, looked up by key instead of walking every GitRepository. Optional so that simpler clients (test fakes)
   * need not implement it; callers fall back to filtering listGitRepositories.
   */
  gitRepositoriesFor?(keys: ReadonlySet<string>, signal: AbortSignal): Promise<GitRepositoryView[]>;
  /**
   * Every object of `kind` (its GA apiVersion) in the watched namespaces (or cluster-wide), as the API server sent
   * it: what a registry push is routed over (lib/kube/artifact-sources.ts). Optional for test fakes.
   */
  listObjects?(kind: FluxKind, signal: AbortSignal): Promise<unknown[]>;
  /** Names of the objects of `target`'s kind in its namespace that carry all of `matchLabels`. */
  listNames(
    target: Omit<FluxObjectRef, 'name'>,
    matchLabels: Readonly<Record<string, string>>,
    signal: AbortSignal,
  ): Promise<string[]>;
  /**
   * Merge-patches `metadata.annotations["reconcile.fluxcd.io/requestedAt"]` to `value`, and nothing else. Resolves
   * to the patched object's uid (for the Event that follows).
   */
  requestReconcile(target: FluxObjectRef, value: string, signal: AbortSignal): Promise<{ uid?: string }>;
  /** The object's current `reconcile.fluxcd.io/requestedAt`, if any (a GET; used by retries only). */
  requestedAtOf?(target: FluxObjectRef, signal: AbortSignal): Promise<string | undefined>;
  /**
   * Records a Kubernetes Event on the object (`kubectl describe` shows it), as controllers do: type Normal, the
   * relay as source.
   */
  recordEvent(
    target: FluxObjectRef & { uid?: string },
    event: { reason: string; message: string },
    signal: AbortSignal,
  ): Promise<void>;
}

/** How a cluster call failed, for deciding whether to retry it and whether to rebuild the client. */
export type ClusterFailure = 'http' | 'timeout' | 'unreachable' | 'tls' | 'config';

/** A cluster call failed; `message` is fit for an answer and a log line (no credentials, no bodies). */
export class ClusterCallError extends Error {
  override readonly name = 'ClusterCallError';
  constructor(
    message: string,
    /** HTTP status from the API server, when it answered. */
    readonly status?: number,
    readonly failure: ClusterFailure = status === undefined ? 'unreachable' : 'http',
    /** With a 429: how long the API server asked us to wait (its `Retry-After`), when it said. */
    readonly retryAfterMs?: number,
  ) {
    super(message);
  }

  /**
   * Worth trying again later: the cluster did not answer, answered 5xx or 429, or refused our credentials (a rotated
   * service-account token is picked up by rebuilding the client). 403 (RBAC), 404 and 4xx validation errors are not:
   * a retry would get the same answer.
   */
  get retryable(): boolean {
    if (this.failure === 'timeout' || this.failure === 'unreachable' || this.failure === 'tls') return true;
    if (this.failure === 'config') return false;
    const status = this.status ?? 0;
    return status >= 500 || status === 429 || status === 401;
  }

  /** The API server rejected our credentials or the TLS session: the client must be rebuilt from a fresh kubeconfig. */
  get credentialsRejected(): boolean {
    return this.failure === 'tls' || this.status === 401;
  }
}
