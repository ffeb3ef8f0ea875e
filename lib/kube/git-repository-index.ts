import type { GitRepositoryView } from './cluster-client';
import { ClusterCallError } from './cluster-client';
import { parseGitRepositoryList, toGitRepositoryView } from './git-repository';
import { type KubeTransport, collectionPath, queryString } from './kube-transport';

export interface GitRepositoryIndexOptions {
  /** One list + watch per namespace; undefined: one cluster-wide. */
  namespaces?: readonly string[] | undefined;
  apiVersion: string;
  plural: string;
  /** Milliseconds clock for freshness (injectable so tests can move past freshMs without waiting). */
  now: () => number;
  /** false: no watch, every call lists (the behaviour before the index). */
  watch?: boolean;
  /**
   * Asked of the API server on every watch; it ends the stream after this long and the index re-watches. Below the
   * 350 s idle timeout of AWS NAT gateways and NLBs, so a connection that died silently is not trusted for longer.
   */
  watchTimeoutSeconds?: number;
  /** How long after the last proof of a live watch the index may answer; default watchTimeoutSeconds + 5 s. */
  freshMs?: number;
  /** After a 403/404/405 answer to a watch (RBAC without `watch`), list every time and try watching again after this. */
  watchRetryAfterForbiddenMs?: number;
  /** Budget of the list that reseeds a scope in the background after 410 Gone. */
  relistTimeoutMs?: number;
}

type Resolved = Required<Omit<GitRepositoryIndexOptions, 'namespaces'>>;

const defaultWatchTimeoutSeconds = 240;
/** A clean end this soon after the watch opened, with no event, counts as a server that will not hold a watch. */
const quickEndMs = 500;
const maxQuickEnds = 3;

/**
 * The GitRepositories of one cluster, answered from memory while a watch keeps them current.
 *
 * Correctness rule: a scope (a namespace, or the whole cluster) answers from memory only while its watch is
 * demonstrably live, i.e. its current watch stream is open (the API server answered 200 and has not ended or broken
 * it) and that stream was opened, or delivered an event (bookmarks included), within the last `freshMs`. The API
 * server ends every watch after `timeoutSeconds` and the index re-watches from the last resourceVersion, which opens
 * a new stream and so re-proves liveness; `freshMs` is therefore timeoutSeconds plus a few seconds. In every other
 * case (first use, after a Lambda freeze longer than freshMs, between a stream's end and the re-watch's 200, after a
 * watch error or a reset connection, 410 Gone, a watch forbidden by RBAC) the call lists the scope (paginated), and
 * that list reseeds the scope and restarts its watch from the list's resourceVersion. A silently dead connection
 * (no FIN, no RST) is trusted at most `freshMs`.
 *
 * What "current" means here: an answer from memory includes every change the API server has sent on the watch, so it
 * lags the API server by the watch's delivery latency (milliseconds on a healthy cluster). A GitRepository created
 * or re-created in the same instant as the push can be missed (Flux still fetches it at its spec.interval), and the
 * uid of an object re-created in that instant can be the old one (only the Event's involvedObject would carry it).
 * Tests that change objects and deliver at once must wait for the watch or use a client without RBAC `watch`.
 *
 * A call that finds a list of its scope in flight waits for that list instead of sending another. So a new
 * container's warm-up list serves its first delivery, which neither lists again nor waits for the watch to open. On
 * Lambda the container starts because of that delivery, so that list starts after the push was sent. Elsewhere (a
 * warm container whose watch broke) a joined list may have started shortly before the push: what it can miss is a
 * GitRepository created or changed in that instant, the same class as the watch's latency above, and Flux reconciles
 * a created object, or one whose spec changed, on its own at once.
 *
 * Before answering from memory the index lets pending I/O run once (setImmediate), so events that arrived while the
 * Lambda was frozen, and are waiting in the socket, are applied first.
 *
 * The watch never keeps the process alive (its socket is unref'd and no timer is left pending) and never throws:
 * every failure just makes the scope not fresh.
 *
 * Watch protocol: https://kubernetes.io/docs/reference/using-api/api-concepts/#efficient-detection-of-changes
 * (events after the given resourceVersion; 410 Gone means "relist"; bookmarks carry only a resourceVersion;
 * `timeoutSeconds` limits the call's duration "regardless of any activity or inactivity").
 */
export class GitRepositoryIndex {
  private readonly scopes: Scope[];

  constructor(transport: KubeTransport, options: GitRepositoryIndexOptions) {
    const watchTimeoutSeconds = options.watchTimeoutSeconds ?? defaultWatchTimeoutSeconds;
    const resolved: Resolved = {
      apiVersion: options.apiVersion,
      plural: options.plural,
      now: options.now,
      watch: options.watch ?? true,
      watchTimeoutSeconds,
      freshMs: options.freshMs ?? watchTimeoutSeconds * 1000 + 5000,
      watchRetryAfterForbiddenMs: options.watchRetryAfterForbiddenMs ?? 10 * 60_000,
      relistTimeoutMs: options.relistTimeoutMs ?? 30_000,
    };
    const namespaces: Array<string | undefined> = options.namespaces ? [...options.namespaces] : [undefined];
    this.scopes = namespaces.map((namespace) => new Scope(transport, namespace, resolved));
  }

  /** Every GitRepository of every scope. */
  async all(signal: AbortSignal): Promise<GitRepositoryView[]> {
    await this.settlePendingEvents();
    const perScope = await Promise.all(this.scopes.map((scope) => scope.views(signal)));
    // A new array every time: the caller may sort or filter it in place without touching the index's snapshot.
    return perScope.flat();
  }

  /** The GitRepositories whose key is one of `keys`, looked up by key when the scope answers from memory. */
  async forKeys(keys: ReadonlySet<string>, signal: AbortSignal): Promise<GitRepositoryView[]> {
    await this.settlePendingEvents();
    const perScope = await Promise.all(this.scopes.map((scope) => scope.viewsFor(keys, signal)));
    return perScope.flat();
  }

  /** Whether every scope would answer from memory now (for tests and diagnostics). */
  isFresh(): boolean {
    return this.scopes.every((scope) => scope.isFresh());
  }

  destroy(): void {
    for (const scope of this.scopes) scope.destroy();
  }

  private async settlePendingEvents(): Promise<void> {
    if (this.scopes.some((scope) => scope.isFresh())) await new Promise<void>((resolve) => setImmediate(resolve));
  }
}

/** One list + watch: a namespace, or the whole cluster. */
class Scope {
  private readonly byName = new Map<string, GitRepositoryView>();
  private readonly byKey = new Map<string, Map<string, GitRepositoryView>>();
  private snapshot: GitRepositoryView[] | undefined;
  private resourceVersion: string | undefined;
  /** Aborts the current watch (and the background relist) when the scope is reseeded or destroyed. */
  private watchController: AbortController | undefined;
  /** When the current stream was opened or last delivered an event; undefined while no stream is open. */
  private liveAt: number | undefined;
  private watchBlockedUntil = Number.NEGATIVE_INFINITY;
  /** The foreground list in flight, which other callers join. */
  private listing: Promise<GitRepositoryView[]> | undefined;
  private relisting = false;
  private destroyed = false;
  private readonly path: string;
  private readonly what: string;

  constructor(
    private readonly transport: KubeTransport,
    namespace: string | undefined,
    private readonly options: Resolved,
  ) {
    this.path = collectionPath(options.apiVersion, options.plural, namespace);
    this.what = `list GitRepositories${namespace !== undefined ? ` in ${namespace}` : ''}`;
  }

  isFresh(): boolean {
    return this.liveAt !== undefined && this.options.now() - this.liveAt <= this.options.freshMs;
  }

  async views(signal: AbortSignal): Promise<GitRepositoryView[]> {
    if (this.isFresh()) return (this.snapshot ??= [...this.byName.values()]);
    return this.sharedList(signal);
  }

  async viewsFor(keys: ReadonlySet<string>, signal: AbortSignal): Promise<GitRepositoryView[]> {
    if (!this.isFresh())
      return (await this.sharedList(signal)).filter((view) => view.key !== undefined && keys.has(view.key));
    const found: GitRepositoryView[] = [];
    for (const key of keys) {
      const views = this.byKey.get(key);
      if (views) found.push(...views.values());
    }
    return found;
  }

  destroy(): void {
    this.destroyed = true;
    this.stopWatch();
  }

  /**
   * The list in flight if there is one, else a new one. A joined list that fails (its caller's time ran out, say) is
   * not this caller's answer: it lists itself.
   */
  private async sharedList(signal: AbortSignal): Promise<GitRepositoryView[]> {
    const inFlight = this.listing;
    if (inFlight) {
      try {
        return await inFlight;
      } catch {
        // Listed below with this caller's own signal (an aborted one fails there, as a ClusterCallError).
      }
    }
    const listing = this.listAndSeed(signal);
    this.listing = listing;
    try {
      return await listing;
    } finally {
      if (this.listing === listing) this.listing = undefined;
    }
  }

  /** Lists the scope for this caller, and makes that list the scope's new base. */
  private async listAndSeed(signal: AbortSignal, background = false): Promise<GitRepositoryView[]> {
    const pages = await this.transport.listAll(this.what, this.path, {}, signal, background);
    const views = pages.flatMap(parseGitRepositoryList);
    // Every page of a paginated list is the same snapshot; its resourceVersion is where the watch starts.
    const rv = (pages[0] as { metadata?: { resourceVersion?: unknown } } | undefined)?.metadata?.resourceVersion;
    this.seed(views, typeof rv === 'string' && rv !== '' ? rv : undefined);
    return views;
  }

  private seed(views: readonly GitRepositoryView[], resourceVersion: string | undefined): void {
    this.stopWatch();
    this.byName.clear();
    this.byKey.clear();
    for (const view of views) this.put(view);
    this.snapshot = undefined;
    this.resourceVersion = resourceVersion;
    if (
      this.options.watch &&
      !this.destroyed &&
      resourceVersion !== undefined &&
      this.options.now() >= this.watchBlockedUntil
    )
      this.startWatch();
  }

  private stopWatch(): void {
    this.liveAt = undefined;
    this.watchController?.abort();
    this.watchController = undefined;
  }

  private startWatch(): void {
    const controller = new AbortController();
    this.watchController = controller;
    // Never rejects (watchLoop catches everything), but a floating promise must not be able to crash the process.
    this.watchLoop(controller).catch(() => undefined);
  }

  /** Watches from the last resourceVersion until an error, re-watching whenever the server ends a stream cleanly. */
  private async watchLoop(controller: AbortController): Promise<void> {
    const current = () => this.watchController === controller && !controller.signal.aborted;
    let quickEnds = 0;
    while (current()) {
      const path = `${this.path}${queryString({
        watch: '1',
        resourceVersion: this.resourceVersion,
        allowWatchBookmarks: 'true',
        timeoutSeconds: String(this.options.watchTimeoutSeconds),
      })}`;
      const opened = performance.now();
      let events = 0;
      let expired = false;
      try {
        const stream = await this.transport.watch(`watch GitRepositories`, path, controller.signal);
        if (!current()) return;
        this.liveAt = this.options.now();
        for await (const event of stream) {
          if (!current()) return;
          const outcome = this.apply(event);
          if (outcome === 'expired') {
            expired = true;
            break;
          }
          if (outcome === 'error') throw new Error('watch ERROR event');
          events += 1;
          this.liveAt = this.options.now();
        }
      } catch (error) {
        if (!current()) return;
        this.liveAt = undefined;
        const status = error instanceof ClusterCallError ? error.status : undefined;
        if (status === 410) this.relistInBackground(controller);
        // RBAC without `watch` (403), or a server without watch on this resource: stop asking for a while.
        else if (status === 403 || status === 404 || status === 405)
          this.watchBlockedUntil = this.options.now() + this.options.watchRetryAfterForbiddenMs;
        return;
      }
      if (!current()) return;
      this.liveAt = undefined;
      if (expired) {
        this.relistInBackground(controller);
        return;
      }
      quickEnds = events === 0 && performance.now() - opened < quickEndMs ? quickEnds + 1 : 0;
      if (quickEnds >= maxQuickEnds) return;
    }
  }

  /**
   * After 410 Gone the client must relist and watch from the new list's resourceVersion. Done at once rather than
   * by the next delivery, so that one does not pay for it; until it completes the scope is not fresh.
   */
  private relistInBackground(controller: AbortController): void {
    if (this.relisting || this.destroyed) return;
    this.relisting = true;
    const timer = setTimeout(() => controller.abort(), this.options.relistTimeoutMs);
    timer.unref();
    this.listAndSeed(controller.signal, true)
      .catch(() => undefined)
      .finally(() => {
        clearTimeout(timer);
        this.relisting = false;
      });
  }

  /** Applies one WatchEvent; 'expired' for 410 Gone, 'error' for any other ERROR or an unreadable event. */
  private apply(event: unknown): 'ok' | 'expired' | 'error' {
    const { type, object } = (event ?? {}) as { type?: unknown; object?: unknown };
    const metadata = (
      object as { metadata?: { name?: unknown; namespace?: unknown; resourceVersion?: unknown } } | undefined
    )?.metadata;
    switch (type) {
      case 'ADDED':
      case 'MODIFIED':
      case 'DELETED': {
        if (typeof metadata?.name !== 'string' || typeof metadata.namespace !== 'string') return 'error';
        this.remove(`${metadata.namespace}/${metadata.name}`);
        if (type !== 'DELETED') {
          // An object whose spec.url became unusable is dropped, exactly as a list would skip it.
          const view = toGitRepositoryView(object);
          if (view) this.put(view);
        }
        this.snapshot = undefined;
        break;
      }
      case 'BOOKMARK':
        break;
      case 'ERROR':
        return (object as { code?: unknown } | undefined)?.code === 410 ? 'expired' : 'error';
      default:
        return 'error';
    }
    if (typeof metadata?.resourceVersion === 'string' && metadata.resourceVersion !== '')
      this.resourceVersion = metadata.resourceVersion;
    return 'ok';
  }

  private put(view: GitRepositoryView): void {
    const name = `${view.namespace}/${view.name}`;
    this.byName.set(name, view);
    if (view.key === undefined) return;
    let views = this.byKey.get(view.key);
    if (!views) this.byKey.set(view.key, (views = new Map()));
    views.set(name, view);
  }

  private remove(name: string): void {
    const view = this.byName.get(name);
    if (!view) return;
    this.byName.delete(name);
    if (view.key === undefined) return;
    const views = this.byKey.get(view.key);
    views?.delete(name);
    if (views?.size === 0) this.byKey.delete(view.key);
  }
}
