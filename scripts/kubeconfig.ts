/**
 * Builds the relay's kubeconfig for one cluster and stores it in Secrets Manager:
 *
 *   npm run kubeconfig -- --context prod-admin --secret flux-relay/prod-kubeconfig
 *   npm run kubeconfig -- --context prod-admin --secret flux-relay/kubeconfigs --key prod --namespaces flux-system,apps
 *   npm run kubeconfig -- --context prod-admin --dry-run
 *
 * 1. reads the relay's token Secret (infra/kubernetes/) with YOUR credentials for --context;
 * 2. builds a kubeconfig with only that cluster (server, CA, tls-server-name, proxy-url), a user holding the
 *    ServiceAccount token and one context;
 * 3. lists GitRepositories with it through the relay's own cluster client (cluster-wide, or in --namespaces);
 * 4. creates the secret, or puts a new AWSCURRENT version (the old value stays readable as AWSPREVIOUS).
 *
 * The token is never printed. Run `npm run kubeconfig -- --help` for every option.
 */
import { readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import {
  CreateSecretCommand,
  GetSecretValueCommand,
  PutSecretValueCommand,
  ResourceNotFoundException,
  SecretsManagerClient,
} from '@aws-sdk/client-secrets-manager';
import { ApiException, CoreV1Api, KubeConfig, type V1Secret } from '@kubernetes/client-node';
import { ClusterCallError } from '../lib/kube/cluster-client';
import { HttpsCluster } from '../lib/kube/https-cluster';
import { firstLine, statusMessage } from '../lib/kube/status';
import {
  type ClusterEndpoint,
  type KubeconfigScriptOptions,
  KubeconfigScriptError,
  buildScopedKubeconfig,
  operatorKubeconfigPaths,
  parseKubeconfigArgs,
  planSecretWrite,
  redactToken,
  tokenFromSecret,
  usage,
  verificationFailure,
} from '../lib/kube/scoped-kubeconfig';

export interface ScriptIo {
  /** Results: the summary, or the redacted kubeconfig with --dry-run. */
  out(text: string): void;
  /** Progress and errors. */
  err(text: string): void;
}

export interface ScriptDeps {
  /** Secrets Manager client; default one from the AWS SDK's default chain (and --region). */
  secretsManager?: SecretsManagerClient;
}

const processIo: ScriptIo = {
  out: (text) => void process.stdout.write(text.endsWith('\n') ? text : `${text}\n`),
  err: (text) => void process.stderr.write(text.endsWith('\n') ? text : `${text}\n`),
};

const verifyTimeoutMs = 20_000;

/**
 * Runs the script; resolves to the exit code (0 done, 1 failed, 2 bad arguments). `env` supplies KUBECONFIG and HOME;
 * the AWS SDK reads its own settings (credentials, AWS_REGION, AWS_ENDPOINT_URL_SECRETS_MANAGER) as it always does.
 */
export async function main(
  argv: readonly string[],
  env: NodeJS.ProcessEnv = process.env,
  io: ScriptIo = processIo,
  deps: ScriptDeps = {},
): Promise<number> {
  let options: KubeconfigScriptOptions | 'help';
  try {
    options = parseKubeconfigArgs(argv);
  } catch (error) {
    io.err(`${(error as Error).message}\n\n${usage}`);
    return 2;
  }
  if (options === 'help') {
    io.out(usage);
    return 0;
  }
  try {
    await run(options, env, io, deps);
    return 0;
  } catch (error) {
    io.err(`error: ${error instanceof KubeconfigScriptError ? error.message : unexpected(error)}`);
    return 1;
  }
}

async function run(
  options: KubeconfigScriptOptions,
  env: NodeJS.ProcessEnv,
  io: ScriptIo,
  deps: ScriptDeps,
): Promise<void> {
  const paths = operatorKubeconfigPaths(env, env.HOME || env.USERPROFILE || homedir());
  const operator = loadOperatorKubeconfig(paths);
  const endpoint = clusterOf(operator, options.context, paths);

  const where = `${options.namespace}/${options.secretName}`;
  io.err(`reading Secret ${where} with context ${options.context} (${endpoint.server})`);
  const relay = tokenFromSecret(await readTokenSecret(operator, options, endpoint.server), where);

  const kubeconfig = buildScopedKubeconfig({
    cluster: endpoint,
    serviceAccount: relay.serviceAccount,
    token: relay.token,
    namespace: options.namespace,
  });
  if (endpoint.skipTLSVerify)
    io.err(
      `warning: context ${options.context} skips TLS verification (insecure-skip-tls-verify), and so will the relay`,
    );

  const scope = options.namespaces ? `in namespaces ${options.namespaces.join(', ')}` : 'cluster-wide';
  const count = await verify(kubeconfig.text, endpoint.name, options, scope);
  io.err(
    `verified: ServiceAccount ${options.namespace}/${relay.serviceAccount} lists GitRepositories ${scope} (${count} found)`,
  );

  if (options.dryRun || options.secret === undefined) {
    io.out(redactToken(kubeconfig.text, relay.token));
    io.err('dry run: nothing stored');
    return;
  }

  const client = deps.secretsManager ?? new SecretsManagerClient(options.region ? { region: options.region } : {});
  try {
    const outcome = await store(client, options.secret, options.key, kubeconfig.text);
    const ref = `aws-sm:${options.secret}${options.key !== undefined ? `#${options.key}` : ''}`;
    const hint = `(in relay.config.yaml: kubeconfig: ${ref}; its current-context is ${kubeconfig.contextName})`;
    io.out(`${outcome} ${hint}`);
  } finally {
    if (!deps.secretsManager) client.destroy();
  }
}

// ---------------------------------------------------------------------------------------------------------------------
// The operator's kubeconfig

/** Loads the files as kubectl merges them: the first file that names a cluster, user or context wins. */
function loadOperatorKubeconfig(paths: string[]): KubeConfig {
  const merged = new KubeConfig();
  let currentContext = '';
  for (const path of paths) {
    const one = new KubeConfig();
    try {
      one.loadFromFile(path);
    } catch (error) {
      throw new KubeconfigScriptError(`cannot read kubeconfig ${path}: ${firstLine(error)}`);
    }
    for (const c of one.getClusters()) if (!merged.getCluster(c.name)) merged.addCluster(c);
    for (const u of one.getUsers()) if (!merged.getUser(u.name)) merged.addUser(u);
    for (const c of one.getContexts()) if (!merged.getContextObject(c.name)) merged.addContext(c);
    currentContext ||= one.getCurrentContext() ?? '';
  }
  if (currentContext) merged.setCurrentContext(currentContext);
  return merged;
}

function clusterOf(kc: KubeConfig, context: string, paths: string[]): ClusterEndpoint {
  const ctx = kc.getContextObject(context);
  if (!ctx) {
    const known = kc.getContexts().map((c) => c.name);
    throw new KubeconfigScriptError(
      `kubeconfig ${paths.join(', ')} has no context ${context} (contexts: ${known.join(', ') || 'none'})`,
    );
  }
  const cluster = kc.getCluster(ctx.cluster);
  if (!cluster)
    throw new KubeconfigScriptError(
      `context ${context} names cluster ${ctx.cluster}, which the kubeconfig does not define`,
    );
  let caData = cluster.caData;
  if (!caData && cluster.caFile) {
    try {
      caData = readFileSync(cluster.caFile).toString('base64');
    } catch (error) {
      throw new KubeconfigScriptError(
        `cluster ${cluster.name}: cannot read certificate-authority ${cluster.caFile}: ${firstLine(error)}`,
      );
    }
  }
  kc.setCurrentContext(context);
  return {
    name: cluster.name,
    server: cluster.server,
    ...(caData ? { caData } : {}),
    ...(cluster.tlsServerName ? { tlsServerName: cluster.tlsServerName } : {}),
    ...(cluster.proxyUrl ? { proxyUrl: cluster.proxyUrl } : {}),
    ...(cluster.skipTLSVerify ? { skipTLSVerify: true } : {}),
  };
}

async function readTokenSecret(kc: KubeConfig, options: KubeconfigScriptOptions, server: string): Promise<V1Secret> {
  const where = `${options.namespace}/${options.secretName}`;
  try {
    return await kc
      .makeApiClient(CoreV1Api)
      .readNamespacedSecret({ name: options.secretName, namespace: options.namespace });
  } catch (error) {
    if (error instanceof ApiException) {
      const detail = `HTTP ${error.code}${statusMessage(error.body) ? ` ${statusMessage(error.body)}` : ''}`;
      if (error.code === 404) {
        throw new KubeconfigScriptError(
          `Secret ${where} not found on context ${options.context} (${detail}): apply infra/kubernetes/relay-rbac.yaml ` +
            '(or relay-serviceaccount.yaml) and relay-token.yaml first, or pass --namespace/--secret-name',
        );
      }
      if (error.code === 401 || error.code === 403) {
        throw new KubeconfigScriptError(
          `your credentials for context ${options.context} cannot read Secret ${where} (${detail})`,
        );
      }
      throw new KubeconfigScriptError(`reading Secret ${where} failed (${detail})`);
    }
    throw new KubeconfigScriptError(`cannot reach ${server} (context ${options.context}): ${errorCode(error)}`);
  }
}

// ---------------------------------------------------------------------------------------------------------------------
// Verification, with the relay's own client

async function verify(
  kubeconfigYaml: string,
  clusterName: string,
  options: KubeconfigScriptOptions,
  scope: string,
): Promise<number> {
  const cluster = new HttpsCluster({
    name: clusterName,
    kubeconfigYaml,
    ...(options.namespaces ? { namespaces: options.namespaces } : {}),
  });
  try {
    return (await cluster.listGitRepositories(AbortSignal.timeout(verifyTimeoutMs))).length;
  } catch (error) {
    if (!(error instanceof ClusterCallError)) throw error;
    const manifest = options.namespaces
      ? `infra/kubernetes/relay-role.yaml with -n in each of ${options.namespaces.join(', ')}`
      : 'infra/kubernetes/relay-rbac.yaml (or pass --namespaces if the relay watches only some namespaces)';
    throw new KubeconfigScriptError(verificationFailure(error.status, error.message, scope, manifest));
  } finally {
    cluster.destroy();
  }
}

// ---------------------------------------------------------------------------------------------------------------------
// Secrets Manager

async function store(
  client: SecretsManagerClient,
  secret: string,
  key: string | undefined,
  kubeconfig: string,
): Promise<string> {
  const existing = await aws('GetSecretValue', secret, async () => {
    try {
      const out = await client.send(new GetSecretValueCommand({ SecretId: secret }));
      return out.SecretString ?? (out.SecretBinary ? Buffer.from(out.SecretBinary).toString('utf8') : '');
    } catch (error) {
      if (error instanceof ResourceNotFoundException) return undefined;
      throw error;
    }
  });
  const plan = planSecretWrite(existing, kubeconfig, secret, key);
  const what = key !== undefined ? `key ${key} of secret ${secret}` : `secret ${secret}`;
  switch (plan.action) {
    case 'unchanged':
      return `${what} already holds this kubeconfig; nothing stored`;
    case 'create': {
      if (secret.startsWith('arn:'))
        throw new KubeconfigScriptError(`secret ${secret} does not exist; pass a name to create it`);
      const out = await aws('CreateSecret', secret, () =>
        client.send(
          new CreateSecretCommand({
            Name: secret,
            SecretString: plan.value,
            Description: 'kubeconfig for flux-webhook-relay (npm run kubeconfig)',
          }),
        ),
      );
      return `created ${what} (version ${out.VersionId ?? '?'})`;
    }
    case 'update': {
      const out = await aws('PutSecretValue', secret, () =>
        client.send(new PutSecretValueCommand({ SecretId: secret, SecretString: plan.value })),
      );
      return `updated ${what} (version ${out.VersionId ?? '?'}; the previous value is AWSPREVIOUS)`;
    }
  }
}

async function aws<T>(operation: string, secret: string, fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (error) {
    if (error instanceof KubeconfigScriptError) throw error;
    const name = error instanceof Error ? error.name : 'Error';
    throw new KubeconfigScriptError(`Secrets Manager ${operation} on ${secret} failed: ${name}: ${firstLine(error)}`);
  }
}

// ---------------------------------------------------------------------------------------------------------------------

function errorCode(error: unknown): string {
  const code = (error as { code?: unknown } | undefined)?.code;
  return typeof code === 'string' ? code : firstLine(error);
}

function unexpected(error: unknown): string {
  return `${error instanceof Error ? error.name : 'Error'}: ${firstLine(error)}`;
}

if (require.main === module) {
  main(process.argv.slice(2)).then(
    (code) => {
      process.exitCode = code;
    },
    (error: unknown) => {
      process.stderr.write(`error: ${unexpected(error)}\n`);
      process.exitCode = 1;
    },
  );
}
