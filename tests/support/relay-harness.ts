import { createHmac } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import examples from '@octokit/webhooks-examples/api.github.com/index.json';
import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2, Context } from 'aws-lambda';
import { KubeApiTestServer, type KubeObject, type RbacRule } from './kube-api-server';
import { recordCapturedOutput, registerTestSecret } from './log-scan';
import { SecretsManagerTestServer } from './secrets-manager-server';

export const relayUser = 'system:serviceaccount:flux-system:flux-webhook-relay';

/** What infra/ grants the relay, less the GitRepository watch (see relayRulesWithWatch): get, list, patch on Flux kinds, create on Events. */
export const relayRules: RbacRule[] = [
  {
    apiGroups: [
      'source.toolkit.fluxcd.io',
      'kustomize.toolkit.fluxcd.io',
      'helm.toolkit.fluxcd.io',
      'image.toolkit.fluxcd.io',
    ],
    resources: ['*'],
    verbs: ['get', 'list', 'patch'],
  },
  { apiGroups: [''], resources: ['events'], verbs: ['create'] },
];

/**
 * relayRules plus what infra/ also grants: watch on GitRepositories, which lets the client answer deliveries from its
 * watch-fed index. Most tests leave it out on purpose: without it the client lists on every delivery (its fallback,
 * tested as such), so the requests a test counts or faults are exactly the delivery's own.
 */
export const relayRulesWithWatch: RbacRule[] = [
  ...relayRules,
  { apiGroups: ['source.toolkit.fluxcd.io'], resources: ['gitrepositories'], verbs: ['watch'] },
];

type Example = { name: string; examples: Array<Record<string, unknown>> };

/** The real payloads GitHub documents for an event (@octokit/webhooks-examples). */
export function githubExamples(event: string): Array<Record<string, unknown>> {
  const found = (examples as unknown as Example[]).find((e) => e.name === event);
  if (!found) throw new Error(`no ${event} examples in @octokit/webhooks-examples`);
  return found.examples;
}

/** The documented push to refs/heads/master of Codertocat/Hello-World that most relay tests deliver. */
export const githubBranchPush: Record<string, unknown> = githubExamples('push').find(
  (p) => p.ref === 'refs/heads/master' && p.deleted === false,
)!;

export type Handler = (event: APIGatewayProxyEventV2) => Promise<APIGatewayProxyStructuredResultV2>;

/** One cluster (`prod`) and one GitHub receiver, the secrets named as startGitHubRelayFixture stores them. */
export const githubRelayConfig = `
clusters:
  prod: { kubeconfig: relay/kubeconfig }
receivers:
  github: { provider: github, secret: relay/github }
`;
export const githubWebhookSecret = 'github-webhook-secret';

/**
 * The loopback cluster and Secrets Manager for githubRelayConfig: a service account with `rules`, its kubeconfig and
 * the webhook secret stored, one GitRepository (flux-system/hello) tracking githubBranchPush's repository and branch,
 * and the AWS SDK environment pointed at the loopback Secrets Manager.
 */
export async function startGitHubRelayFixture(
  rules: RbacRule[] = relayRules,
): Promise<{ cluster: KubeApiTestServer; sm: SecretsManagerTestServer; close(): Promise<void> }> {
  const [cluster, sm] = await Promise.all([KubeApiTestServer.start(), SecretsManagerTestServer.start()]);
  cluster.addServiceAccount('sa', relayUser, rules);
  sm.put('relay/kubeconfig', cluster.kubeconfig('sa'));
  sm.put('relay/github', githubWebhookSecret);
  cluster.put(gitRepository('flux-system', 'hello', 'https://github.com/Codertocat/Hello-World', { branch: 'master' }));
  useSecretsManager(sm);
  return { cluster, sm, close: () => Promise.all([cluster.close(), sm.close()]).then(() => undefined) };
}

/** githubBranchPush as GitHub delivers it to the `github` receiver, signed with `secret`. */
export function signedBranchPush(secret = githubWebhookSecret): APIGatewayProxyEventV2 {
  const body = JSON.stringify(githubBranchPush);
  return apiGatewayEvent({
    receiver: 'github',
    body,
    headers: {
      'content-type': 'application/json',
      'x-github-event': 'push',
      'x-hub-signature-256': signGitHub(secret, body),
    },
  });
}

/** Loads functions/relay.ts afresh, with its other exports (e.g. `warmedUp`). */
export function loadRelayModule(configYaml: string): { handler: Handler; warmedUp: Promise<void> } {
  const handler = loadRelayHandler(configYaml);
  return { handler, warmedUp: lastLoadedWarmUp! };
}
let lastLoadedWarmUp: Promise<void> | undefined;

/** Loads functions/relay.ts afresh (it reads RELAY_CONFIG at module load, as a cold start does). */
export function loadRelayHandler(configYaml: string): Handler {
  const dir = mkdtempSync(join(tmpdir(), 'relay-config-'));
  const path = join(dir, 'relay.config.yaml');
  writeFileSync(path, configYaml);
  process.env.RELAY_CONFIG = path;
  let handler: Handler | undefined;
  jest.isolateModules(() => {
    // eslint-style note: require is how jest.isolateModules gives a fresh module registry.
    const loaded = require('../../functions/relay') as { handler: Handler; warmedUp: Promise<void> };
    handler = loaded.handler;
    lastLoadedWarmUp = loaded.warmedUp;
  });
  return handler!;
}

export type RegistryEventsHandler = (event: unknown, context: Context) => Promise<void>;

/** Loads functions/registry-events.ts afresh (it reads RELAY_CONFIG at module load, as a cold start does). */
export function loadRegistryEventsHandler(configYaml: string): RegistryEventsHandler {
  const dir = mkdtempSync(join(tmpdir(), 'relay-config-'));
  const path = join(dir, 'relay.config.yaml');
  writeFileSync(path, configYaml);
  process.env.RELAY_CONFIG = path;
  let handler: RegistryEventsHandler | undefined;
  jest.isolateModules(() => {
    handler = (require('../../functions/registry-events') as { handler: RegistryEventsHandler }).handler;
  });
  return handler!;
}

/** A Lambda context of the registryEvents function in `account` (only invokedFunctionArn is read). */
export function lambdaContext(account = '123456789012', region = 'us-west-2'): Context {
  const name = 'flux-webhook-relay-dev-registryEvents';
  return {
    callbackWaitsForEmptyEventLoop: true,
    functionName: name,
    functionVersion: '$LATEST',
    invokedFunctionArn: `arn:aws:lambda:${region}:${account}:function:${name}`,
    memoryLimitInMB: '512',
    awsRequestId: 'req-1',
    logGroupName: `/aws/lambda/${name}`,
    logStreamName: 'stream',
    getRemainingTimeInMillis: () => 30_000,
    done: () => undefined,
    fail: () => undefined,
    succeed: () => undefined,
  };
}

/** Points the real AWS SDK at the loopback Secrets Manager, with dummy credentials. */
export function useSecretsManager(sm: SecretsManagerTestServer): void {
  Object.assign(process.env, {
    AWS_ENDPOINT_URL_SECRETS_MANAGER: sm.endpoint,
    AWS_REGION: sm.region,
    AWS_ACCESS_KEY_ID: 'AKIDEXAMPLE',
    AWS_SECRET_ACCESS_KEY: 'wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY',
    AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
    POWERTOOLS_LOG_LEVEL: 'INFO',
  });
  registerTestSecret(process.env.AWS_SECRET_ACCESS_KEY!, 'relay-harness AWS secret key');
}

export function signGitHub(secret: string, body: string | Buffer): string {
  return `sha256=${createHmac('sha256', secret).update(body).digest('hex')}`;
}

/** An API Gateway HTTP API (payload format 2.0) event for `POST /hooks/{receiver}`. */
export function apiGatewayEvent(options: {
  receiver: string;
  headers: Record<string, string>;
  body: string;
  method?: string;
  isBase64Encoded?: boolean;
  /** Sent on the `/hooks/{receiver}/{token}` route (path-token receivers: Docker Hub, Quay). */
  pathToken?: string;
}): APIGatewayProxyEventV2 {
  const method = options.method ?? 'POST';
  const tokenRoute = options.pathToken !== undefined;
  const routeKey = tokenRoute ? 'ANY /hooks/{receiver}/{token}' : 'ANY /hooks/{receiver}';
  const path = `/hooks/${options.receiver}${tokenRoute ? `/${options.pathToken}` : ''}`;
  return {
    version: '2.0',
    routeKey,
    rawPath: path,
    rawQueryString: '',
    // API Gateway v2 hands headers over lower-cased.
    headers: Object.fromEntries(Object.entries(options.headers).map(([k, v]) => [k.toLowerCase(), v])),
    requestContext: {
      accountId: '123456789012',
      apiId: 'api',
      domainName: 'relay.example',
      domainPrefix: 'relay',
      http: { method, path, protocol: 'HTTP/1.1', sourceIp: '192.0.2.1', userAgent: 'GitHub-Hookshot/1' },
      requestId: 'req',
      routeKey,
      stage: '$default',
      time: '24/Nov/2026:21:00:00 +0000',
      timeEpoch: 0,
    },
    pathParameters: { receiver: options.receiver, ...(tokenRoute ? { token: options.pathToken } : {}) },
    body: options.body,
    isBase64Encoded: options.isBase64Encoded ?? false,
  };
}

export function gitRepository(
  namespace: string,
  name: string,
  url: string,
  ref?: Record<string, string>,
  annotations?: Record<string, string>,
): KubeObject {
  return {
    apiVersion: 'source.toolkit.fluxcd.io/v1',
    kind: 'GitRepository',
    metadata: { name, namespace, ...(annotations ? { annotations } : {}) },
    spec: { url, interval: '5m', ...(ref ? { ref } : {}) },
  };
}

export function requestedAt(
  server: KubeApiTestServer,
  namespace: string,
  name: string,
  kind = 'GitRepository',
  apiVersion = 'source.toolkit.fluxcd.io/v1',
): string | undefined {
  return server.get(apiVersion, kind, namespace, name)?.metadata.annotations?.['reconcile.fluxcd.io/requestedAt'];
}

export function patchRequests(server: KubeApiTestServer) {
  return server.requests.filter((r) => r.method === 'PATCH');
}

/** Captures everything written to stdout/stderr (Powertools Logger writes there) while `fn` runs. */
export async function captureOutput<T>(fn: () => Promise<T>): Promise<{ result: T; lines: string[] }> {
  const chunks: string[] = [];
  const spies = [process.stdout, process.stderr].map((stream) =>
    jest.spyOn(stream, 'write').mockImplementation((chunk: string | Uint8Array) => {
      chunks.push(typeof chunk === 'string' ? chunk : Buffer.from(chunk).toString('utf8'));
      return true;
    }),
  );
  try {
    const result = await fn();
    return {
      result,
      lines: chunks
        .join('')
        .split('\n')
        .filter((l) => l.trim() !== ''),
    };
  } finally {
    spies.forEach((s) => s.mockRestore());
    // The spies kept these lines from the whole-run log scan's capture: hand them over (tests/support/log-scan.ts).
    recordCapturedOutput(chunks.join(''));
  }
}

/** Parsed JSON log lines with `message` equal to `message` (other output, and lines that are not JSON, skipped). */
export function logLines(lines: string[], message: string): Array<Record<string, unknown>> {
  return lines
    .map((l) => {
      try {
        return JSON.parse(l) as Record<string, unknown>;
      } catch {
        return undefined;
      }
    })
    .filter((l): l is Record<string, unknown> => l?.message === message);
}

/** The relay's one-per-delivery summary lines. */
export function deliveryLines(lines: string[]): Array<Record<string, unknown>> {
  return logLines(lines, 'delivery');
}
