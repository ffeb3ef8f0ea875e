import { createHmac } from 'node:crypto';
import type { APIGatewayProxyEventV2 } from 'aws-lambda';
import fc from 'fast-check';
import type { ProviderName } from '../../lib/config/schema';
import { DynamoDbTestServer } from '../support/dynamodb-server';
import { recordFigure } from '../support/figures';
import { KubeApiTestServer, type KubeObject } from '../support/kube-api-server';
import { recordCapturedOutput } from '../support/log-scan';
import {
  apiGatewayEvent,
  captureOutput,
  gitRepository,
  loadRelayHandler,
  patchRequests,
  relayRules,
  relayUser,
  useSecretsManager,
  type Handler,
} from '../support/relay-harness';
import { SecretsManagerTestServer } from '../support/secrets-manager-server';
import { GoogleCertsTestServer, idToken, pushClaims, pushEnvelope, signingKey } from '../support/google-oidc';

/*
 * Malformed and forged deliveries through the real Lambda handler, against the loopback Kubernetes API server and
 * Secrets Manager, with a receiver for every provider whose valid push WOULD patch (the first test proves it). None
 * of the fuzzed requests may patch, throw or get a 5xx: each gets the 4xx its category calls for, a JSON answer
 * `{outcome: "rejected", reason}`, and exactly one delivery log line. The category's exact status is asserted, not
 * just "some 4xx", so a harness that signs wrongly (401 where 400 is due) fails instead of passing vacuously.
 *
 * Seeded: RELAY_FUZZ_SEED=<n> replays a run (the seed is printed and recorded in the figures).
 *
 * Besides the rejections: signed pushes already applied on a receiver with replay protection, replayed with the same
 * bytes under a new, missing or the same delivery id, must each be a 200 `duplicate` that patches nothing; and no
 * request that names no receiver, or fails a check made before authentication, may read a secret.
 */

/** Every status a rejected delivery may get (README "Answers and logs"). */
const documentedRejections = [400, 401, 404, 405, 413, 415, 431] as const;
const seed = Number(process.env.RELAY_FUZZ_SEED ?? 20261124);
const runs = Number(process.env.RELAY_FUZZ_RUNS ?? 10_000);
/** Small, so that oversized bodies are cheap to build; everything else the fuzz sends stays well under it. */
const maxBodyBytes = 256 * 1024;

interface Spec {
  receiver: string;
  provider: ProviderName;
  secret: string;
  /** Accepted media types; undefined: any (generic receivers ignore the body). */
  accepts?: readonly string[];
  /** Non-credential headers of a push (the event). */
  headers: Record<string, string>;
  /** The delivery id header, given a fresh id on every request (replay protection must never see a repeat). */
  deliveryHeader?: string;
  /** Header names of the credential as the provider spells them (for case-variant duplicates). */
  credentialHeader: string;
  /**
   * `path`: the provider cannot send a credential (Docker Hub, Quay); `credentialHeader` is then a stand-in that toEvent
   * moves into the `{token}` path segment, and every refusal of the credential is a 404 (as an unknown receiver).
   */
  credentialIn?: 'path';
  credential(signed: Buffer, secret: string): string;
  /** Credential values in forms the provider never sends (each must be a 401). */
  forgeries(signed: Buffer, secret: string): string[];
  /** The valid push payload; undefined for receivers that read no body. */
  payload?: Record<string, unknown>;
  /** Corruptions of the payload that must each be a 400. */
  wrongShapes?: Array<(p: Record<string, unknown>) => unknown>;
  /** Builds a payload with `n` ref changes (providers that read an array of them). */
  withChanges?: (n: number) => Record<string, unknown>;
  /** Signs the decoded `payload` field of a form rather than the raw body (Gitea, Forgejo, Gogs). */
  signsFormPayload?: boolean;
  /** What a valid push patches. */
  patches: string;
  /** The receiver's `events`, when not the provider's default. */
  events?: string[];
  /** More receiver fields, as YAML flow entries (nexus: `registryHosts`). */
  receiverFields?: string;
}

const sha = 'a94a8fe5ccb19ba61c4c0873d391e987982fbbd3';
const google = signingKey('google-fuzz-key');
const gcrIdentity = {
  audience: 'https://relay.fuzz.example/hooks/gcr',
  serviceAccount: 'push@fuzz.iam.gserviceaccount.com',
};
const base64Json = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64');
const hmacHex = (secret: string, body: Buffer, algorithm = 'sha256') =>
  createHmac(algorithm, secret).update(body).digest('hex');
const hmacForgeries = (prefix: string) => (signed: Buffer, secret: string) => {
  const hex = hmacHex(secret, signed);
  return [
    `${prefix}${hmacHex(`${secret}-wrong`, signed)}`,
    `${prefix}${hex.toUpperCase()}`,
    `${prefix}${hex.slice(0, -1)}`,
    `${prefix}${hex}0`,
    prefix === '' ? `sha256=${hex}` : hex,
    prefix === '' ? ` ${hex}` : `${prefix.toUpperCase()}${hex}`,
    `sha1=${createHmac('sha1', secret).update(signed).digest('hex')}`,
    `${prefix} ${hex}`,
  ];
};
const tokenForgeries = (scheme: string) => (_signed: Buffer, secret: string) => [
  `${scheme}${secret}-wrong`,
  `${scheme}${secret.slice(0, -1)}`,
  `${scheme}${secret.toUpperCase()}`,
  `${scheme}${secret} `.trimStart() + 'x',
  scheme === '' ? `Bearer ${secret}` : `Token ${secret}`,
];
const githubStyle = (name: string, url: string) => ({
  ref: 'refs/heads/main',
  before: sha,
  after: sha,
  repository: { full_name: name, clone_url: url },
});
const githubStyleWrong: Spec['wrongShapes'] = [
  ({ ref: _ref, ...rest }) => rest,
  (p) => ({ ...p, ref: 'main' }),
  (p) => ({ ...p, ref: 42 }),
  (p) => ({ ...p, ref: `refs/heads/${'b'.repeat(2000)}` }),
  (p) => ({ ...p, after: 'not-a-commit' }),
  (p) => ({ ...p, repository: 'o/r' }),
  (p) => ({ ...p, repository: {} }),
  (p) => ({ ...p, repository: { full_name: 'n'.repeat(3000), clone_url: 'https://x.example/o/r' } }),
  (p) => [p],
  () => null,
];
const giteaFamily = (provider: 'gitea' | 'forgejo' | 'gogs', display: string): Spec => ({
  receiver: provider,
  provider,
  secret: `${provider}-fuzz-webhook-secret`,
  accepts: ['application/json', 'application/x-www-form-urlencoded'],
  headers: { [`X-${display}-Event`]: 'push' },
  deliveryHeader: `X-${display}-Delivery`,
  credentialHeader: `X-${display}-Signature`,
  credential: (signed, secret) => hmacHex(secret, signed),
  forgeries: hmacForgeries(''),
  payload: githubStyle(`fuzz/${provider}`, `https://git.example/fuzz/${provider}.git`),
  wrongShapes: githubStyleWrong,
  signsFormPayload: true,
  patches: `c/flux-system/GitRepository/${provider}`,
});

/** How a spec's receiver refuses a missing, forged or duplicated credential. */
const refused = (spec: Spec) => (spec.credentialIn === 'path' ? 404 : 401);
const pathTokenHeader = 'X-Fuzz-Path-Token';

const specs: Spec[] = [
  {
    receiver: 'github',
    provider: 'github',
    secret: 'github-fuzz-webhook-secret',
    accepts: ['application/json', 'application/x-www-form-urlencoded'],
    headers: { 'X-GitHub-Event': 'push' },
    deliveryHeader: 'X-GitHub-Delivery',
    credentialHeader: 'X-Hub-Signature-256',
    credential: (signed, secret) => `sha256=${hmacHex(secret, signed)}`,
    forgeries: hmacForgeries('sha256='),
    payload: githubStyle('fuzz/github', 'https://github.com/fuzz/github'),
    wrongShapes: githubStyleWrong,
    patches: 'c/flux-system/GitRepository/github',
  },
  {
    receiver: 'github-package',
    provider: 'github',
    secret: 'github-package-fuzz-secret',
    accepts: ['application/json', 'application/x-www-form-urlencoded'],
    headers: { 'X-GitHub-Event': 'package' },
    deliveryHeader: 'X-GitHub-Delivery',
    credentialHeader: 'X-Hub-Signature-256',
    credential: (signed, secret) => `sha256=${hmacHex(secret, signed)}`,
    forgeries: hmacForgeries('sha256='),
    payload: {
      action: 'published',
      package: {
        name: 'app',
        package_type: 'CONTAINER',
        owner: { login: 'Fuzz' },
        package_version: {
          version: `sha256:${'f'.repeat(64)}`,
          package_url: 'ghcr.io/Fuzz/app:v1',
          container_metadata: { tag: { name: 'v1' } },
        },
      },
    },
    wrongShapes: [
      ({ action: _a, ...rest }) => rest,
      ({ package: _p, ...rest }) => rest,
      (p) => ({ ...p, package: { name: 42 } }),
      (p) => ({
        ...p,
        package: {
          name: 'app',
          package_type: 'CONTAINER',
          package_version: { package_url: 'ghcr.io/fuzz/app', container_metadata: { tag: { name: 'a b' } } },
        },
      }),
      (p) => ({
        ...p,
        package: {
          name: 'app',
          package_type: 'CONTAINER',
          package_version: { package_url: `ghcr.io/${'a'.repeat(3000)}` },
        },
      }),
    ],
    events: ['push', 'package'],
    patches: 'c/flux-system/ImageRepository/github-package',
  },
  {
    receiver: 'gitlab',
    provider: 'gitlab',
    secret: 'gitlab-fuzz-webhook-token',
    accepts: ['application/json'],
    headers: { 'X-Gitlab-Event': 'Push Hook' },
    deliveryHeader: 'X-Gitlab-Event-UUID',
    credentialHeader: 'X-Gitlab-Token',
    credential: (_signed, secret) => secret,
    forgeries: tokenForgeries(''),
    payload: {
      ref: 'refs/heads/main',
      after: sha,
      checkout_sha: sha,
      project: { path_with_namespace: 'fuzz/gitlab', git_http_url: 'https://gitlab.com/fuzz/gitlab.git' },
    },
    wrongShapes: [
      ({ ref: _ref, ...rest }) => rest,
      (p) => ({ ...p, ref: 'main' }),
      (p) => ({ ...p, project: null }),
      (p) => ({ ...p, project: { path_with_namespace: 'x' } }),
      (p) => ({ ...p, checkout_sha: 'zz'.repeat(40) }),
      () => 'a string',
    ],
    patches: 'c/flux-system/GitRepository/gitlab',
  },
  {
    receiver: 'bitbucket-cloud',
    provider: 'bitbucket-cloud',
    secret: 'bitbucket-cloud-fuzz-secret',
    accepts: ['application/json'],
    headers: { 'X-Event-Key': 'repo:push' },
    deliveryHeader: 'X-Request-UUID',
    credentialHeader: 'X-Hub-Signature',
    credential: (signed, secret) => `sha256=${hmacHex(secret, signed)}`,
    forgeries: hmacForgeries('sha256='),
    payload: bitbucketCloud(1),
    withChanges: bitbucketCloud,
    wrongShapes: [
      ({ repository: _r, ...rest }) => rest,
      (p) => ({ ...p, push: { changes: {} } }),
      (p) => ({ ...p, push: { changes: [5] } }),
      (p) => ({ ...p, push: { changes: [{ new: { type: 'commit', name: 'main' }, old: null }] } }),
      (p) => ({ ...p, push: { changes: [{ new: null, old: null }] } }),
      (p) => ({ ...p, repository: { full_name: 'a/b/c' } }),
    ],
    patches: 'c/flux-system/GitRepository/bitbucket-cloud',
  },
  {
    receiver: 'bitbucket-server',
    provider: 'bitbucket-server',
    secret: 'bitbucket-server-fuzz-secret',
    accepts: ['application/json'],
    headers: { 'X-Event-Key': 'repo:refs_changed' },
    deliveryHeader: 'X-Request-Id',
    credentialHeader: 'X-Hub-Signature',
    credential: (signed, secret) => `sha256=${hmacHex(secret, signed)}`,
    forgeries: hmacForgeries('sha256='),
    payload: bitbucketServer(1),
    withChanges: bitbucketServer,
    wrongShapes: [
      ({ changes: _c, ...rest }) => rest,
      (p) => ({ ...p, changes: [{ ref: { id: 'refs/heads/main' }, type: 'MOVE', toHash: sha }] }),
      (p) => ({ ...p, changes: [{ ref: { id: 'main' }, type: 'UPDATE', toHash: sha }] }),
      (p) => ({ ...p, repository: { slug: 'bbs', project: { key: 'FUZZ' } } }),
      (p) => ({
        ...p,
        repository: { links: { clone: Array(500).fill({ href: 'https://bbs.example/scm/fuzz/bbs.git' }) } },
      }),
    ],
    patches: 'c/flux-system/GitRepository/bitbucket-server',
  },
  giteaFamily('gitea', 'Gitea'),
  giteaFamily('forgejo', 'Forgejo'),
  giteaFamily('gogs', 'Gogs'),
  {
    receiver: 'azure-devops',
    provider: 'azure-devops',
    secret: 'flux:azure-fuzz-password',
    accepts: ['application/json'],
    headers: {},
    deliveryHeader: 'X-Vss-ActivityId',
    credentialHeader: 'Authorization',
    credential: (_signed, secret) => `Basic ${Buffer.from(secret).toString('base64')}`,
    forgeries: (_signed, secret) => [
      `Basic ${Buffer.from(`${secret}x`).toString('base64')}`,
      `Basic ${Buffer.from(secret.toUpperCase()).toString('base64')}`,
      `Bearer ${secret}`,
      `Basic ${secret}`,
      `Basic ${Buffer.from(secret).toString('base64')}!`,
      `Basic ${Buffer.from(secret.replace(':', '')).toString('base64')}`,
    ],
    payload: azure(1),
    withChanges: azure,
    wrongShapes: [
      ({ eventType: _e, ...rest }) => rest,
      (p) => ({ ...p, eventType: 42 }),
      (p) => ({ ...p, resource: null }),
      (p) => ({ ...p, resource: { repository: { remoteUrl: 'https://dev.azure.com/fuzz/fuzz/_git/azure' } } }),
      (p) => ({
        ...p,
        resource: { refUpdates: ['x'], repository: { remoteUrl: 'https://dev.azure.com/fuzz/fuzz/_git/azure' } },
      }),
      (p) => ({
        ...p,
        resource: {
          refUpdates: [{ name: 'main', newObjectId: sha }],
          repository: { remoteUrl: 'https://dev.azure.com/fuzz/fuzz/_git/azure' },
        },
      }),
      (p) => ({ ...p, eventType: 'e'.repeat(500) }),
    ],
    patches: 'c/flux-system/GitRepository/azure-devops',
  },
  {
    receiver: 'harbor',
    provider: 'harbor',
    secret: 'harbor-fuzz-auth-header',
    accepts: ['application/json'],
    headers: {},
    credentialHeader: 'Authorization',
    credential: (_signed, secret) => secret,
    forgeries: tokenForgeries(''),
    payload: harbor(1),
    withChanges: harbor,
    wrongShapes: [
      ({ type: _t, ...rest }) => rest,
      (p) => ({ ...p, type: 42 }),
      (p) => ({ ...p, type: 't'.repeat(500) }),
      (p) => ({ ...p, event_data: null }),
      (p) => ({ ...p, event_data: { resources: 'x', repository: {} } }),
      (p) => ({ ...p, event_data: { resources: [{ tag: 'latest' }], repository: {} } }),
      (p) => ({
        ...p,
        event_data: { resources: [{ resource_url: 'harbor.fuzz.example/fuzz/app', tag: 'a b' }], repository: {} },
      }),
      (p) => ({
        ...p,
        event_data: {
          resources: [{ resource_url: 'harbor.fuzz.example/fuzz/app', digest: 'sha256:zz' }],
          repository: {},
        },
      }),
      (p) => ({
        ...p,
        event_data: { resources: [{ resource_url: `harbor.fuzz.example/${'a'.repeat(3000)}` }], repository: {} },
      }),
    ],
    patches: 'c/flux-system/OCIRepository/harbor',
  },
  {
    receiver: 'dockerhub',
    provider: 'dockerhub',
    secret: 'dockerhub-fuzz-path-token',
    accepts: ['application/json'],
    headers: {},
    credentialHeader: pathTokenHeader,
    credentialIn: 'path',
    credential: (_signed, secret) => secret,
    forgeries: tokenForgeries(''),
    payload: {
      push_data: { pushed_at: 1417566161, pusher: 'fuzz', tag: 'latest' },
      repository: { repo_name: 'fuzz/dockerhub', name: 'dockerhub', namespace: 'fuzz' },
    },
    wrongShapes: [
      ({ push_data: _p, ...rest }) => rest,
      (p) => ({ ...p, push_data: { tag: '' } }),
      (p) => ({ ...p, push_data: { tag: 'a b' } }),
      (p) => ({ ...p, push_data: { tag: 't'.repeat(200) } }),
      (p) => ({ ...p, repository: { repo_name: 42 } }),
      (p) => ({ ...p, repository: { repo_name: 'n'.repeat(3000) } }),
      () => [],
    ],
    patches: 'c/flux-system/ImageRepository/dockerhub',
  },
  {
    receiver: 'quay',
    provider: 'quay',
    secret: 'quay-fuzz-path-token-0123',
    accepts: ['application/json'],
    headers: {},
    credentialHeader: pathTokenHeader,
    credentialIn: 'path',
    credential: (_signed, secret) => secret,
    forgeries: tokenForgeries(''),
    payload: {
      name: 'repository',
      repository: 'fuzz/quay',
      namespace: 'fuzz',
      docker_url: 'quay.io/fuzz/quay',
      updated_tags: ['latest'],
    },
    wrongShapes: [
      ({ docker_url: _d, ...rest }) => rest,
      (p) => ({ ...p, docker_url: 42 }),
      (p) => ({ ...p, updated_tags: 'latest' }),
      (p) => ({ ...p, updated_tags: [42] }),
      (p) => ({ ...p, updated_tags: ['a b'] }),
      (p) => ({ ...p, updated_tags: Array(500).fill('latest') }),
      (p) => ({ ...p, docker_url: `quay.io/${'q'.repeat(3000)}` }),
    ],
    patches: 'c/flux-system/ImageRepository/quay',
  },
  {
    // The path token is the secret; the token Google signs rides along, valid, in every delivery (tests/providers/gcr.test.ts
    // forges that one).
    receiver: 'gcr',
    provider: 'gcr',
    secret: 'gcr-fuzz-path-token-0123',
    receiverFields: `audience: '${gcrIdentity.audience}', serviceAccount: ${gcrIdentity.serviceAccount}`,
    accepts: ['application/json'],
    headers: { authorization: `Bearer ${idToken(google, pushClaims(gcrIdentity))}` },
    credentialHeader: pathTokenHeader,
    credentialIn: 'path',
    credential: (_signed, secret) => secret,
    forgeries: tokenForgeries(''),
    payload: JSON.parse(
      pushEnvelope({
        action: 'INSERT',
        digest: `europe-docker.pkg.dev/fuzz/repo/app@sha256:${'d'.repeat(64)}`,
        tag: 'europe-docker.pkg.dev/fuzz/repo/app:v1',
      }),
    ) as Record<string, unknown>,
    wrongShapes: [
      ({ message: _m, ...rest }) => rest,
      (p) => ({ ...p, message: { data: 'not base64!' } }),
      (p) => ({ ...p, message: { data: Buffer.from('hello').toString('base64') } }),
      (p) => ({ ...p, message: { data: base64Json({ action: 'INSERT', tag: 'v1' }) } }),
      (p) => ({ ...p, message: { data: base64Json({ action: 'INSERT' }) } }),
      (p) => ({ ...p, message: { data: base64Json({ action: 'I'.repeat(500), tag: 'a.example/b:c' }) } }),
      () => [],
    ],
    patches: 'c/flux-system/OCIRepository/gcr',
  },
  {
    receiver: 'acr',
    provider: 'acr',
    // A custom header of the webhook: the secret is `Header-Name: value`.
    secret: 'X-Relay-Token: acr-fuzz-header-value',
    accepts: ['application/json'],
    headers: {},
    credentialHeader: 'X-Relay-Token',
    credential: (_signed, secret) => secret.slice('X-Relay-Token: '.length),
    forgeries: (signed, secret) => tokenForgeries('')(signed, secret.slice('X-Relay-Token: '.length)),
    payload: {
      id: 'fuzz',
      action: 'push',
      target: { digest: `sha256:${'a'.repeat(64)}`, repository: 'fuzz/acr', tag: 'v1' },
      request: { host: 'fuzz.azurecr.io', method: 'PUT' },
    },
    wrongShapes: [
      ({ action: _a, ...rest }) => rest,
      ({ target: _t, ...rest }) => rest,
      (p) => ({ ...p, request: { host: 'fuzz.azurecr.io/evil' } }),
      (p) => ({ ...p, request: {} }),
      (p) => ({ ...p, target: { repository: 'fuzz/acr', tag: '../x' } }),
      (p) => ({ ...p, target: { repository: 'r'.repeat(3000) } }),
    ],
    patches: 'c/flux-system/OCIRepository/acr',
  },
  {
    receiver: 'cdevents',
    provider: 'cdevents',
    secret: 'cdevents-fuzz-hmac-key',
    accepts: ['application/json'],
    headers: { 'ce-specversion': '1.0', 'ce-source': '/fuzz', 'ce-type': 'dev.cdevents.artifact.published.0.1.1' },
    deliveryHeader: 'ce-id',
    credentialHeader: 'X-Signature',
    credential: (signed, secret) => `sha256=${hmacHex(secret, signed)}`,
    forgeries: hmacForgeries('sha256='),
    payload: {
      context: { type: 'dev.cdevents.artifact.published.0.1.1' },
      subject: {
        id: `pkg:oci/app@sha256%3A${'c'.repeat(64)}?repository_url=cd.example%2Ffuzz%2Fapp&tag=v1`,
        type: 'artifact',
      },
    },
    wrongShapes: [
      ({ subject: _s, ...rest }) => rest,
      (p) => ({ ...p, subject: { id: 42 } }),
      (p) => ({ ...p, subject: { id: 'pkg:oci/app@%E0%A4?repository_url=cd.example%2Ffuzz%2Fapp' } }),
      (p) => ({ ...p, subject: { id: 'pkg:oci/app?repository_url=cd.example%2Ffuzz%2Fapp&tag=a%20b' } }),
      (p) => ({ ...p, subject: { id: `pkg:oci/app?repository_url=${'r'.repeat(5000)}` } }),
    ],
    patches: 'c/flux-system/OCIRepository/cdevents',
  },
  {
    receiver: 'nexus',
    provider: 'nexus',
    secret: 'nexus-fuzz-secret-key',
    receiverFields: "registryHosts: { docker-fuzz: 'nexus.fuzz.example:8082' }",
    accepts: ['application/json'],
    headers: {},
    deliveryHeader: 'x-nexus-webhook-delivery',
    credentialHeader: 'X-Nexus-Webhook-Signature',
    credential: (signed, secret) => hmacHex(secret, signed, 'sha1'),
    forgeries: (signed, secret) => {
      const hex = hmacHex(secret, signed, 'sha1');
      return [
        hmacHex(`${secret}-wrong`, signed, 'sha1'),
        hex.toUpperCase(),
        hex.slice(0, -1),
        `sha1=${hex}`,
        hmacHex(secret, signed),
      ];
    },
    payload: {
      nodeId: 'FUZZ',
      repositoryName: 'docker-fuzz',
      action: 'CREATED',
      component: { id: 'c1', format: 'docker', name: 'fuzz/app', version: 'v1' },
    },
    wrongShapes: [
      ({ repositoryName: _r, ...rest }) => rest,
      ({ component: _c, ...rest }) => rest,
      (p) => ({ ...p, action: 'x'.repeat(500) }),
      (p) => ({ ...p, component: { format: 'docker', name: 'fuzz/app' } }),
      (p) => ({ ...p, repositoryName: 'r'.repeat(3000) }),
    ],
    patches: 'c/flux-system/OCIRepository/nexus',
  },
  {
    receiver: 'generic-hmac',
    provider: 'generic-hmac',
    secret: 'generic-hmac-fuzz-key',
    headers: {},
    credentialHeader: 'X-Signature',
    credential: (signed, secret) => `sha256=${hmacHex(secret, signed)}`,
    forgeries: (signed, secret) => [
      ...hmacForgeries('sha256=')(signed, secret),
      `sha512=${hmacHex(`${secret}x`, signed, 'sha512')}`,
    ],
    patches: 'c/flux-system/Kustomization/generic-hmac',
  },
  {
    receiver: 'generic',
    provider: 'generic',
    secret: 'generic-fuzz-bearer-token',
    headers: {},
    credentialHeader: 'Authorization',
    credential: (_signed, secret) => `Bearer ${secret}`,
    forgeries: tokenForgeries('Bearer '),
    patches: 'c/flux-system/Kustomization/generic',
  },
];

function bitbucketCloud(n: number): Record<string, unknown> {
  const change = {
    new: { type: 'branch', name: 'main', target: { hash: sha } },
    old: { type: 'branch', name: 'main', target: { hash: sha } },
  };
  return { repository: { full_name: 'fuzz/bitbucket-cloud' }, push: { changes: Array(n).fill(change) } };
}
function bitbucketServer(n: number): Record<string, unknown> {
  return {
    repository: {
      slug: 'bbs',
      project: { key: 'FUZZ' },
      links: { clone: [{ href: 'https://bbs.example/scm/fuzz/bbs.git', name: 'http' }] },
    },
    changes: Array(n).fill({ ref: { id: 'refs/heads/main', type: 'BRANCH' }, type: 'UPDATE', toHash: sha }),
  };
}
function harbor(n: number): Record<string, unknown> {
  const resource = {
    digest: `sha256:${'d'.repeat(64)}`,
    tag: 'latest',
    resource_url: 'harbor.fuzz.example/fuzz/app:latest',
  };
  return {
    type: 'PUSH_ARTIFACT',
    occur_at: 1586922308,
    operator: 'admin',
    event_data: { resources: Array(n).fill(resource), repository: { repo_full_name: 'fuzz/app' } },
  };
}
function azure(n: number): Record<string, unknown> {
  return {
    eventType: 'git.push',
    resource: {
      refUpdates: Array(n).fill({ name: 'refs/heads/main', newObjectId: sha }),
      repository: { name: 'azure', project: { name: 'fuzz' }, remoteUrl: 'https://dev.azure.com/fuzz/fuzz/_git/azure' },
    },
  };
}

/**
 * Receivers with replay protection: a signed push is applied once before the fuzz (beforeAll), and the fuzz replays
 * its exact bytes. One provider that signs the body (HMAC) and one that sends a token.
 */
const replaySpecs: Spec[] = specs
  .filter((s) => s.receiver === 'github' || s.receiver === 'gitlab')
  .map((s) => ({ ...s, receiver: `${s.receiver}-dedupe` }));
const dedupeTable = 'relay-fuzz-dedupe';

const objects: KubeObject[] = [
  gitRepository('flux-system', 'github', 'https://github.com/fuzz/github', { branch: 'main' }),
  gitRepository('flux-system', 'gitlab', 'https://gitlab.com/fuzz/gitlab', { branch: 'main' }),
  gitRepository('flux-system', 'bitbucket-cloud', 'ssh://git@bitbucket.org/fuzz/bitbucket-cloud.git', {
    branch: 'main',
  }),
  gitRepository('flux-system', 'bitbucket-server', 'https://bbs.example/scm/fuzz/bbs.git', { branch: 'main' }),
  gitRepository('flux-system', 'gitea', 'https://git.example/fuzz/gitea', { branch: 'main' }),
  gitRepository('flux-system', 'forgejo', 'https://git.example/fuzz/forgejo', { branch: 'main' }),
  gitRepository('flux-system', 'gogs', 'https://git.example/fuzz/gogs', { branch: 'main' }),
  gitRepository('flux-system', 'azure-devops', 'https://dev.azure.com/fuzz/fuzz/_git/azure', { branch: 'main' }),
  {
    apiVersion: 'source.toolkit.fluxcd.io/v1',
    kind: 'OCIRepository',
    metadata: { name: 'harbor', namespace: 'flux-system' },
    spec: { interval: '5m', url: 'oci://harbor.fuzz.example/fuzz/app' },
  },
  {
    apiVersion: 'source.toolkit.fluxcd.io/v1',
    kind: 'OCIRepository',
    metadata: { name: 'cdevents', namespace: 'flux-system' },
    spec: { interval: '5m', url: 'oci://cd.example/fuzz/app', ref: { tag: 'v1' } },
  },
  {
    apiVersion: 'source.toolkit.fluxcd.io/v1',
    kind: 'OCIRepository',
    metadata: { name: 'gcr', namespace: 'flux-system' },
    spec: { interval: '5m', url: 'oci://europe-docker.pkg.dev/fuzz/repo/app', ref: { tag: 'v1' } },
  },
  {
    apiVersion: 'source.toolkit.fluxcd.io/v1',
    kind: 'OCIRepository',
    metadata: { name: 'nexus', namespace: 'flux-system' },
    spec: { interval: '5m', url: 'oci://nexus.fuzz.example:8082/fuzz/app', ref: { tag: 'v1' } },
  },
  {
    apiVersion: 'source.toolkit.fluxcd.io/v1',
    kind: 'OCIRepository',
    metadata: { name: 'acr', namespace: 'flux-system' },
    spec: { interval: '5m', url: 'oci://fuzz.azurecr.io/fuzz/acr', ref: { tag: 'v1' } },
  },
  ...[
    ['dockerhub', 'docker.io/fuzz/dockerhub'],
    ['github-package', 'ghcr.io/fuzz/app'],
    ['quay', 'quay.io/fuzz/quay'],
  ].map(([name, image]) => ({
    apiVersion: 'image.toolkit.fluxcd.io/v1',
    kind: 'ImageRepository',
    metadata: { name: name!, namespace: 'flux-system' },
    spec: { interval: '5m', image },
  })),
  ...['generic-hmac', 'generic'].map((name) => ({
    apiVersion: 'kustomize.toolkit.fluxcd.io/v1',
    kind: 'Kustomization',
    metadata: { name, namespace: 'flux-system' },
    spec: { interval: '10m', prune: true, sourceRef: { kind: 'GitRepository', name: 'github' } },
  })),
];

const config = [
  'clusters:',
  '  c: { kubeconfig: fuzz/kubeconfig }',
  'receivers:',
  ...specs.map((s) => {
    const targets = s.payload
      ? ''
      : `, targets: [{ cluster: c, kind: Kustomization, name: ${s.receiver}, namespace: flux-system }]`;
    const events = s.events ? `, events: [${s.events.join(', ')}]` : '';
    const fields = s.receiverFields ? `, ${s.receiverFields}` : '';
    return `  ${s.receiver}: { provider: ${s.provider}, secret: fuzz/${s.receiver}${targets}${events}${fields} }`;
  }),
  ...replaySpecs.map(
    (s) => `  ${s.receiver}: { provider: ${s.provider}, secret: fuzz/${s.receiver}, dedupe: { windowSeconds: 3600 } }`,
  ),
  'limits:',
  `  maxBodyBytes: ${maxBodyBytes}`,
  '  clusterTimeoutMs: 3000',
  '  deliveryBudgetMs: 4000',
  '',
].join('\n');

let cluster: KubeApiTestServer;
let sm: SecretsManagerTestServer;
let ddb: DynamoDbTestServer;
let certs: GoogleCertsTestServer;
let handler: Handler;
/** The applied push of each replay receiver, as it was delivered (replayed byte for byte by the fuzz). */
const applied = new Map<string, Delivery>();

beforeAll(async () => {
  [cluster, sm, ddb, certs] = await Promise.all([
    KubeApiTestServer.start(),
    SecretsManagerTestServer.start(),
    DynamoDbTestServer.start(),
    GoogleCertsTestServer.start([google]),
  ]);
  process.env.RELAY_GOOGLE_CERTS_URL = certs.url;
  cluster.addServiceAccount('fuzz-sa-token-5b1f0c9e', relayUser, relayRules);
  for (const obj of objects) cluster.put(obj);
  sm.put('fuzz/kubeconfig', cluster.kubeconfig('fuzz-sa-token-5b1f0c9e'));
  for (const s of [...specs, ...replaySpecs]) sm.put(`fuzz/${s.receiver}`, s.secret);
  useSecretsManager(sm);
  await ddb.createDedupeTable(dedupeTable);
  Object.assign(process.env, { AWS_ENDPOINT_URL_DYNAMODB: ddb.endpoint, RELAY_DEDUPE_TABLE: dedupeTable });
  handler = loadRelayHandler(config);
  for (const spec of replaySpecs) {
    const d = signed(spec);
    const { result } = await captureOutput(() => handler(toEvent(d)));
    expect(JSON.parse(result.body as string)).toMatchObject({ outcome: 'patched', patched: [spec.patches] });
    applied.set(spec.receiver, d);
  }
});

afterAll(async () => {
  delete process.env.AWS_ENDPOINT_URL_DYNAMODB;
  delete process.env.RELAY_DEDUPE_TABLE;
  delete process.env.RELAY_GOOGLE_CERTS_URL;
  await Promise.all([cluster.close(), sm.close(), ddb.close(), certs.close()]);
});

type Transport = 'json' | 'form' | 'base64';

/** The body, the bytes the credential covers, and the content type, for a payload text sent over `transport`. */
function encode(
  spec: Spec,
  text: string | Buffer,
  transport: Transport,
): { body: string; isBase64Encoded: boolean; signed: Buffer; contentType: string } {
  const bytes = typeof text === 'string' ? Buffer.from(text, 'utf8') : text;
  if (transport === 'form') {
    const body = `payload=${encodeURIComponent(bytes.toString('utf8'))}`;
    const field = new URLSearchParams(body).get('payload') ?? '';
    return {
      body,
      isBase64Encoded: false,
      signed: spec.signsFormPayload ? Buffer.from(field, 'utf8') : Buffer.from(body),
      contentType: 'application/x-www-form-urlencoded',
    };
  }
  if (transport === 'base64')
    return { body: bytes.toString('base64'), isBase64Encoded: true, signed: bytes, contentType: 'application/json' };
  return { body: bytes.toString('utf8'), isBase64Encoded: false, signed: bytes, contentType: 'application/json' };
}

/** API Gateway adds these to every event; they count against the header limits like the sender's own. */
const gatewayHeaders = {
  host: 'relay.example',
  'user-agent': 'fuzz/1',
  'x-amzn-trace-id': 'Root=1-0-0',
  'x-forwarded-for': '192.0.2.1',
  'x-forwarded-port': '443',
  'x-forwarded-proto': 'https',
};

interface Delivery {
  spec: Spec;
  method?: string;
  receiver?: string;
  /** Raw header object (names as given: case variants stay distinct keys until the handler lower-cases them). */
  headers: Record<string, string>;
  body: string;
  isBase64Encoded: boolean;
}

let deliveries = 0;

/** A correctly authenticated delivery of `text` (the spec's push if omitted). */
function signed(spec: Spec, transport: Transport = 'json', text?: string | Buffer, contentType?: string): Delivery {
  const payload = text ?? JSON.stringify(spec.payload ?? { any: 'body' });
  const encoded = encode(spec, payload, transport);
  deliveries += 1;
  const id = spec.deliveryHeader ? { [spec.deliveryHeader]: `fuzz-${seed}-${deliveries}` } : {};
  return {
    spec,
    headers: {
      ...gatewayHeaders,
      'Content-Type': contentType ?? encoded.contentType,
      ...spec.headers,
      ...id,
      [spec.credentialHeader]: spec.credential(encoded.signed, spec.secret),
    },
    body: encoded.body,
    isBase64Encoded: encoded.isBase64Encoded,
  };
}

function toEvent(d: Delivery): APIGatewayProxyEventV2 {
  let headers = d.headers;
  let pathToken: string | undefined;
  if (d.spec.credentialIn === 'path') {
    // The stand-in header becomes the `{token}` segment; two spellings of it become one joined value, as for a header.
    const names = Object.keys(headers).filter((k) => k.toLowerCase() === pathTokenHeader.toLowerCase());
    if (names.length > 0) pathToken = names.map((k) => headers[k]).join(', ');
    headers = withoutKey(headers, pathTokenHeader);
  }
  const event = apiGatewayEvent({
    receiver: d.receiver ?? d.spec.receiver,
    headers: {},
    body: d.body,
    method: d.method ?? 'POST',
    isBase64Encoded: d.isBase64Encoded,
    ...(pathToken !== undefined ? { pathToken } : {}),
  });
  event.headers = { ...headers, 'content-length': String(Buffer.byteLength(d.body)) };
  return event;
}

const anySpec = fc.constantFrom(...specs);
const bodySpecs = specs.filter((s) => s.payload);
const bodySpec = fc.constantFrom(...bodySpecs);
const withoutKey = (headers: Record<string, string>, name: string) =>
  Object.fromEntries(Object.entries(headers).filter(([k]) => k.toLowerCase() !== name.toLowerCase()));
const receiverNames = new Set(specs.map((s) => s.receiver));

interface Case {
  category: string;
  expect: (typeof documentedRejections)[number] | 200;
  /** What the answer's outcome must be: `rejected` for every 4xx. */
  outcome?: 'rejected' | 'duplicate';
  /** Refused before authentication: no Secrets Manager call may be made for it. */
  beforeSecrets?: boolean;
  delivery: Delivery;
}
const kase =
  (category: string, expect: Case['expect'], extra: Pick<Case, 'outcome' | 'beforeSecrets'> = {}) =>
  (delivery: Delivery): Case => ({ category, expect, delivery, ...extra });
const early = { beforeSecrets: true };

/** Random printable-or-not text, including astral characters and lone surrogates. */
const anyText = (maxLength: number) => fc.string({ unit: 'binary', maxLength });

const categories: Array<fc.Arbitrary<Case>> = [
  // Not POST: 405, before anything else is read.
  fc
    .tuple(
      anySpec,
      fc.oneof(
        fc.constantFrom('GET', 'PUT', 'DELETE', 'PATCH', 'HEAD', 'OPTIONS', 'TRACE', 'post ', 'P0ST'),
        anyText(300),
      ),
    )
    .filter(([, method]) => method.toUpperCase() !== 'POST')
    .map(([spec, method]) => kase('method', 405, early)({ ...signed(spec), method })),
  // No such receiver: 404, before any secret is read.
  fc
    .tuple(
      anySpec,
      fc.oneof(
        anyText(60),
        fc.constantFrom(
          '__proto__',
          'constructor',
          'hasOwnProperty',
          'GITHUB',
          'github/',
          '../github',
          ' github',
          'github%00',
          '',
        ),
        fc.integer({ min: 1000, max: 8000 }).map((n) => 'r'.repeat(n)),
      ),
    )
    .filter(([, name]) => !receiverNames.has(name))
    .map(([spec, receiver]) => kase('receiver', 404, early)({ ...signed(spec), receiver })),
  // A receiver's name with a percent-escape, a separator or another case, and a forged credential: 404, and no
  // secret read (the name is looked up as given; nothing decodes or normalises it into a real receiver's).
  fc
    .tuple(
      anySpec,
      fc.constantFrom(
        (n: string) => encodeURIComponent(n).replace(/^(.)/, (c) => `%${c.charCodeAt(0).toString(16)}`),
        (n: string) => `${n}%2F..`,
        (n: string) => `${n}%00`,
        (n: string) => `${n}/`,
        (n: string) => `./${n}`,
        (n: string) => `${n};x=1`,
        (n: string) => `${n}?x`,
        (n: string) => n.toUpperCase(),
        (n: string) => `${n}\u200b`,
        (n: string) => `%2e%2e/${n}`,
      ),
      fc.nat(),
    )
    .map(([spec, odd, i]) => {
      const d = signed(spec);
      const forgeries = spec.forgeries(
        encode(spec, JSON.stringify(spec.payload ?? { any: 'body' }), 'json').signed,
        spec.secret,
      );
      return kase(
        'odd_path_forged',
        404,
        early,
      )({
        ...d,
        receiver: odd(spec.receiver),
        headers: { ...d.headers, [spec.credentialHeader]: forgeries[i % forgeries.length]! },
      });
    }),
  // More header fields than allowed: 431.
  fc.tuple(anySpec, fc.integer({ min: 101, max: 400 })).map(([spec, n]) => {
    const d = signed(spec);
    for (let i = 0; i < n; i++) d.headers[`x-fuzz-${i}`] = '';
    return kase('too_many_headers', 431, early)(d);
  }),
  // More header bytes than allowed, in one field or spread, ASCII or multi-byte: 431.
  fc.tuple(anySpec, fc.integer({ min: 1, max: 8 }), fc.constantFrom('x', 'é', '𝄞')).map(([spec, fields, unit]) => {
    const d = signed(spec);
    const perField = Math.ceil((16 * 1024) / fields / Buffer.byteLength(unit)) + 1;
    for (let i = 0; i < fields; i++) d.headers[`X-Fuzz-Large-${i}`] = unit.repeat(perField);
    return kase('headers_too_large', 431, early)(d);
  }),
  // The credential header twice, in two spellings: one header with both values, which never verifies: 401.
  fc.tuple(anySpec, fc.boolean()).map(([spec, same]) => {
    const d = signed(spec);
    const value = d.headers[spec.credentialHeader]!;
    d.headers[
      spec.credentialHeader.toLowerCase() === spec.credentialHeader
        ? spec.credentialHeader.toUpperCase()
        : spec.credentialHeader.toLowerCase()
    ] = same ? value : `${value}0`;
    return kase('duplicate_credential', refused(spec))(d);
  }),
  // No credential: 401.
  anySpec.map((spec) => {
    const d = signed(spec);
    return kase('missing_credential', refused(spec))({ ...d, headers: withoutKey(d.headers, spec.credentialHeader) });
  }),
  // A credential in a form the provider never sends, or made with another secret: 401.
  fc.tuple(anySpec, fc.nat()).map(([spec, i]) => {
    const d = signed(spec);
    const forgeries = spec.forgeries(
      encode(spec, JSON.stringify(spec.payload ?? { any: 'body' }), 'json').signed,
      spec.secret,
    );
    return kase(
      'forged_credential',
      refused(spec),
    )({ ...d, headers: { ...d.headers, [spec.credentialHeader]: forgeries[i % forgeries.length]! } });
  }),
  // A content type the provider does not post (or none): 415, before any secret is read.
  fc
    .tuple(
      bodySpec,
      fc.oneof(
        fc.constantFrom(
          'text/plain',
          'application/xml',
          'multipart/form-data; boundary=x',
          'application/json-patch+json',
          'application/jsonx',
          'json',
          '',
        ),
        anyText(80),
      ),
    )
    .filter(([spec, type]) => !spec.accepts!.includes(type.split(';')[0]!.trim().toLowerCase()))
    .map(([spec, type]) => kase('content_type', 415, early)(signed(spec, 'json', undefined, type))),
  // isBase64Encoded with a body that is not strict base64: 400, before any secret is read.
  fc
    .tuple(anySpec, fc.nat(), fc.constantFrom('*', '-', '_', ' ', '\n', '.', 'é', '=', 'truncate'))
    .map(([spec, at, junk]) => {
      const d = signed(spec, 'base64');
      const body =
        junk === 'truncate'
          ? d.body.slice(0, -1 - (at % 3))
          : `${d.body.slice(0, at % (d.body.length - 2))}${junk}${d.body.slice(at % (d.body.length - 2))}`;
      return kase('invalid_base64', 400, early)({ ...d, body });
    }),
  // Larger than limits.maxBodyBytes, plain or base64: 413.
  fc.tuple(anySpec, fc.integer({ min: 1, max: 4096 }), fc.boolean()).map(([spec, extra, base64]) => {
    const text = 'x'.repeat(maxBodyBytes + extra);
    return kase('too_large', 413, early)(signed(spec, base64 ? 'base64' : 'json', text));
  }),
  // Correctly signed with the REAL secret, but the payload is broken: 400 and no patch.
  fc
    .tuple(bodySpec, fc.uint8Array({ maxLength: 600 }), fc.nat())
    .map(([spec, bytes, i]) =>
      kase(
        'signed_random_bytes',
        400,
      )(signed(spec, 'base64', Buffer.concat([Buffer.from(bytes), Buffer.from([0xff])]).subarray(i % 2))),
    ),
  fc.tuple(bodySpec, anyText(400)).map(([spec, text]) => kase('signed_random_text', 400)(signed(spec, 'json', text))),
  fc
    .tuple(
      bodySpec,
      fc.nat(),
      fc.constantFrom([0xff], [0xc0, 0x80], [0x80], [0xed, 0xa0, 0x80], [0xf4, 0x90, 0x80, 0x80], [0xe2, 0x82]),
    )
    .map(([spec, at, bad]) => {
      const text = Buffer.from(JSON.stringify(spec.payload));
      const cut = 2 + (at % (text.length - 4));
      return kase(
        'signed_invalid_utf8',
        400,
      )(signed(spec, 'base64', Buffer.concat([text.subarray(0, cut), Buffer.from(bad), text.subarray(cut)])));
    }),
  fc.tuple(bodySpec, fc.nat(), fc.constantFrom<Transport>('json', 'base64')).map(([spec, at, transport]) => {
    const text = JSON.stringify(spec.payload);
    return kase('signed_truncated_json', 400)(signed(spec, transport, text.slice(0, at % text.length)));
  }),
  fc.tuple(bodySpec, fc.nat(), fc.constantFrom<Transport>('json', 'base64', 'form')).map(([spec, i, transport]) => {
    const shapes = spec.wrongShapes!;
    const shape = shapes[i % shapes.length]!(structuredClone(spec.payload!));
    return kase(
      'signed_wrong_shape',
      400,
    )(
      signed(
        spec,
        spec.accepts!.includes('application/x-www-form-urlencoded') ? transport : 'json',
        JSON.stringify(shape),
      ),
    );
  }),
  fc.tuple(bodySpec, fc.jsonValue({ maxDepth: 4 })).map(([spec, value]) => {
    // Random JSON without the top-level fields a push is recognised by: never a valid push, always a 400.
    const stripped =
      value !== null && typeof value === 'object' && !Array.isArray(value)
        ? Object.fromEntries(
            Object.entries(value).filter(
              ([k]) =>
                ![
                  'ref',
                  'repository',
                  'project',
                  'push',
                  'changes',
                  'resource',
                  'eventType',
                  'type',
                  'docker_url',
                  'push_data',
                  'action',
                  'package',
                  'target',
                  'request',
                  'subject',
                ].includes(k),
            ),
          )
        : value;
    return kase('signed_random_json', 400)(signed(spec, 'json', JSON.stringify(stripped) ?? 'null'));
  }),
  fc.tuple(bodySpec, fc.integer({ min: 65, max: 30_000 }), fc.constantFrom('[', '{"a":')).map(([spec, depth, open]) => {
    const close = open === '[' ? ']' : '}';
    const bomb = `${open.repeat(depth)}1${close.repeat(depth)}`;
    const text = JSON.stringify({ ...spec.payload, bomb: 0 }).replace('"bomb":0', `"bomb":${bomb}`);
    return kase('signed_deep_nesting', 400)(signed(spec, 'json', text));
  }),
  fc
    .tuple(fc.constantFrom(...specs.filter((s) => s.withChanges)), fc.integer({ min: 101, max: 3000 }))
    .map(([spec, n]) => {
      // Tiny entries: the count alone must be refused, before any entry is read.
      const payload = spec.withChanges!(1);
      const text = JSON.stringify(payload).replace(
        /\[\{"(new|ref|name|digest)"[^\]]*\]/,
        `[${Array(n).fill('0').join(',')}]`,
      );
      return kase('signed_huge_array', 400)(signed(spec, 'json', text));
    }),
  // (Payloads with a `ref` field, which the broken escape goes into.)
  fc
    .tuple(
      fc.constantFrom(
        ...specs.filter(
          (s) =>
            s.accepts?.includes('application/x-www-form-urlencoded') && JSON.stringify(s.payload).includes('"ref"'),
        ),
      ),
      fc.constantFrom('%zz', '%', '%F', '%FF', '%C0%80', '%ED%A0%80'),
    )
    .map(([spec, escape]) => {
      // The form's payload field has a broken escape; URLSearchParams repairs it, so the signature (over the repaired
      // field for Gitea, Forgejo, Gogs; over the raw form for GitHub) verifies, and the strict reader must refuse it.
      const body = `payload=${encodeURIComponent(JSON.stringify(spec.payload)).replace('%22ref%22', `%22ref${escape}%22`)}`;
      const covered = spec.signsFormPayload
        ? Buffer.from(new URLSearchParams(body).get('payload')!, 'utf8')
        : Buffer.from(body);
      return kase(
        'signed_bad_form_escape',
        400,
      )({
        spec,
        headers: {
          ...gatewayHeaders,
          'content-type': 'application/x-www-form-urlencoded',
          ...spec.headers,
          [spec.credentialHeader]: spec.credential(covered, spec.secret),
        },
        body,
        isBase64Encoded: false,
      });
    }),
];

/**
 * An applied push replayed byte for byte on a receiver with replay protection, under a new, missing or the same
 * delivery id (the id header is signed by nobody), header names in any case: 200 duplicate, nothing patched. Drawn a
 * twentieth as often as each category above: every replay costs DynamoDB round trips (dynalite: ~27 ms a replay,
 * measured here), and a few dozen cover its three id cases and two providers.
 */
const replays: fc.Arbitrary<Case> = fc
  .tuple(fc.constantFrom(...replaySpecs), fc.constantFrom('new', 'missing', 'same'), fc.boolean())
  .map(([spec, id, upper]) => {
    const first = applied.get(spec.receiver)!;
    const deliveryHeader = spec.deliveryHeader!;
    const headers =
      id === 'same'
        ? first.headers
        : id === 'missing'
          ? withoutKey(first.headers, deliveryHeader)
          : { ...first.headers, [deliveryHeader]: `replay-${seed}-${(deliveries += 1)}` };
    const cased = upper ? Object.fromEntries(Object.entries(headers).map(([k, v]) => [k.toUpperCase(), v])) : headers;
    return kase('replayed', 200, { outcome: 'duplicate' })({ ...first, headers: cased });
  });
const weighted = [...categories.map((arbitrary) => ({ arbitrary, weight: 20 })), { arbitrary: replays, weight: 1 }];

/** Splits captured output into JSON delivery lines (other lines, such as EMF metrics, are skipped). */
function deliveryLinesIn(text: string): Array<Record<string, unknown>> {
  const out: Array<Record<string, unknown>> = [];
  for (const line of text.split('\n')) {
    if (!line.includes('"message":"delivery"')) continue;
    const parsed = JSON.parse(line) as Record<string, unknown>;
    if (parsed.message === 'delivery') out.push(parsed);
  }
  return out;
}

test('the harness is live: a correctly signed push of every provider patches (so the fuzz cannot pass by being broken)', async () => {
  const { lines } = await captureOutput(() =>
    fc.assert(
      fc.asyncProperty(
        anySpec,
        fc.constantFrom<Transport>('json', 'base64', 'form'),
        fc.boolean(),
        async (spec, transport, upper) => {
          const usable =
            transport === 'form' && !spec.accepts?.includes('application/x-www-form-urlencoded') ? 'json' : transport;
          const d = signed(spec, usable);
          const headers = upper
            ? Object.fromEntries(Object.entries(d.headers).map(([k, v]) => [k.toUpperCase(), v]))
            : d.headers;
          const before = patchRequests(cluster).length;
          const result = await handler(toEvent({ ...d, headers }));
          const answer = JSON.parse(result.body as string) as Record<string, unknown>;
          expect(answer).toMatchObject({ outcome: 'patched', patched: [spec.patches] });
          expect(result.statusCode).toBe(200);
          expect(patchRequests(cluster).length).toBe(before + 1);
        },
      ),
      { seed, numRuns: 60 },
    ),
  );
  expect(lines.filter((l) => l.includes('"outcome":"patched"') && l.includes('"message":"delivery"'))).toHaveLength(60);
});

test('with a cold secret cache, nothing is read from Secrets Manager for unknown receivers or early refusals; the first valid delivery reads', async () => {
  const cold = loadRelayHandler(config);
  const before = sm.calls.length;
  const { result } = await captureOutput(async () => {
    const statuses: number[] = [];
    for (const spec of [...specs, ...replaySpecs]) {
      for (const receiver of [
        `${spec.receiver}x`,
        spec.receiver.toUpperCase(),
        `%${spec.receiver.charCodeAt(0).toString(16)}${spec.receiver.slice(1)}`,
        '__proto__',
      ]) {
        statuses.push((await cold(toEvent({ ...signed(spec), receiver }))).statusCode!);
      }
      statuses.push((await cold(toEvent({ ...signed(spec), method: 'GET' }))).statusCode!);
      if (spec.accepts) statuses.push((await cold(toEvent(signed(spec, 'json', undefined, 'text/plain')))).statusCode!);
    }
    return statuses;
  });
  expect(new Set(result)).toEqual(new Set([404, 405, 415]));
  expect(sm.calls.slice(before)).toEqual([]);
  // Live: the same handler reads the secret for a delivery to a real receiver.
  await captureOutput(() => cold(toEvent(signed(specs[0]!))));
  expect(sm.calls.length).toBeGreaterThan(before);
});

test(`${runs} malformed, forged or replayed deliveries: each a documented 4xx (a replay: 200 duplicate) with a JSON reason and one log line; no 5xx, throw, patch, or secret read before authentication`, async () => {
  cluster.clearRequests();
  const byStatus = new Map<number, number>();
  const byCategory = new Map<string, number>();
  let throws = 0;
  let requests = 0;
  const chunks: string[] = [];
  const spies = [process.stdout, process.stderr].map((stream) =>
    jest.spyOn(stream, 'write').mockImplementation((chunk: string | Uint8Array) => {
      chunks.push(typeof chunk === 'string' ? chunk : Buffer.from(chunk).toString('utf8'));
      return true;
    }),
  );
  const started = performance.now();
  try {
    await fc.assert(
      fc.asyncProperty(
        fc.oneof(...weighted),
        async ({ category, expect: expected, outcome = 'rejected', beforeSecrets, delivery }) => {
          const from = chunks.length;
          const secretReads = sm.calls.length;
          requests += 1;
          let result;
          try {
            result = await handler(toEvent(delivery));
          } catch (error) {
            throws += 1;
            throw error;
          }
          byStatus.set(result.statusCode ?? 0, (byStatus.get(result.statusCode ?? 0) ?? 0) + 1);
          byCategory.set(category, (byCategory.get(category) ?? 0) + 1);
          const answer = JSON.parse(result.body as string) as Record<string, unknown>;
          const lines = deliveryLinesIn(chunks.slice(from).join(''));
          expect({
            category,
            receiver: delivery.spec.receiver,
            status: result.statusCode,
            outcome: answer.outcome,
            reason: typeof answer.reason,
            lines: lines.length,
          }).toEqual({
            category,
            receiver: delivery.spec.receiver,
            status: expected,
            outcome,
            reason: 'string',
            lines: 1,
          });
          expect(lines[0]).toMatchObject({ status: expected, outcome });
          if (outcome === 'rejected') expect(documentedRejections).toContain(result.statusCode);
          if (beforeSecrets)
            expect({ category, secretReads: sm.calls.length - secretReads }).toEqual({ category, secretReads: 0 });
        },
      ),
      { seed, numRuns: runs },
    );
  } finally {
    spies.forEach((s) => s.mockRestore());
    recordCapturedOutput(chunks.join(''));
  }
  const seconds = (performance.now() - started) / 1000;
  const patches = patchRequests(cluster).length;
  const fivexx = [...byStatus].filter(([s]) => s >= 500).reduce((n, [, c]) => n + c, 0);
  recordFigure('relay fuzz', {
    requests,
    'by status': [...byStatus]
      .sort(([a], [b]) => a - b)
      .map(([s, c]) => `${s}×${c}`)
      .join(' '),
    '5xx': fivexx,
    throws,
    patches,
    seed,
    seconds: Number(seconds.toFixed(1)),
  });
  expect(requests).toBeGreaterThanOrEqual(runs);
  expect(throws).toBe(0);
  expect(fivexx).toBe(0);
  expect(patches).toBe(0);
  expect(cluster.requests.filter((r) => r.method !== 'GET')).toEqual([]);
  // Every category was exercised.
  expect([...byCategory.keys()].sort()).toHaveLength(weighted.length);
}, 120_000);
