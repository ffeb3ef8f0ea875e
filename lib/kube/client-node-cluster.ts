import https from 'node:https';
import {
  ApiException,
  CoreV1Api,
  CustomObjectsApi,
  KubeConfig,
  Observable,
  PatchStrategy,
  setHeaderOptions,
  type ConfigurationOptions,
  type ObservableMiddleware,
  type RequestContext,
} from '@kubernetes/client-node';
import { isAbortError } from '../abort';
import { parseGitRepositoryList } from './git-repository';
import { ClusterCallError, type ClusterClient, type GitRepositoryView } from './cluster-client';
import { type FluxObjectRef, fluxKinds, requestedAtAnnotation, splitApiVersion } from './kinds';

/**
 * client-node 1.x builds a new https.Agent for every request, i.e. a new TLS handshake per call (~3 ms on loopback,
 * far more across a VPC; ../shared/reference/toolchain.md). This KubeConfig keeps one keep-alive agent per cluster
 * with the TLS options client-node computed for the first request (CA, client certs, SNI).
 */
class KeepAliveKubeConfig extends KubeConfig {
  private agent: https.Agent | undefined;

  override async applySecurityAuthentication(context: RequestContext): Promise<void> {
    await super.applySecurityAuthentication(context);
    const fresh = context.getAgent();
    // Proxy agents (proxy-url in the kubeconfig) are subclasses with their own pooling; leave them alone.
    if (!(fresh instanceof https.Agent) || fresh.constructor !== https.Agent) return;
    this.agent ??= new https.Agent({ ...fresh.options, keepAlive: true, maxSockets: 32 });
    context.setAgent(this.agent);
  }

  destroy(): void {
    this.agent?.destroy();
  }
}

/** Options that attach an abort signal to one request (client-node 1.x takes it only through middleware). */
function withSignal(signal: AbortSignal): ConfigurationOptions {
  const middleware: ObservableMiddleware = {
    pre: (context) => {
      context.setSignal(signal);
      return new Observable(Promise.resolve(context));
    },
    post: (response) => new Observable(Promise.resolve(response)),
  };
  return { middleware: [middleware], middlewareMergeStrategy: 'append' };
}

const gitRepository = { ...splitApiVersion(fluxKinds.GitRepository.apiVersion), plural: fluxKinds.GitRepository.plural };
const pageSize = 500;
/** The Event source, as `kubectl describe` shows it ("From"). */
const eventSource = 'flux-webhook-relay';

export interface ClientNodeClusterOptions {
  /** Name used in messages. */
  name: string;
  kubeconfigYaml: string;
  /** Context to use; default the kubeconfig's current-context. */
  context?: string;
  /** Namespaces to list; default cluster-wide. */
  namespaces?: readonly string[];
}

/** ClusterClient over `@kubernetes/client-node`'s CustomObjectsApi. */
export class ClientNodeCluster implements ClusterClient {
  private readonly kubeConfig = new KeepAliveKubeConfig();
  private readonly api: CustomObjectsApi;
  private readonly core: CoreV1Api;

  constructor(private readonly options: ClientNodeClusterOptions) {
    try {
      this.kubeConfig.loadFromString(options.kubeconfigYaml);
    } catch (error) {
      // The parser's message may quote the document, which holds a token: keep only its first line's gist.
      throw new ClusterCallError(`cluster ${options.name}: kubeconfig is not valid (${firstLine(error)})`);
    }
    if (options.context) {
      if (!this.kubeConfig.getContextObject(options.context)) {
        throw new ClusterCallError(`cluster ${options.name}: kubeconfig has no context ${options.context}`);
      }
      this.kubeConfig.setCurrentContext(options.context);
    }
    if (!this.kubeConfig.getCurrentCluster()) {
      throw new ClusterCallError(`cluster ${options.name}: kubeconfig has no current cluster`);
    }
    this.api = this.kubeConfig.makeApiClient(CustomObjectsApi);
    this.core = this.kubeConfig.makeApiClient(CoreV1Api);
  }

  async listGitRepositories(signal: AbortSignal): Promise<GitRepositoryView[]> {
    const scopes: Array<string | undefined> = this.options.namespaces ? [...this.options.namespaces] : [undefined];
    const lists = await Promise.all(scopes.map((namespace) => this.listAll(namespace, signal)));
    return lists.flat();
  }

  private async listAll(namespace: string | undefined, signal: AbortSignal): Promise<GitRepositoryView[]> {
    const pages = await this.allPages(`list GitRepositories${namespace ? ` in ${namespace}` : ''}`, (continueToken) =>
      namespace
        ? this.api.listNamespacedCustomObject({ ...gitRepository, namespace, limit: pageSize, _continue: continueToken }, withSignal(signal))
        : this.api.listClusterCustomObject({ ...gitRepository, limit: pageSize, _continue: continueToken }, withSignal(signal)),
    );
    return pages.flatMap(parseGitRepositoryList);
  }

  /** Every page of a list, following `metadata.continue` as the API server hands it out. */
  private async allPages(what: string, fetchPage: (continueToken: string | undefined) => Promise<unknown>): Promise<unknown[]> {
    const pages: unknown[] = [];
    let continueToken: string | undefined;
    do {
      const page = await this.call(what, () => fetchPage(continueToken));
      pages.push(page);
      const next = (page as { metadata?: { continue?: unknown } } | undefined)?.metadata?.continue;
      continueToken = typeof next === 'string' && next !== '' ? next : undefined;
    } while (continueToken);
    return pages;
  }

  async listNames(target: Omit<FluxObjectRef, 'name'>, matchLabels: Readonly<Record<string, string>>, signal: AbortSignal): Promise<string[]> {
    const { group, version } = splitApiVersion(target.apiVersion);
    const labelSelector = Object.entries(matchLabels)
      .map(([key, value]) => `${key}=${value}`)
      .join(',');
    const pages = await this.allPages(`list ${target.kind} in ${target.namespace} with ${labelSelector}`, (continueToken) =>
      this.api.listNamespacedCustomObject(
        { group, version, namespace: target.namespace, plural: fluxKinds[target.kind].plural, labelSelector, limit: pageSize, _continue: continueToken },
        withSignal(signal),
      ),
    );
    return pages.flatMap((page) =>
      ((page as { items?: Array<{ metadata?: { name?: unknown } }> } | undefined)?.items ?? [])
        .map((item) => item.metadata?.name)
        .filter((name): name is string => typeof name === 'string'),
    );
  }

  async requestReconcile(target: FluxObjectRef, value: string, signal: AbortSignal): Promise<{ uid?: string }> {
    const { group, version } = splitApiVersion(target.apiVersion);
    const body = { metadata: { annotations: { [requestedAtAnnotation]: value } } };
    const patched = (await this.call(`patch ${target.kind} ${target.namespace}/${target.name}`, () =>
      this.api.patchNamespacedCustomObject(
        { group, version, namespace: target.namespace, plural: fluxKinds[target.kind].plural, name: target.name, body },
        // client-node 1.x defaults to a JSON patch; Flux and `flux reconcile` send a merge patch.
        setHeaderOptions('Content-Type', PatchStrategy.MergePatch, withSignal(signal)),
      ),
    )) as { metadata?: { uid?: unknown } } | undefined;
    const uid = patched?.metadata?.uid;
    return typeof uid === 'string' ? { uid } : {};
  }

  async recordEvent(target: FluxObjectRef & { uid?: string }, event: { reason: string; message: string }, signal: AbortSignal): Promise<void> {
    const now = new Date();
    await this.call(`record event on ${target.kind} ${target.namespace}/${target.name}`, () =>
      this.core.createNamespacedEvent(
        {
          namespace: target.namespace,
          body: {
            metadata: { generateName: `${target.name}.`, namespace: target.namespace },
            involvedObject: {
              apiVersion: target.apiVersion,
              kind: target.kind,
              name: target.name,
              namespace: target.namespace,
              ...(target.uid ? { uid: target.uid } : {}),
            },
            reason: event.reason,
            // The API server caps event messages at 1 KiB.
            message: event.message.slice(0, 1024),
            type: 'Normal',
            source: { component: eventSource },
            reportingComponent: eventSource,
            reportingInstance: eventSource,
            firstTimestamp: now,
            lastTimestamp: now,
            count: 1,
          },
        },
        withSignal(signal),
      ),
    );
  }

  destroy(): void {
    this.kubeConfig.destroy();
  }

  private async call<T>(what: string, fn: () => Promise<T>): Promise<T> {
    try {
      return await fn();
    } catch (error) {
      throw toClusterError(this.options.name, what, error);
    }
  }
}

function toClusterError(cluster: string, what: string, error: unknown): ClusterCallError {
  if (error instanceof ApiException) {
    const status = statusMessage(error.body);
    return new ClusterCallError(`${what}: HTTP ${error.code}${status ? ` ${status}` : ''}`, error.code);
  }
  if (isAbortError(error)) return new ClusterCallError(`${what}: timed out`);
  const code = (error as { code?: string } | undefined)?.code;
  return new ClusterCallError(`${what}: cluster ${cluster} unreachable (${code ?? firstLine(error)})`);
}

/** A Kubernetes `Status` body's reason and message, which say why (e.g. RBAC's "cannot patch resource ..."). */
export function statusMessage(body: unknown): string | undefined {
  let parsed = body;
  if (typeof body === 'string') {
    try {
      parsed = JSON.parse(body);
    } catch {
      return undefined;
    }
  }
  if (parsed && typeof parsed === 'object' && (parsed as { kind?: unknown }).kind === 'Status') {
    const { reason, message } = parsed as { reason?: unknown; message?: unknown };
    return [reason, message].filter((s): s is string => typeof s === 'string').join(': ').slice(0, 300) || undefined;
  }
  return undefined;
}

/** The first line of an error's message, bounded (parsers may quote whole documents, kubeconfigs hold tokens). */
export function firstLine(error: unknown): string {
  const text = error instanceof Error ? error.message : String(error);
  return (text.split('\n')[0] ?? '').slice(0, 200);
}
