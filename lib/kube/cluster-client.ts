import type { GitRepositoryRef } from '../matching/git-ref';
import type { FluxObjectRef } from './kinds';

/** What the relay needs to know of a GitRepository to decide whether a push concerns it. */
export interface GitRepositoryView {
  namespace: string;
  name: string;
  url: string;
  ref?: GitRepositoryRef;
}

/** The relay's whole use of a cluster. The core depends on this, never on a Kubernetes client directly. */
export interface ClusterClient {
  /** All source.toolkit.fluxcd.io/v1 GitRepositories in the watched namespaces (or cluster-wide). */
  listGitRepositories(signal: AbortSignal): Promise<GitRepositoryView[]>;
  /** Names of the objects of `target`'s kind in its namespace that carry all of `matchLabels`. */
  listNames(target: Omit<FluxObjectRef, 'name'>, matchLabels: Readonly<Record<string, string>>, signal: AbortSignal): Promise<string[]>;
  /**
   * Merge-patches `metadata.annotations["reconcile.fluxcd.io/requestedAt"]` to `value`, and nothing else. Resolves
   * to the patched object's uid (for the Event that follows).
   */
  requestReconcile(target: FluxObjectRef, value: string, signal: AbortSignal): Promise<{ uid?: string }>;
  /**
   * Records a Kubernetes Event on the object (`kubectl describe` shows it), as controllers do: type Normal, the
   * relay as source.
   */
  recordEvent(target: FluxObjectRef & { uid?: string }, event: { reason: string; message: string }, signal: AbortSignal): Promise<void>;
}

/** A cluster call failed; `message` is fit for an answer and a log line (no credentials, no bodies). */
export class ClusterCallError extends Error {
  override readonly name = 'ClusterCallError';
  constructor(
    message: string,
    /** HTTP status from the API server, when it answered. */
    readonly status?: number,
  ) {
    super(message);
  }
}
