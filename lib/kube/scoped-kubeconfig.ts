/**
 * The pure parts of `npm run kubeconfig` (scripts/kubeconfig.ts): arguments, the relay's token Secret, the kubeconfig
 * that holds only the relay's identity, and how it is written into a Secrets Manager value. No I/O here.
 */
import { delimiter, join } from 'node:path';
import { parseArgs } from 'node:util';

/** Names used by infra/kubernetes/*.yaml (tests/infra/kubernetes/rbac-manifest.test.ts checks they agree). */
export const relayIdentity = {
  namespace: 'flux-system',
  serviceAccount: 'flux-webhook-relay',
  tokenSecret: 'flux-webhook-relay-token',
  /** The Kubernetes group EKS access entries give the relay's IAM roles (infra/serverless/eks-access.cjs); bound like the ServiceAccount. */
  group: 'flux-webhook-relay',
} as const;

export const redactedToken = '<redacted>';

/** A failure the script reports as one line, without a stack. Its message never holds a token. */
export class KubeconfigScriptError extends Error {
  override readonly name = 'KubeconfigScriptError';
}

export const usage = `usage: npm run kubeconfig -- --context <kube context> --secret <Secrets Manager name> [options]

Builds a kubeconfig for the relay's ServiceAccount from its token Secret (read with your own credentials for
--context), checks that it can list GitRepositories, and stores it in AWS Secrets Manager.

  --context <name>        context of your kubeconfig (KUBECONFIG or ~/.kube/config) for the target cluster (required)
  --secret <name>         Secrets Manager secret to create or update (required unless --dry-run)
  --key <key>             store the kubeconfig as this key of a JSON secret (other keys are kept); reference it as
                          aws-sm:<name>#<key> in relay.config.yaml
  --namespaces <a,b>      verify listing in these namespaces only (as clusters.<name>.namespaces); default cluster-wide
  --namespace <ns>        namespace of the token Secret and the kubeconfig's context (default ${relayIdentity.namespace})
  --secret-name <name>    the token Secret (default ${relayIdentity.tokenSecret})
  --region <region>       AWS region (default: the AWS SDK's, e.g. AWS_REGION or your profile)
  --dry-run               verify, then print the kubeconfig with the token redacted; store nothing
`;

export interface KubeconfigScriptOptions {
  context: string;
  /** Secrets Manager secret name or ARN; undefined only with dryRun. */
  secret?: string;
  key?: string;
  namespaces?: string[];
  namespace: string;
  secretName: string;
  region?: string;
  dryRun: boolean;
}

const DNS1123_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const DNS1123_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;

const argOptions = {
  context: { type: 'string' },
  secret: { type: 'string' },
  key: { type: 'string' },
  namespaces: { type: 'string' },
  namespace: { type: 'string', default: relayIdentity.namespace },
  'secret-name': { type: 'string', default: relayIdentity.tokenSecret },
  region: { type: 'string' },
  'dry-run': { type: 'boolean', default: false },
  help: { type: 'boolean', short: 'h', default: false },
} as const;

function readArgs(argv: readonly string[]) {
  try {
    return parseArgs({ args: [...argv], strict: true, allowPositionals: false, options: argOptions }).values;
  } catch (error) {
    // node:util's messages name the option ("Unknown option '--foo'"), never a value.
    throw new KubeconfigScriptError((error as Error).message);
  }
}

/** Parses the script's arguments; `'help'` when help was asked for. Throws KubeconfigScriptError on bad input. */
export function parseKubeconfigArgs(argv: readonly string[]): KubeconfigScriptOptions | 'help' {
  const values = readArgs(argv);
  if (values.help) return 'help';
  const dryRun = values['dry-run'] ?? false;
  const context = values.context?.trim();
  if (!context)
    throw new KubeconfigScriptError('--context is required: the context of your kubeconfig for the target cluster');
  const secret = values.secret?.trim() || undefined;
  if (secret === undefined && !dryRun)
    throw new KubeconfigScriptError(
      '--secret is required: the Secrets Manager secret to store the kubeconfig in (or pass --dry-run)',
    );
  if (secret?.includes('#')) {
    throw new KubeconfigScriptError(
      `--secret ${secret}: Secrets Manager names cannot contain '#'; to store a key of a JSON secret pass --secret <name> --key <key>`,
    );
  }
  if (secret?.startsWith('aws-sm:'))
    throw new KubeconfigScriptError(`--secret takes the Secrets Manager name or ARN, without the aws-sm: scheme`);
  const key = values.key;
  if (key !== undefined && key.trim() === '') throw new KubeconfigScriptError('--key is empty');
  const namespace = values.namespace ?? relayIdentity.namespace;
  if (!DNS1123_LABEL.test(namespace))
    throw new KubeconfigScriptError(`--namespace ${namespace} is not a namespace name`);
  const secretName = values['secret-name'] ?? relayIdentity.tokenSecret;
  if (!DNS1123_SUBDOMAIN.test(secretName))
    throw new KubeconfigScriptError(`--secret-name ${secretName} is not a Secret name`);
  let namespaces: string[] | undefined;
  if (values.namespaces !== undefined) {
    namespaces = [
      ...new Set(
        values.namespaces
          .split(',')
          .map((n) => n.trim())
          .filter((n) => n !== ''),
      ),
    ];
    if (namespaces.length === 0) throw new KubeconfigScriptError('--namespaces names no namespace');
    const bad = namespaces.find((n) => !DNS1123_LABEL.test(n));
    if (bad !== undefined) throw new KubeconfigScriptError(`--namespaces: ${bad} is not a namespace name`);
  }
  return {
    context,
    ...(secret !== undefined ? { secret } : {}),
    ...(key !== undefined ? { key } : {}),
    ...(namespaces ? { namespaces } : {}),
    namespace,
    secretName,
    ...(values.region ? { region: values.region } : {}),
    dryRun,
  };
}

/** The kubeconfig files kubectl would read: KUBECONFIG's list, else ~/.kube/config. */
export function operatorKubeconfigPaths(env: Readonly<Record<string, string | undefined>>, homeDir: string): string[] {
  const list = (env.KUBECONFIG ?? '').split(delimiter).filter((p) => p !== '');
  return list.length > 0 ? list : [join(homeDir, '.kube', 'config')];
}

/** What the relay's `kubernetes.io/service-account-token` Secret yields. */
export interface RelayToken {
  token: string;
  serviceAccount: string;
}

/** The token out of a token Secret as the API returns it (`data` values base64). */
export function tokenFromSecret(
  secret: { type?: string; data?: Record<string, string>; metadata?: { annotations?: Record<string, string> } },
  where: string,
): RelayToken {
  if (secret.type !== 'kubernetes.io/service-account-token') {
    throw new KubeconfigScriptError(
      `Secret ${where} is of type ${secret.type ?? '(none)'}, not kubernetes.io/service-account-token`,
    );
  }
  const serviceAccount = secret.metadata?.annotations?.['kubernetes.io/service-account.name'];
  if (!serviceAccount)
    throw new KubeconfigScriptError(`Secret ${where} has no kubernetes.io/service-account.name annotation`);
  const encoded = secret.data?.token ?? '';
  const token = Buffer.from(encoded, 'base64').toString('utf8').trim();
  if (token === '') {
    throw new KubeconfigScriptError(
      `Secret ${where} has an empty token: Kubernetes fills data.token only when ServiceAccount ${serviceAccount} exists in its namespace; ` +
        'check it exists (kubectl apply the manifest again) and retry in a few seconds',
    );
  }
  return { token, serviceAccount };
}

/** How the operator's kubeconfig reaches the cluster; everything the relay's kubeconfig copies from it. */
export interface ClusterEndpoint {
  name: string;
  server: string;
  /** Base64 PEM (certificate-authority-data). */
  caData?: string;
  tlsServerName?: string;
  proxyUrl?: string;
  skipTLSVerify?: boolean;
}

export interface ScopedKubeconfig {
  /** The kubeconfig document (JSON, which is also YAML). */
  text: string;
  contextName: string;
  userName: string;
}

/**
 * A kubeconfig with exactly one cluster, one user (the ServiceAccount's bearer token) and one context, which is its
 * current-context: so `clusters.<name>.context` can be left out of relay.config.yaml.
 */
export function buildScopedKubeconfig(input: {
  cluster: ClusterEndpoint;
  serviceAccount: string;
  token: string;
  namespace: string;
}): ScopedKubeconfig {
  const { cluster } = input;
  const userName = input.serviceAccount;
  const contextName = `${input.serviceAccount}@${cluster.name}`;
  const clusterFields: Record<string, string | boolean> = { server: cluster.server };
  if (cluster.caData) clusterFields['certificate-authority-data'] = cluster.caData;
  if (cluster.tlsServerName) clusterFields['tls-server-name'] = cluster.tlsServerName;
  if (cluster.proxyUrl) clusterFields['proxy-url'] = cluster.proxyUrl;
  if (cluster.skipTLSVerify) clusterFields['insecure-skip-tls-verify'] = true;
  const doc = {
    apiVersion: 'v1',
    kind: 'Config',
    clusters: [{ name: cluster.name, cluster: clusterFields }],
    users: [{ name: userName, user: { token: input.token } }],
    contexts: [{ name: contextName, context: { cluster: cluster.name, user: userName, namespace: input.namespace } }],
    'current-context': contextName,
    preferences: {},
  };
  // JSON, which kubectl reads as well as YAML: the relay parses it with JSON.parse at a cold start instead of loading
  // the yaml package (lib/config/structured-text.ts).
  return { text: `${JSON.stringify(doc, null, 2)}\n`, contextName, userName };
}

/** The kubeconfig with the token replaced, for printing. */
export function redactToken(text: string, token: string): string {
  return token === '' ? text : text.split(token).join(redactedToken);
}

export type SecretWrite = { action: 'create' | 'update'; value: string } | { action: 'unchanged' };

function parseJsonObject(text: string): Record<string, unknown> | undefined {
  try {
    const parsed: unknown = JSON.parse(text);
    return parsed !== null && typeof parsed === 'object' && !Array.isArray(parsed)
      ? (parsed as Record<string, unknown>)
      : undefined;
  } catch {
    return undefined;
  }
}

/**
 * What to write to Secrets Manager given its current value (`undefined`: the secret does not exist). With a key the
 * kubeconfig becomes that key of a JSON object and every other key is kept; without one it is the whole value, and a
 * JSON secret of other keys is refused rather than overwritten.
 */
export function planSecretWrite(
  existing: string | undefined,
  kubeconfig: string,
  secret: string,
  key?: string,
): SecretWrite {
  if (key === undefined) {
    if (existing === undefined) return { action: 'create', value: kubeconfig };
    if (existing === kubeconfig) return { action: 'unchanged' };
    const json = parseJsonObject(existing);
    if (json && !('clusters' in json)) {
      const keys = Object.keys(json).slice(0, 10).join(', ');
      throw new KubeconfigScriptError(
        `secret ${secret} holds a JSON object (keys: ${keys || 'none'}), not a kubeconfig; pass --key <key> to store the kubeconfig as one of its keys`,
      );
    }
    return { action: 'update', value: kubeconfig };
  }
  if (existing === undefined) return { action: 'create', value: JSON.stringify({ [key]: kubeconfig }) };
  const json = parseJsonObject(existing);
  if (!json)
    throw new KubeconfigScriptError(`secret ${secret} is not a JSON object, so --key ${key} cannot be stored in it`);
  if (json[key] === kubeconfig) return { action: 'unchanged' };
  return { action: 'update', value: JSON.stringify({ ...json, [key]: kubeconfig }) };
}

/** The one-line reason a verification list failed, with what to do about it. */
export function verificationFailure(
  status: number | undefined,
  detail: string,
  scope: string,
  manifest: string,
): string {
  const what = `verification failed: the relay's kubeconfig cannot list GitRepositories ${scope}`;
  if (status === 401) {
    return `${what}: the API server rejected the ServiceAccount token (${detail}); the token Secret may belong to a deleted ServiceAccount: apply ${manifest} again and re-run`;
  }
  if (status === 403) return `${what}: RBAC denies it (${detail}); apply ${manifest}`;
  return `${what} (${detail})`;
}
