import { parseYamlOrJson } from '../config/structured-text';
import { readFileSync } from 'node:fs';
import { ClusterCallError } from './cluster-client';
import { firstLine } from './status';

/**
 * What a request to one cluster needs, read from a kubeconfig (https://kubernetes.io/docs/reference/config-api/kubeconfig.v1/).
 * Holds credentials: never put it, or any field of it, into a message.
 */
export interface ClusterEndpoint {
  /** `cluster.server`, e.g. https://api.example:6443 or https://host/prefix (the path prefixes every API path). */
  server: URL;
  /** TLS options for the cluster's one https.Agent. */
  tls: {
    ca?: Buffer;
    cert?: Buffer;
    key?: Buffer;
    /** `tls-server-name`: sent as SNI and checked against the certificate instead of the server's host. */
    servername?: string;
    rejectUnauthorized: boolean;
  };
  /** `user.token`; takes precedence over tokenFile, as in client-go. */
  token?: string;
  /** `user.tokenFile`: read by HttpsCluster, which re-reads it every minute (see there). */
  tokenFile?: string;
  /** Tokens the relay signs itself (EKS, lib/kube/eks-auth.ts); not from a kubeconfig. Wins over token and tokenFile. */
  bearer?: BearerSource;
}

/** Bearer tokens that expire and are made anew rather than read: current() for each request, renew() after a 401. */
export interface BearerSource {
  /** A token good for minutes more; synchronous when one is at hand, so the request is written in the caller's tick. */
  current(): string | Promise<string>;
  /** A freshly made token, for the one retry after the API server answered 401. */
  renew(): Promise<string>;
}

/**
 * User and cluster fields the lean reader does not implement, and why they are refused rather than delegated to
 * @kubernetes/client-node's KubeConfig (see https-cluster.ts for the measurement behind that decision). Exec and
 * auth-provider plugins also need their CLIs (aws, gcloud, kubelogin), which a Lambda does not have.
 */
const unsupportedUserFields = [
  'exec',
  'auth-provider',
  'username',
  'password',
  'as',
  'as-uid',
  'as-groups',
  'as-user-extra',
] as const;
const unsupportedClusterFields = ['proxy-url'] as const;

/** Why a kubeconfig cannot be used; the message names the cluster and the field, never a value. */
function configError(cluster: string, detail: string): ClusterCallError {
  return new ClusterCallError(`cluster ${cluster}: ${detail}`, undefined, 'config');
}

type Mapping = Record<string, unknown>;

function isMapping(value: unknown): value is Mapping {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** The `name`d entry of a kubeconfig list (`clusters`, `users`, `contexts`), unwrapped from its `field` key. */
function namedEntry(doc: Mapping, list: 'clusters' | 'users' | 'contexts', name: string): Mapping | undefined {
  const entries = doc[list];
  if (!Array.isArray(entries)) return undefined;
  const entry: unknown = entries.find((e) => isMapping(e) && e.name === name);
  if (!isMapping(entry)) return undefined;
  const inner = entry[list.slice(0, -1)];
  return isMapping(inner) ? inner : {};
}

function optionalString(owner: Mapping, field: string, cluster: string, where: string): string | undefined {
  const value = owner[field];
  if (value === undefined || value === null || value === '') return undefined;
  if (typeof value !== 'string') throw configError(cluster, `kubeconfig ${where}.${field} is not a string`);
  return value;
}

/**
 * `*-data` (base64 PEM) wins over the file path, as in client-go (`certificate-authority-data` "overrides
 * certificate-authority"). Relative paths resolve against the working directory: the kubeconfig arrives as text
 * (a secret), so there is no file to be relative to.
 */
function pemOf(
  owner: Mapping,
  dataField: string,
  fileField: string,
  cluster: string,
  where: string,
): Buffer | undefined {
  const data = optionalString(owner, dataField, cluster, where);
  if (data !== undefined) {
    const pem = Buffer.from(data, 'base64');
    if (pem.length === 0) throw configError(cluster, `kubeconfig ${where}.${dataField} is not base64`);
    return pem;
  }
  const file = optionalString(owner, fileField, cluster, where);
  if (file === undefined) return undefined;
  try {
    return readFileSync(file);
  } catch (error) {
    // The path is the operator's own setting and not a secret; the file's content never reaches the message.
    const code = (error as NodeJS.ErrnoException).code;
    throw configError(
      cluster,
      `kubeconfig ${where}.${fileField} ${file} could not be read (${code ?? firstLine(error)})`,
    );
  }
}

/**
 * Reads the parts of a kubeconfig the relay uses: the context (`current-context`, or `context` when given), its
 * cluster's server and TLS settings and its user's bearer token or client certificate. Throws a ClusterCallError
 * (failure 'config') naming the cluster and the offending field for anything else, and points at
 * `npm run kubeconfig`, which makes a kubeconfig this reader accepts.
 */
export function readKubeconfig(yamlText: string, options: { name: string; context?: string }): ClusterEndpoint {
  const cluster = options.name;
  let doc: unknown;
  try {
    doc = parseYamlOrJson(yamlText);
  } catch (error) {
    // yaml's messages quote the offending lines, which may hold a token: only its code and position go out.
    const { code, linePos } = error as { code?: string; linePos?: Array<{ line: number; col: number }> };
    const at = linePos?.[0] ? ` at line ${linePos[0].line}, column ${linePos[0].col}` : '';
    throw configError(cluster, `kubeconfig is not valid YAML (${code ?? 'parse error'}${at})`);
  }
  if (!isMapping(doc)) throw configError(cluster, 'kubeconfig is not a YAML mapping');

  const contextName = options.context ?? optionalString(doc, 'current-context', cluster, 'kubeconfig');
  if (contextName === undefined) throw configError(cluster, 'kubeconfig has no current-context');
  const context = namedEntry(doc, 'contexts', contextName);
  if (!context) throw configError(cluster, `kubeconfig has no context ${contextName}`);
  const clusterName = optionalString(context, 'cluster', cluster, `contexts[${contextName}]`);
  const clusterEntry = clusterName === undefined ? undefined : namedEntry(doc, 'clusters', clusterName);
  if (!clusterEntry || clusterName === undefined)
    throw configError(cluster, `kubeconfig has no cluster for context ${contextName}`);
  const userName = optionalString(context, 'user', cluster, `contexts[${contextName}]`);
  // A context without a user is valid (anonymous requests); a named user that is missing is a broken kubeconfig.
  const user = userName === undefined ? {} : namedEntry(doc, 'users', userName);
  if (!user) throw configError(cluster, `kubeconfig has no user ${userName} for context ${contextName}`);

  const clusterWhere = `clusters[${clusterName}]`;
  const userWhere = `users[${userName ?? ''}]`;
  const advice = 'not supported by the relay; make a service-account token kubeconfig with `npm run kubeconfig`';
  for (const field of unsupportedUserFields) {
    if (user[field] !== undefined && user[field] !== null)
      throw configError(cluster, `kubeconfig ${userWhere}.${field} is ${advice}`);
  }
  for (const field of unsupportedClusterFields) {
    if (clusterEntry[field] !== undefined && clusterEntry[field] !== null)
      throw configError(cluster, `kubeconfig ${clusterWhere}.${field} is ${advice}`);
  }

  const serverText = optionalString(clusterEntry, 'server', cluster, clusterWhere);
  if (serverText === undefined) throw configError(cluster, `kubeconfig ${clusterWhere} has no server`);
  let server: URL;
  try {
    server = new URL(serverText);
  } catch {
    throw configError(cluster, `kubeconfig ${clusterWhere}.server is not a URL`);
  }
  // Plain http would send the bearer token in clear text; client-go allows it only for local development.
  if (server.protocol !== 'https:')
    throw configError(cluster, `kubeconfig ${clusterWhere}.server is not an https:// URL`);

  const insecure = clusterEntry['insecure-skip-tls-verify'];
  if (insecure !== undefined && typeof insecure !== 'boolean')
    throw configError(cluster, `kubeconfig ${clusterWhere}.insecure-skip-tls-verify is not a boolean`);
  const ca = pemOf(clusterEntry, 'certificate-authority-data', 'certificate-authority', cluster, clusterWhere);
  // client-go refuses the combination too ("specifying a root certificates file with the insecure flag is not allowed").
  if (insecure === true && ca)
    throw configError(
      cluster,
      `kubeconfig ${clusterWhere} sets both insecure-skip-tls-verify and a certificate authority`,
    );
  const servername = optionalString(clusterEntry, 'tls-server-name', cluster, clusterWhere);
  const cert = pemOf(user, 'client-certificate-data', 'client-certificate', cluster, userWhere);
  const key = pemOf(user, 'client-key-data', 'client-key', cluster, userWhere);
  if (Boolean(cert) !== Boolean(key))
    throw configError(
      cluster,
      `kubeconfig ${userWhere} has a client certificate without its key, or a key without its certificate`,
    );

  const token = optionalString(user, 'token', cluster, userWhere);
  const tokenFile = token === undefined ? optionalString(user, 'tokenFile', cluster, userWhere) : undefined;
  return {
    server,
    tls: {
      ...(ca ? { ca } : {}),
      ...(cert ? { cert } : {}),
      ...(key ? { key } : {}),
      ...(servername ? { servername } : {}),
      rejectUnauthorized: insecure !== true,
    },
    ...(token !== undefined ? { token } : {}),
    ...(tokenFile !== undefined ? { tokenFile } : {}),
  };
}
