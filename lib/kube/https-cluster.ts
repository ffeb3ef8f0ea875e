import { withoutTrailingSlashes } from '../http/trailing-slashes';
import { readFile } from 'node:fs/promises';
import https from 'node:https';
import type { IncomingMessage } from 'node:http';
import { pipeline, type Readable } from 'node:stream';
import type { Socket } from 'node:net';
import tls from 'node:tls';
import { createGunzip } from 'node:zlib';
import { isAbortError, remainingMs, sleep } from '../time/abort';
import { ClusterCallError, type ClusterClient, type ClusterFailure, type GitRepositoryView } from './cluster-client';
import { GitRepositoryIndex } from './git-repository-index';
import { type FluxKind, type FluxObjectRef, fluxKinds, requestedAtAnnotation } from './kinds';
import { type KubeRequest, type KubeTransport, type WatchStream, collectionPath, queryString } from './kube-transport';
import { type BearerSource, type ClusterEndpoint, readKubeconfig } from './kubeconfig';
import { firstLine, statusMessage } from './status';

/*
 * Why not @kubernetes/client-node: its API classes cost ~1 MB of bundle and ~72 ms of require() at every cold start,
 * and even its KubeConfig alone 831 KB / 62 ms (docs/decisions.md), for what are four kinds of JSON
 * request. This client is node:https with one keep-alive agent per cluster and the `yaml` parser the relay already
 * loads.
 *
 * Kubeconfigs this reader does not understand (exec and auth-provider plugins, basic auth, impersonation,
 * proxy-url) are refused with a 'config' failure that points at `npm run kubeconfig`, instead of falling back to a
 * lazily imported client-node KubeConfig: that fallback would cost ~75 ms of every cold start even when no kubeconfig
 * needs it (docs/decisions.md), for kubeconfigs that mostly could not work on Lambda anyway (no aws/gcloud/kubelogin
 * CLI there).
 */

/** Bounds on what is read from the API server, so a hostile or broken server cannot exhaust the Lambda's memory. */
const maxListPageBytes = 64 * 1024 * 1024;
/** One object or Status; etcd refuses objects over 1.5 MiB by default (kube-apiserver --max-request-bytes). */
const maxObjectBytes = 4 * 1024 * 1024;
/** An error answer is only read for its Status reason and message. */
const maxErrorBytes = 64 * 1024;

const pageSize = 500;
/**
 * How often one request is sent again after a 429 that says when (`Retry-After`): API Priority and Fairness rejects
 * with one when a priority level's queues are full (https://kubernetes.io/docs/concepts/cluster-administration/flow-control/).
 * Bounded, so a storm of 429s costs at most three requests per call; what is still refused then fails as retryable
 * and goes to the retry queue.
 */
const maxThrottleRetries = 2;
/** The shortest wait after a 429, whatever it says: never back-to-back requests into a throttled API server. */
const minThrottleWaitMs = 1000;
/** What a request needs after the wait: a wait that leaves less than this of the call's time is not worth it. */
const throttledRequestMs = 250;
/** The Event source, as `kubectl describe` shows it ("From"). */
const eventSource = 'flux-webhook-relay';
/** client-go re-reads a tokenFile once a minute (k8s.io/client-go/transport NewCachedFileTokenSource). */
const tokenFileTtlMs = 60_000;

/**
 * Certificate and handshake failures (Node's X509 verification codes, https://nodejs.org/api/tls.html#x509-certificate-error-codes,
 * plus hostname and protocol errors). They say the CA, server certificate or client certificate is not what the
 * kubeconfig expects: the registry rebuilds the client from a freshly read kubeconfig.
 */
const tlsErrorCodes = new Set([
  'UNABLE_TO_GET_ISSUER_CERT',
  'UNABLE_TO_GET_CRL',
  'UNABLE_TO_DECRYPT_CERT_SIGNATURE',
  'UNABLE_TO_DECRYPT_CRL_SIGNATURE',
  'UNABLE_TO_DECODE_ISSUER_PUBLIC_KEY',
  'CERT_SIGNATURE_FAILURE',
  'CRL_SIGNATURE_FAILURE',
  'CERT_NOT_YET_VALID',
  'CERT_HAS_EXPIRED',
  'CRL_NOT_YET_VALID',
  'CRL_HAS_EXPIRED',
  'ERROR_IN_CERT_NOT_BEFORE_FIELD',
  'ERROR_IN_CERT_NOT_AFTER_FIELD',
  'ERROR_IN_CRL_LAST_UPDATE_FIELD',
  'ERROR_IN_CRL_NEXT_UPDATE_FIELD',
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'SELF_SIGNED_CERT_IN_CHAIN',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'CERT_CHAIN_TOO_LONG',
  'CERT_REVOKED',
  'INVALID_CA',
  'PATH_LENGTH_EXCEEDED',
  'INVALID_PURPOSE',
  'CERT_UNTRUSTED',
  'CERT_REJECTED',
  'HOSTNAME_MISMATCH',
  'ERR_TLS_CERT_ALTNAME_INVALID',
  'EPROTO',
]);

function failureOfCode(code: string | undefined): ClusterFailure {
  if (code && (tlsErrorCodes.has(code) || code.startsWith('ERR_SSL_') || code.startsWith('ERR_TLS_'))) return 'tls';
  // ECONNREFUSED, ECONNRESET (also "socket hang up"), ENOTFOUND, EHOSTUNREACH, ENETUNREACH, ETIMEDOUT, EAI_AGAIN, ...
  return 'unreachable';
}

export interface HttpsClusterOptions {
  /** Name used in messages. */
  name: string;
  /** The kubeconfig to read the endpoint and credentials from, unless `endpoint` is given. */
  kubeconfigYaml?: string;
  /** The endpoint and credentials, when they do not come from a kubeconfig (EKS). */
  endpoint?: ClusterEndpoint;
  /** Context to use; default the kubeconfig's current-context. */
  context?: string;
  /** Namespaces to list; default cluster-wide. */
  namespaces?: readonly string[];
  /** Milliseconds clock for the GitRepository index's freshness and the tokenFile cache; injectable for tests. */
  now?: () => number;
  /**
   * The GitRepository index (list + watch; see GitRepositoryIndex). `false` lists on every call, as before the
   * index existed.
   */
  index?: false | { watchTimeoutSeconds?: number; freshMs?: number; watchRetryAfterForbiddenMs?: number };
  /**
   * Whether the first list opens two spare connections (see listAll): for the relay, whose first delivery then
   * patches on connections that are ready. Default true; the sync, which lists and never patches, turns it off.
   */
  spareConnections?: boolean;
}

/**
 * The agent of one cluster. Every request it carries goes to the same host, port and TLS settings, so its connection
 * pool needs one key: Node's https.Agent#getName (documented as overridable) builds that key per request and again
 * when the socket is freed, concatenating every TLS option (about 2 KB of strings per request on the warm path).
 */
class ClusterAgent extends https.Agent {
  private readonly poolName: string;

  constructor(options: https.AgentOptions & { host: string; port: number }) {
    super(options);
    this.poolName = super.getName({
      host: options.host,
      port: options.port,
      ...(options.servername ? { servername: options.servername } : {}),
    });
  }

  override getName(): string {
    return this.poolName;
  }
}

/** Where a pooled socket notes when it went back to the pool, by the transport's clock (see HttpsTransport.send). */
const idleSince = Symbol('idleSince');
/**
 * A kept-alive connection idle this long may have been closed by the API server (kube-apiserver: after 90 s,
 * k8s.io/apiserver/pkg/server/secure_serving.go IdleTimeout): one unanswered reset on it is sent again.
 */
const staleAfterIdleMs = 60_000;

/** The node:https side: one keep-alive agent, bearer token or client certificate, JSON in and out, bounded reads. */
class HttpsTransport implements KubeTransport {
  readonly agent: https.Agent;
  private readonly host: string;
  private readonly port: number;
  private readonly basePath: string;
  /** The Host header Node would write for host and port (IPv6 in brackets, the port unless it is 443). */
  private readonly hostHeader: string;
  /** `Bearer <token>` for a kubeconfig token; the tokenFile case is read (and re-read) per request. */
  private readonly staticAuthorization: string | undefined;
  private tokenFromFile: { token: string; readAt: number } | undefined;
  /** Whether the first list opened its spare connections (see listAll); set from the start when it must not. */
  private spareOpened: boolean;

  constructor(
    readonly cluster: string,
    private readonly endpoint: ClusterEndpoint,
    private readonly now: () => number,
    spareConnections = true,
  ) {
    this.spareOpened = !spareConnections;
    const { server, tls: tlsOptions } = endpoint;
    let secureContext: tls.SecureContext | undefined;
    try {
      // Built once: every new connection of the agent reuses it instead of parsing the CA and key again.
      secureContext = tls.createSecureContext({
        ...(tlsOptions.ca ? { ca: tlsOptions.ca } : {}),
        ...(tlsOptions.cert ? { cert: tlsOptions.cert, key: tlsOptions.key } : {}),
      });
    } catch (error) {
      const code = (error as { code?: string }).code;
      const what = endpoint.bearer
        ? 'EKS certificate authority'
        : 'kubeconfig certificate authority or client certificate/key';
      throw new ClusterCallError(
        `cluster ${cluster}: ${what} could not be loaded (${code ?? 'invalid PEM'})`,
        undefined,
        'config',
      );
    }
    this.host = server.hostname.replace(/^\[|\]$/g, '');
    this.port = server.port ? Number(server.port) : 443;
    this.basePath = withoutTrailingSlashes(server.pathname);
    this.hostHeader = `${this.host.includes(':') ? `[${this.host}]` : this.host}${this.port !== 443 ? `:${this.port}` : ''}`;
    this.staticAuthorization = endpoint.token !== undefined ? `Bearer ${endpoint.token}` : undefined;
    this.agent = new ClusterAgent({
      host: this.host,
      port: this.port,
      keepAlive: true,
      maxSockets: 32,
      secureContext,
      rejectUnauthorized: tlsOptions.rejectUnauthorized,
      ...(tlsOptions.servername ? { servername: tlsOptions.servername } : {}),
    });
    // The agent emits 'free' when a kept-alive socket goes back to the pool.
    this.agent.on('free', (socket: Socket & { [idleSince]?: number }) => {
      socket[idleSince] = this.now();
    });
  }

  /** Bearer token header, if the kubeconfig has one. */
  private async authorizationFromFile(file: string): Promise<string | undefined> {
    // Re-read like client-go, because a projected service-account token file is rotated in place (the kubeconfig
    // text does not change, so the registry would never rebuild this client).
    if (!this.tokenFromFile || this.now() - this.tokenFromFile.readAt >= tokenFileTtlMs) {
      try {
        const token = (await readFile(file, 'utf8')).trim();
        this.tokenFromFile = { token, readAt: this.now() };
      } catch (error) {
        // A token read before keeps working until the API server refuses it; only a first read failing is fatal.
        if (!this.tokenFromFile) {
          const code = (error as NodeJS.ErrnoException).code;
          throw new ClusterCallError(
            `cluster ${this.cluster}: kubeconfig tokenFile ${file} could not be read (${code ?? firstLine(error)})`,
            undefined,
            'config',
          );
        }
      }
    }
    return this.tokenFromFile ? `Bearer ${this.tokenFromFile.token}` : undefined;
  }

  private open(request: KubeRequest): Promise<IncomingMessage> {
    const { bearer } = this.endpoint;
    if (bearer) return this.openWithBearer(request, bearer);
    const file = this.staticAuthorization === undefined ? this.endpoint.tokenFile : undefined;
    // A token from the kubeconfig (the usual case) needs no await, so the request is written in the caller's tick.
    if (file === undefined) return this.send(request, this.staticAuthorization);
    return this.authorizationFromFile(file).then((authorization) => this.send(request, authorization));
  }

  /**
   * With a token the relay signs itself (EKS): a 401 means the API server did not take this token (clock skew, a token
   * signed just before credentials changed, a role's credentials revoked), so a new one is made and the request sent
   * once more. (client-go's exec credential support, k8s.io/client-go/plugin/pkg/client/auth/exec, refreshes its
   * credential after a 401 for the next request; resending this one as well spares the delivery a failure.) Every
   * request the relay sends is safe to repeat after a 401: nothing was done.
   */
  private openWithBearer(request: KubeRequest, bearer: BearerSource): Promise<IncomingMessage> {
    let first: Promise<IncomingMessage>;
    try {
      const token = bearer.current();
      first =
        typeof token === 'string'
          ? this.send(request, `Bearer ${token}`)
          : token.then((t) => this.send(request, `Bearer ${t}`));
    } catch (error) {
      first = Promise.reject(error);
    }
    return first.then((res) => {
      if (res.statusCode !== 401 || request.signal.aborted) return res;
      // Read to its end, so the connection goes back to the pool.
      res.resume();
      return bearer.renew().then((token) => this.send(request, `Bearer ${token}`));
    });
  }

  private send(request: KubeRequest, authorization: string | undefined, resent = false): Promise<IncomingMessage> {
    const { what, signal } = request;
    if (signal.aborted) return Promise.reject(this.errorOf(what, signal.reason));
    // A string body: Node writes the headers and a string body as one string (one TLS record, one write), where a
    // Buffer body goes out as a two-chunk writev. Headers as a flat list are stored as they are, without
    // ClientRequest's per-header setHeader; they are what Node would write for the object form (Host included).
    const body = request.body === undefined ? undefined : JSON.stringify(request.body);
    const headers = ['Host', this.hostHeader, 'Accept', 'application/json', 'User-Agent', eventSource];
    if (authorization) headers.push('Authorization', authorization);
    if (request.acceptGzip) headers.push('Accept-Encoding', 'gzip');
    if (body !== undefined)
      headers.push(
        'Content-Type',
        request.contentType ?? 'application/json',
        'Content-Length',
        String(Buffer.byteLength(body)),
      );
    return new Promise<IncomingMessage>((resolve, reject) => {
      const req = https.request({
        agent: this.agent,
        host: this.host,
        port: this.port,
        method: request.method,
        path: `${this.basePath}${request.path}`,
        headers,
      });
      let response: IncomingMessage | undefined;
      let settled = false;
      const fail = (error: unknown) => {
        if (settled) return;
        settled = true;
        signal.removeEventListener('abort', onAbort);
        reject(this.errorOf(what, signal.aborted ? signal.reason : error));
      };
      // One listener for the whole exchange: before the answer an abort fails the request, after it (while the
      // caller reads the body) it tears the response down; removed once the response is closed.
      function onAbort() {
        if (response) {
          response.destroy();
          return;
        }
        fail(signal.reason);
        req.destroy();
      }
      signal.addEventListener('abort', onAbort, { once: true });
      // Nobody waits for a watch (minutes long) or a background relist: they must not keep a local process (CLI,
      // tests, serverless-offline) alive. The agent re-refs the socket when it hands it to the next ordinary request.
      if (request.background) req.on('socket', (socket) => socket.unref());
      req.on('error', (error: unknown) => {
        // A kept-alive connection the API server closed while it sat idle (kube-apiserver closes them after 90 s) fails
        // the first request written to it, unanswered: a Lambda thawed after a longer freeze can write before it has
        // read the close. Such a request is sent once more on another connection, as Node's documentation advises
        // (http `request.reusedSocket`) and Go's client does. A reset on a connection used within the last minute is
        // the cluster's answer and fails as before.
        const code = (error as { code?: unknown }).code;
        const freedAt = (req.socket as (Socket & { [idleSince]?: number }) | null)?.[idleSince];
        if (
          !resent &&
          !settled &&
          !signal.aborted &&
          req.reusedSocket &&
          (code === 'ECONNRESET' || code === 'EPIPE') &&
          freedAt !== undefined &&
          this.now() - freedAt >= staleAfterIdleMs
        ) {
          settled = true;
          signal.removeEventListener('abort', onAbort);
          resolve(this.send(request, authorization, true));
          return;
        }
        fail(error);
      });
      req.on('response', (res) => {
        if (settled) {
          res.destroy();
          return;
        }
        settled = true;
        response = res;
        res.once('close', () => signal.removeEventListener('abort', onAbort));
        resolve(res);
      });
      req.end(body);
    });
  }

  /**
   * One request, sent again after a 429 when the API server said how long to wait (client-go does the same with
   * Retry-After, k8s.io/client-go/rest `checkWait`) and that wait fits in what is left of the call's time (its
   * signal's deadline, lib/time/abort.ts). Otherwise the 429 fails the call at once, as retryable, without another request.
   */
  async json(request: KubeRequest): Promise<unknown> {
    for (let retries = 0; ; retries++) {
      try {
        return await this.jsonOnce(request);
      } catch (error) {
        const wait = throttleWaitMs(error, request.signal, retries);
        if (wait === undefined) throw error;
        try {
          await sleep(wait, request.signal);
        } catch (aborted) {
          throw this.errorOf(request.what, aborted);
        }
      }
    }
  }

  private async jsonOnce(request: KubeRequest): Promise<unknown> {
    const res = await this.open(request);
    const status = res.statusCode ?? 0;
    const ok = status >= 200 && status < 300;
    if (ok && request.discardBody) {
      await this.readBody(res, request.maxBytes, request, true, false);
      return undefined;
    }
    const text = await this.readBody(res, ok ? request.maxBytes : maxErrorBytes, request, ok, true);
    if (!ok) throw this.httpError(request.what, status, text, status === 429 ? retryAfterMsOf(res, text) : undefined);
    try {
      return JSON.parse(text);
    } catch {
      throw new ClusterCallError(`${request.what}: HTTP ${status} answer is not JSON`, status, 'http');
    }
  }

  /**
   * The body as text, at most `maxBytes` (an error answer is cut there; a success over the bound is a failure); with
   * `keep` false it is only read to its end (the connection goes back to the pool) and '' is returned. Plain stream
   * events rather than `for await`: the async iterator and its end-of-stream tracking cost about 10 µs and 1 KB per
   * response on the warm path, for the same outcome (an error, or a close before the end, rejects).
   */
  private readBody(
    res: IncomingMessage,
    maxBytes: number,
    request: KubeRequest,
    mustFit: boolean,
    keep: boolean,
  ): Promise<string> {
    const encoding = res.headers['content-encoding'];
    // Only what was asked for: kube-apiserver compresses with gzip alone, and only when the request accepts it.
    if (encoding !== undefined && encoding !== 'identity' && !(encoding === 'gzip' && request.acceptGzip)) {
      res.destroy();
      return Promise.reject(
        new ClusterCallError(
          `${request.what}: answer in content encoding ${JSON.stringify(encoding.slice(0, 40))}, which was not asked for`,
          res.statusCode,
          'http',
        ),
      );
    }
    // Decompressed as it arrives: `maxBytes` bounds the text, so a small answer that inflates without end (a
    // "zip bomb") is cut at the bound like any oversized answer. pipeline() carries a broken connection through.
    const source: Readable = encoding === 'gzip' ? pipeline(res, createGunzip(), () => undefined) : res;
    const destroy = () => {
      source.destroy();
      res.destroy();
    };
    return new Promise<string>((resolve, reject) => {
      const chunks: Buffer[] = [];
      let size = 0;
      let done = false;
      const finish = (error: unknown, text?: string) => {
        if (done) return;
        done = true;
        source.off('data', onData);
        source.off('end', onEnd);
        source.off('error', onError);
        source.off('close', onClose);
        if (error === undefined) resolve(text ?? '');
        else
          reject(
            error instanceof ClusterCallError
              ? error
              : this.errorOf(request.what, request.signal.aborted ? request.signal.reason : error),
          );
      };
      const onData = (bytes: Buffer) => {
        size += bytes.length;
        if (size > maxBytes) {
          if (mustFit) {
            finish(
              new ClusterCallError(`${request.what}: answer larger than ${maxBytes} bytes`, res.statusCode, 'http'),
            );
            destroy();
            return;
          }
          if (keep) chunks.push(bytes.subarray(0, bytes.length - (size - maxBytes)));
          finish(undefined, Buffer.concat(chunks).toString('utf8'));
          destroy();
          return;
        }
        if (keep) chunks.push(bytes);
      };
      const onEnd = () =>
        finish(
          undefined,
          keep ? (chunks.length === 1 ? chunks[0]!.toString('utf8') : Buffer.concat(chunks).toString('utf8')) : '',
        );
      const onError = (error: unknown) => {
        const code = (error as { code?: unknown }).code;
        // zlib's errors (Z_DATA_ERROR, Z_BUF_ERROR: not gzip, cut short) are the answer's fault, not the network's.
        if (typeof code === 'string' && code.startsWith('Z_'))
          finish(new ClusterCallError(`${request.what}: answer is not valid gzip (${code})`, res.statusCode, 'http'));
        else finish(error);
      };
      const onClose = () => finish(Object.assign(new Error('Premature close'), { code: 'ERR_STREAM_PREMATURE_CLOSE' }));
      source.on('data', onData);
      source.on('end', onEnd);
      source.on('error', onError);
      source.on('close', onClose);
    });
  }

  async listAll(
    what: string,
    path: string,
    query: Record<string, string>,
    signal: AbortSignal,
    background = false,
  ): Promise<unknown[]> {
    // The first list of a new client (a cold start's) opens two more connections beside its own: the watch that
    // follows the list holds one for minutes, and the first delivery's patch and Event, sent together, then both find
    // one ready instead of one of them waiting for TCP and TLS (two round trips). GET /version is the API server's
    // cheapest answer (no storage read) and every authenticated identity may read it (system:public-info-viewer);
    // its failure changes nothing. The list resolves after them, so they are back in the pool before anyone patches.
    const spare = this.spareOpened
      ? undefined
      : Promise.all([this.openSpareConnection(signal), this.openSpareConnection(signal)]);
    this.spareOpened = true;
    const pages: unknown[] = [];
    let continueToken: string | undefined;
    do {
      const page = await this.json({
        what,
        method: 'GET',
        path: `${path}${queryString({ ...query, limit: String(pageSize), continue: continueToken })}`,
        maxBytes: maxListPageBytes,
        signal,
        background,
        acceptGzip: true,
      });
      pages.push(page);
      const next = (page as { metadata?: { continue?: unknown } } | undefined)?.metadata?.continue;
      continueToken = typeof next === 'string' && next !== '' ? next : undefined;
    } while (continueToken);
    await spare;
    return pages;
  }

  private openSpareConnection(signal: AbortSignal): Promise<void> {
    return this.json({ what: 'get version', method: 'GET', path: '/version', maxBytes: 64 * 1024, signal }).then(
      () => undefined,
      () => undefined,
    );
  }

  async watch(what: string, path: string, signal: AbortSignal): Promise<WatchStream> {
    const request: KubeRequest = {
      what,
      method: 'GET',
      path,
      maxBytes: maxObjectBytes,
      signal,
      background: true,
    };
    const res = await this.open(request);
    const status = res.statusCode ?? 0;
    if (status !== 200)
      throw this.httpError(what, status, await this.readBody(res, maxErrorBytes, request, false, true));
    return this.watchEvents(res, request);
  }

  /**
   * The watch body: one JSON WatchEvent per line, `{"type":"ADDED|MODIFIED|DELETED|BOOKMARK|ERROR","object":{...}}`
   * (https://kubernetes.io/docs/reference/using-api/api-concepts/#efficient-detection-of-changes). Ends when the
   * server ends the stream; throws when the connection breaks or a line exceeds the object bound.
   */
  private async *watchEvents(res: IncomingMessage, request: KubeRequest): AsyncGenerator<unknown> {
    res.setEncoding('utf8');
    let pending = '';
    try {
      for await (const chunk of res) {
        pending += chunk as string;
        let newline: number;
        while ((newline = pending.indexOf('\n')) >= 0) {
          const line = pending.slice(0, newline).trim();
          pending = pending.slice(newline + 1);
          if (line === '') continue;
          let event: unknown;
          try {
            event = JSON.parse(line);
          } catch {
            throw new ClusterCallError(`${request.what}: watch event is not JSON`, 200, 'http');
          }
          yield event;
        }
        if (pending.length > request.maxBytes)
          throw new ClusterCallError(`${request.what}: watch event larger than ${request.maxBytes} bytes`, 200, 'http');
      }
    } catch (error) {
      if (error instanceof ClusterCallError) throw error;
      throw this.errorOf(request.what, request.signal.aborted ? request.signal.reason : error);
    } finally {
      res.destroy();
    }
  }

  private httpError(what: string, status: number, body: string, retryAfterMs?: number): ClusterCallError {
    // APF's 429 is plain text ("Too many requests, please try again later."), not a Status.
    const reason = statusMessage(body) ?? (status === 429 ? firstLine(body.slice(0, 200)) || undefined : undefined);
    return new ClusterCallError(`${what}: HTTP ${status}${reason ? ` ${reason}` : ''}`, status, 'http', retryAfterMs);
  }

  errorOf(what: string, error: unknown): ClusterCallError {
    if (error instanceof ClusterCallError) return error;
    if (isAbortError(error)) return new ClusterCallError(`${what}: timed out`, undefined, 'timeout');
    const code = (error as { code?: unknown } | undefined)?.code;
    const codeText = typeof code === 'string' ? code : undefined;
    const failure = failureOfCode(codeText);
    if (failure === 'tls') {
      // Node's TLS messages name certificates and hosts, never keys or tokens ("unable to verify the first certificate").
      return new ClusterCallError(
        `${what}: cluster ${this.cluster} TLS failed (${codeText}: ${firstLine(error)})`,
        undefined,
        'tls',
      );
    }
    return new ClusterCallError(
      `${what}: cluster ${this.cluster} unreachable (${codeText ?? firstLine(error)})`,
      undefined,
      'unreachable',
    );
  }

  destroy(): void {
    this.agent.destroy();
  }
}

/**
 * A 429's wait: the `Retry-After` header in whole seconds (what kube-apiserver sends, both from API Priority and
 * Fairness and with apimachinery's NewTooManyRequests), else the Status's `details.retryAfterSeconds`.
 */
function retryAfterMsOf(res: IncomingMessage, body: string): number | undefined {
  const header = res.headers['retry-after'];
  if (typeof header === 'string' && /^\s*\d{1,6}\s*$/.test(header)) return Number(header) * 1000;
  try {
    const seconds = (JSON.parse(body) as { details?: { retryAfterSeconds?: unknown } } | null)?.details
      ?.retryAfterSeconds;
    return typeof seconds === 'number' && Number.isInteger(seconds) && seconds >= 0 ? seconds * 1000 : undefined;
  } catch {
    return undefined;
  }
}

/** How long to wait before sending a throttled request again, or undefined when it must fail now (see `json`). */
function throttleWaitMs(error: unknown, signal: AbortSignal, retries: number): number | undefined {
  if (
    !(error instanceof ClusterCallError) ||
    error.status !== 429 ||
    error.retryAfterMs === undefined ||
    retries >= maxThrottleRetries
  )
    return undefined;
  const wait = Math.max(error.retryAfterMs, minThrottleWaitMs);
  const left = remainingMs(signal);
  return left !== undefined && wait + throttledRequestMs <= left ? wait : undefined;
}

const gitRepositoryKind = fluxKinds.GitRepository;

/**
 * ClusterClient over node:https. GitRepositories come from a GitRepositoryIndex per namespace (or one cluster-wide),
 * kept current by a watch; everything else is a plain request.
 */
export class HttpsCluster implements ClusterClient {
  private readonly transport: HttpsTransport;
  private readonly index: GitRepositoryIndex;
  private readonly namespaces: readonly string[] | undefined;

  constructor(options: HttpsClusterOptions) {
    const endpoint =
      options.endpoint ??
      readKubeconfig(options.kubeconfigYaml ?? '', {
        name: options.name,
        ...(options.context ? { context: options.context } : {}),
      });
    const now = options.now ?? Date.now;
    this.transport = new HttpsTransport(options.name, endpoint, now, options.spareConnections ?? true);
    this.namespaces = options.namespaces;
    const indexOptions = options.index === false ? { watch: false as const } : { ...options.index };
    this.index = new GitRepositoryIndex(this.transport, {
      namespaces: options.namespaces,
      now,
      apiVersion: gitRepositoryKind.apiVersion,
      plural: gitRepositoryKind.plural,
      ...indexOptions,
    });
  }

  /** All GitRepositories of the watched namespaces (or cluster-wide): from the index while its watch is live, else listed. */
  listGitRepositories(signal: AbortSignal): Promise<GitRepositoryView[]> {
    return this.index.all(signal);
  }

  /**
   * The GitRepositories whose `key` (repoKey of spec.url) is one of `keys`: what a push can concern, without
   * walking every GitRepository of the cluster. Same freshness rule as listGitRepositories.
   */
  gitRepositoriesFor(keys: ReadonlySet<string>, signal: AbortSignal): Promise<GitRepositoryView[]> {
    return this.index.forKeys(keys, signal);
  }

  /** Whether the next listGitRepositories would answer from memory (every scope's watch live); for tests and diagnostics. */
  gitRepositoryIndexIsFresh(): boolean {
    return this.index.isFresh();
  }

  async listObjects(kind: FluxKind, signal: AbortSignal): Promise<unknown[]> {
    const { apiVersion, plural } = fluxKinds[kind];
    const scopes = this.namespaces?.length ? this.namespaces : [undefined];
    const lists = await Promise.all(
      scopes.map((namespace) =>
        this.transport.listAll(
          `list ${kind}${namespace ? ` in ${namespace}` : ''}`,
          collectionPath(apiVersion, plural, namespace),
          {},
          signal,
        ),
      ),
    );
    return lists.flat().flatMap((page) => {
      const items = (page as { items?: unknown } | undefined)?.items;
      return Array.isArray(items) ? items : [];
    });
  }

  async listNames(
    target: Omit<FluxObjectRef, 'name'>,
    matchLabels: Readonly<Record<string, string>>,
    signal: AbortSignal,
  ): Promise<string[]> {
    const labelSelector = Object.entries(matchLabels)
      .map(([key, value]) => `${key}=${value}`)
      .join(',');
    const path = collectionPath(target.apiVersion, fluxKinds[target.kind].plural, target.namespace);
    const pages = await this.transport.listAll(
      `list ${target.kind} in ${target.namespace} with ${labelSelector}`,
      path,
      labelSelector ? { labelSelector } : {},
      signal,
    );
    return pages.flatMap((page) =>
      ((page as { items?: Array<{ metadata?: { name?: unknown } }> } | undefined)?.items ?? [])
        .map((item) => item.metadata?.name)
        .filter((name): name is string => typeof name === 'string'),
    );
  }

  async requestReconcile(target: FluxObjectRef, value: string, signal: AbortSignal): Promise<{ uid?: string }> {
    const patched = (await this.transport.json({
      what: `patch ${target.kind} ${target.namespace}/${target.name}`,
      method: 'PATCH',
      path: `${collectionPath(target.apiVersion, fluxKinds[target.kind].plural, target.namespace)}/${encodeURIComponent(target.name)}`,
      // A JSON merge patch (RFC 7386) of the one annotation, as `flux reconcile` sends it; the API server accepts it for
      // custom resources (https://kubernetes.io/docs/tasks/manage-kubernetes-objects/update-api-object-kubectl-patch/).
      contentType: 'application/merge-patch+json',
      body: { metadata: { annotations: { [requestedAtAnnotation]: value } } },
      maxBytes: maxObjectBytes,
      signal,
    })) as { metadata?: { uid?: unknown } } | undefined;
    const uid = patched?.metadata?.uid;
    return typeof uid === 'string' ? { uid } : {};
  }

  async requestedAtOf(target: FluxObjectRef, signal: AbortSignal): Promise<string | undefined> {
    const object = (await this.transport.json({
      what: `get ${target.kind} ${target.namespace}/${target.name}`,
      method: 'GET',
      path: `${collectionPath(target.apiVersion, fluxKinds[target.kind].plural, target.namespace)}/${encodeURIComponent(target.name)}`,
      maxBytes: maxObjectBytes,
      signal,
    })) as { metadata?: { annotations?: Record<string, unknown> } } | undefined;
    const value = object?.metadata?.annotations?.[requestedAtAnnotation];
    return typeof value === 'string' ? value : undefined;
  }

  async recordEvent(
    target: FluxObjectRef & { uid?: string },
    event: { reason: string; message: string },
    signal: AbortSignal,
  ): Promise<void> {
    // metav1.Time is RFC 3339 with whole seconds on the wire.
    const now = new Date().toISOString().replace(/\.\d+Z$/, 'Z');
    await this.transport.json({
      what: `record event on ${target.kind} ${target.namespace}/${target.name}`,
      method: 'POST',
      path: collectionPath('v1', 'events', target.namespace),
      body: {
        apiVersion: 'v1',
        kind: 'Event',
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
      maxBytes: maxObjectBytes,
      // Nothing of the created Event is used: parsing its ~1 KB answer would only make garbage.
      discardBody: true,
      signal,
    });
  }

  /** Stops the watches and closes every connection. */
  destroy(): void {
    this.index.destroy();
    this.transport.destroy();
  }
}
