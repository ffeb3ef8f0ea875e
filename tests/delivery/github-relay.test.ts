import { KubeApiTestServer } from '../support/kube-api-server';
import { SecretsManagerTestServer } from '../support/secrets-manager-server';
import {
  apiGatewayEvent,
  captureOutput,
  deliveryLines,
  githubExamples,
  gitRepository,
  type Handler,
  loadRelayHandler,
  patchRequests,
  relayRules,
  relayUser,
  requestedAt,
  signGitHub,
  useSecretsManager,
} from '../support/relay-harness';

const pushes = githubExamples('push');
const pings = githubExamples('ping');
/** Real GitHub payloads: a push creating `master`, a tag creation, a tag deletion (Codertocat/Hello-World). */
const branchPush = pushes.find((p) => p.ref === 'refs/heads/master' && p.deleted === false)!;
const tagPush = pushes.find((p) => p.ref === 'refs/tags/simple-tag' && p.created === true)!;
const tagDelete = pushes.find((p) => p.deleted === true)!;

const webhookSecret = 'gh-webhook-s3cret-value';
const prodToken = 'prod-sa-token-0123456789abcdef';
const stagingToken = 'staging-sa-token-fedcba9876543210';

let prod: KubeApiTestServer;
let staging: KubeApiTestServer;
let sm: SecretsManagerTestServer;
let handler: Handler;

const config = `
clusters:
  prod:
    kubeconfig: aws-sm:flux-relay/prod-kubeconfig
  staging:
    kubeconfig: aws-sm:flux-relay/staging-kubeconfig#kubeconfig
    namespaces: [flux-system]
receivers:
  github:
    provider: github
    secret: aws-sm:flux-relay/github#secret
    targets:
      - { cluster: prod, kind: Kustomization, name: apps, namespace: flux-system }
  github-staging-only:
    provider: github
    secret: aws-sm:flux-relay/github#secret
    clusters: [staging]
limits:
  clusterTimeoutMs: 1500
  deliveryBudgetMs: 3000
`;

beforeAll(async () => {
  [prod, staging, sm] = await Promise.all([
    KubeApiTestServer.start(),
    KubeApiTestServer.start(),
    SecretsManagerTestServer.start(),
  ]);
  prod.addServiceAccount(prodToken, relayUser, relayRules);
  staging.addServiceAccount(stagingToken, relayUser, relayRules);
  sm.put('flux-relay/github', JSON.stringify({ secret: webhookSecret }));
  sm.put('flux-relay/prod-kubeconfig', prod.kubeconfig(prodToken));
  sm.put('flux-relay/staging-kubeconfig', JSON.stringify({ kubeconfig: staging.kubeconfig(stagingToken) }));
  useSecretsManager(sm);
  handler = loadRelayHandler(config);
});

afterAll(async () => {
  await Promise.all([prod.close(), staging.close(), sm.close()]);
});

beforeEach(() => {
  for (const server of [prod, staging]) {
    for (const type of server.resourceTypes()) {
      for (const obj of server.list(type.group ? `${type.group}/${type.version}` : type.version, type.kind)) {
        server.remove(obj.apiVersion, obj.kind, obj.metadata.namespace!, obj.metadata.name);
      }
    }
    server.clearRequests();
    server.fault(undefined);
  }
  const hello = 'https://github.com/Codertocat/Hello-World';
  prod.put(gitRepository('flux-system', 'hello-https', hello, { branch: 'master' }));
  prod.put(gitRepository('flux-system', 'hello-ssh-no-ref', 'ssh://git@github.com/codertocat/hello-world.git'));
  prod.put(gitRepository('apps', 'hello-apps', `${hello}.git/`, { branch: 'master' }, { team: 'apps' }));
  prod.put(gitRepository('flux-system', 'hello-main', hello, { branch: 'main' }));
  prod.put(gitRepository('flux-system', 'hello-tag', hello, { tag: 'simple-tag' }));
  prod.put(gitRepository('flux-system', 'hello-semver', hello, { semver: '^1.0.0' }));
  prod.put(
    gitRepository('flux-system', 'hello-pinned', hello, {
      branch: 'master',
      commit: '6113728f27ae82c7b1a177c8d03f9e96e0adf246',
    }),
  );
  prod.put(
    gitRepository('flux-system', 'other-repo', 'https://github.com/Codertocat/Hello-World-2', { branch: 'master' }),
  );
  prod.put({
    apiVersion: 'kustomize.toolkit.fluxcd.io/v1',
    kind: 'Kustomization',
    metadata: { name: 'apps', namespace: 'flux-system' },
    spec: { interval: '10m', prune: true, sourceRef: { kind: 'GitRepository', name: 'hello-https' } },
  });
  staging.put(
    gitRepository('flux-system', 'hello-staging', 'ssh://git@ssh.github.com:443/Codertocat/Hello-World.git', {
      branch: 'master',
    }),
  );
  staging.put(gitRepository('other-ns', 'hello-elsewhere', hello, { branch: 'master' }));
});

function deliver(
  payload: unknown,
  opts: { event?: string; secret?: string; receiver?: string; headers?: Record<string, string> } = {},
) {
  const body = JSON.stringify(payload);
  return handler(
    apiGatewayEvent({
      receiver: opts.receiver ?? 'github',
      body,
      headers: {
        'Content-Type': 'application/json',
        'X-GitHub-Event': opts.event ?? 'push',
        'X-GitHub-Delivery': '72d3162e-cc78-11e3-81ab-4c9367dc0958',
        'X-Hub-Signature-256': signGitHub(opts.secret ?? webhookSecret, body),
        ...opts.headers,
      },
    }),
  );
}

function answer(result: Awaited<ReturnType<Handler>>): Record<string, unknown> {
  return JSON.parse(result.body as string) as Record<string, unknown>;
}

test('a signed push patches exactly the GitRepositories tracking that repository and branch, on every cluster', async () => {
  const result = await deliver(branchPush);
  expect(result.statusCode).toBe(200);
  const body = answer(result);
  const expected = [
    'prod/apps/GitRepository/hello-apps',
    'prod/flux-system/GitRepository/hello-https',
    'prod/flux-system/GitRepository/hello-ssh-no-ref',
    'prod/flux-system/Kustomization/apps',
    'staging/flux-system/GitRepository/hello-staging',
  ];
  expect(body).toMatchObject({
    outcome: 'patched',
    event: 'push',
    repository: 'Codertocat/Hello-World',
    ref: 'refs/heads/master',
    failed: [],
  });
  expect(body.matched).toEqual(expected);
  expect(body.patched).toEqual(expected);
  expect(body.delivery).toBe('72d3162e-cc78-11e3-81ab-4c9367dc0958');

  const stamp = body.requestedAt as string;
  expect(stamp).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{1,9})?Z$/);
  expect(requestedAt(prod, 'flux-system', 'hello-https')).toBe(stamp);
  expect(requestedAt(prod, 'flux-system', 'hello-ssh-no-ref')).toBe(stamp);
  expect(requestedAt(prod, 'apps', 'hello-apps')).toBe(stamp);
  expect(requestedAt(prod, 'flux-system', 'apps', 'Kustomization', 'kustomize.toolkit.fluxcd.io/v1')).toBe(stamp);
  expect(requestedAt(staging, 'flux-system', 'hello-staging')).toBe(stamp);
  // The merge patch touched only the annotation.
  expect(prod.get('source.toolkit.fluxcd.io/v1', 'GitRepository', 'apps', 'hello-apps')?.metadata.annotations).toEqual({
    team: 'apps',
    'reconcile.fluxcd.io/requestedAt': stamp,
  });
  for (const name of ['hello-main', 'hello-tag', 'hello-semver', 'hello-pinned', 'other-repo']) {
    expect(requestedAt(prod, 'flux-system', name)).toBeUndefined();
  }
  // staging watches only flux-system.
  expect(requestedAt(staging, 'other-ns', 'hello-elsewhere')).toBeUndefined();

  const patches = [...patchRequests(prod), ...patchRequests(staging)];
  expect(patches).toHaveLength(5);
  for (const p of patches) {
    expect(p.contentType).toBe('application/merge-patch+json');
    expect(p.body).toEqual({ metadata: { annotations: { 'reconcile.fluxcd.io/requestedAt': stamp } } });
    expect(p.status).toBe(200);
  }
});

test('a push to main patches only what tracks main', async () => {
  const result = await deliver({ ...branchPush, ref: 'refs/heads/main' });
  expect(answer(result).matched).toEqual([
    'prod/flux-system/GitRepository/hello-main',
    'prod/flux-system/Kustomization/apps',
  ]);
});

test('a tag push patches the GitRepositories that follow that tag, not those that follow a branch', async () => {
  const result = await deliver(tagPush);
  expect(result.statusCode).toBe(200);
  expect(answer(result).patched).toEqual([
    'prod/flux-system/GitRepository/hello-tag',
    'prod/flux-system/Kustomization/apps',
  ]);
});

test('a deletion is acknowledged and patches nothing', async () => {
  const result = await deliver(tagDelete);
  expect(result.statusCode).toBe(200);
  expect(answer(result)).toMatchObject({ outcome: 'ignored', reason: 'the push deleted its ref' });
  expect(patchRequests(prod)).toHaveLength(0);
});

test('a form-encoded delivery is verified on the raw form body and routed', async () => {
  const body = `payload=${encodeURIComponent(JSON.stringify(branchPush))}`;
  const result = await handler(
    apiGatewayEvent({
      receiver: 'github',
      body,
      headers: {
        'content-type': 'application/x-www-form-urlencoded',
        'x-github-event': 'push',
        'x-hub-signature-256': signGitHub(webhookSecret, body),
      },
    }),
  );
  expect(result.statusCode).toBe(200);
  expect(answer(result).patched).toHaveLength(5);
});

test('a base64-encoded body (API Gateway binary passthrough) is verified on its decoded bytes', async () => {
  const raw = JSON.stringify(branchPush);
  const result = await handler(
    apiGatewayEvent({
      receiver: 'github',
      body: Buffer.from(raw).toString('base64'),
      isBase64Encoded: true,
      headers: {
        'content-type': 'application/json',
        'x-github-event': 'push',
        'x-hub-signature-256': signGitHub(webhookSecret, raw),
      },
    }),
  );
  expect(result.statusCode).toBe(200);
});

test('a ping is answered after authentication without touching any cluster', async () => {
  const result = await deliver(pings[0], { event: 'ping' });
  expect(result.statusCode).toBe(200);
  expect(answer(result)).toMatchObject({ outcome: 'pong' });
  expect(prod.requests).toHaveLength(0);
  expect(staging.requests).toHaveLength(0);
});

test('an unsigned ping is refused', async () => {
  const result = await deliver(pings[0], { event: 'ping', secret: 'wrong' });
  expect(result.statusCode).toBe(401);
});

test('an event the receiver does not handle gets a 2xx and no cluster call', async () => {
  const result = await deliver({ action: 'opened' }, { event: 'issues' });
  expect(result.statusCode).toBe(200);
  expect(answer(result)).toMatchObject({
    outcome: 'ignored',
    reason: 'event issues is not enabled on receiver github',
  });
  expect(prod.requests).toHaveLength(0);
});

const rawBranchPush = JSON.stringify(branchPush);
const goodSignature = signGitHub(webhookSecret, rawBranchPush);

test.each([
  ['a wrong secret', { 'x-hub-signature-256': signGitHub('not-the-secret', rawBranchPush) }],
  ['SHA-1 only', { 'x-hub-signature-256': '', 'x-hub-signature': `sha1=${'0'.repeat(40)}` }],
  ['upper-case hex', { 'x-hub-signature-256': `sha256=${goodSignature.slice(7).toUpperCase()}` }],
  ['bare hex', { 'x-hub-signature-256': goodSignature.slice(7) }],
  ['a truncated signature', { 'x-hub-signature-256': goodSignature.slice(0, -1) }],
  ['a missing header', { 'x-hub-signature-256': '' }],
] as Array<[string, Record<string, string>]>)('%s gets 401 and patches nothing', async (_name, signatureHeaders) => {
  const headers: Record<string, string> = {
    'content-type': 'application/json',
    'x-github-event': 'push',
    ...signatureHeaders,
  };
  const result = await handler(apiGatewayEvent({ receiver: 'github', body: rawBranchPush, headers }));
  expect(result.statusCode).toBe(401);
  expect(answer(result).outcome).toBe('rejected');
  expect(prod.requests).toHaveLength(0);
  expect(staging.requests).toHaveLength(0);
});

test('a tampered body gets 401 and patches nothing', async () => {
  const tampered = rawBranchPush.replace('refs/heads/master', 'refs/heads/mastex');
  const result = await handler(
    apiGatewayEvent({
      receiver: 'github',
      body: tampered,
      headers: { 'content-type': 'application/json', 'x-github-event': 'push', 'x-hub-signature-256': goodSignature },
    }),
  );
  expect(result.statusCode).toBe(401);
  expect(prod.requests).toHaveLength(0);
});

test('requests that cannot be valid are refused before any secret is read', async () => {
  const before = sm.calls.length;
  const unknown = await deliver(branchPush, { receiver: 'nobody' });
  expect(unknown.statusCode).toBe(404);
  const get = await handler(apiGatewayEvent({ receiver: 'github', body: '', method: 'GET', headers: {} }));
  expect(get.statusCode).toBe(405);
  expect(get.headers).toMatchObject({ allow: 'POST' });
  const huge = 'x'.repeat(3 * 1024 * 1024 + 1);
  const tooLarge = await handler(
    apiGatewayEvent({
      receiver: 'github',
      body: huge,
      headers: {
        'content-type': 'application/json',
        'x-github-event': 'push',
        'x-hub-signature-256': signGitHub(webhookSecret, huge),
      },
    }),
  );
  expect(tooLarge.statusCode).toBe(413);
  const xml = await deliver(branchPush, { headers: { 'Content-Type': 'application/xml' } });
  expect(xml.statusCode).toBe(415);
  expect(sm.calls.length).toBe(before);
});

test('a malformed payload after authentication gets 400, not a 5xx', async () => {
  for (const payload of [
    [1, 2],
    { ref: 'main', repository: { clone_url: 'https://github.com/o/r' } },
    { ref: 'refs/heads/main' },
  ]) {
    const result = await deliver(payload);
    expect(result.statusCode).toBe(400);
  }
  const notJson = 'not json';
  const result = await handler(
    apiGatewayEvent({
      receiver: 'github',
      body: notJson,
      headers: {
        'content-type': 'application/json',
        'x-github-event': 'push',
        'x-hub-signature-256': signGitHub(webhookSecret, notJson),
      },
    }),
  );
  expect(result.statusCode).toBe(400);
  expect(prod.requests).toHaveLength(0);
});

/** Runs `fn` with a cold-started relay whose staging kubeconfig carries `token`, then restores the good one. */
async function withStagingToken(token: string, fn: (relay: Handler) => Promise<void>): Promise<void> {
  sm.put('flux-relay/staging-kubeconfig', JSON.stringify({ kubeconfig: staging.kubeconfig(token) }));
  try {
    await fn(loadRelayHandler(config));
  } finally {
    sm.put('flux-relay/staging-kubeconfig', JSON.stringify({ kubeconfig: staging.kubeconfig(stagingToken) }));
  }
}

function signedPush(): Parameters<Handler>[0] {
  const body = JSON.stringify(branchPush);
  return apiGatewayEvent({
    receiver: 'github',
    body,
    headers: {
      'content-type': 'application/json',
      'x-github-event': 'push',
      'x-hub-signature-256': signGitHub(webhookSecret, body),
    },
  });
}

test('a cluster whose token cannot patch is named in a 502; the other cluster is still patched', async () => {
  const readOnly = 'staging-read-only-token';
  staging.addServiceAccount(readOnly, relayUser, [
    { apiGroups: ['source.toolkit.fluxcd.io'], resources: ['gitrepositories'], verbs: ['get', 'list'] },
  ]);
  await withStagingToken(readOnly, async (relay) => {
    const result = await relay(signedPush());
    expect(result.statusCode).toBe(502);
    const a = answer(result);
    expect(a.outcome).toBe('failed');
    expect(a.failed).toEqual([
      {
        target: 'staging/flux-system/GitRepository/hello-staging',
        error: expect.stringContaining('HTTP 403 Forbidden'),
      },
    ]);
    expect((a.failed as Array<{ error: string }>)[0]!.error).toContain('cannot patch resource "gitrepositories"');
    expect(a.patched).toHaveLength(4);
    expect(requestedAt(prod, 'flux-system', 'hello-https')).toBe(a.requestedAt);
    expect(requestedAt(staging, 'flux-system', 'hello-staging')).toBeUndefined();
  });
});

test('a cluster that does not answer in time fails alone', async () => {
  staging.fault({ delayMs: 2500, match: (r) => r.method === 'GET' });
  const result = await deliver(branchPush);
  expect(result.statusCode).toBe(502);
  const a = answer(result);
  expect(a.failed).toEqual([{ target: 'staging/*/GitRepository/*', error: expect.stringContaining('timed out') }]);
  expect(a.patched).toHaveLength(4);
});

test('a receiver limited to some clusters touches no other', async () => {
  const result = await deliver(branchPush, { receiver: 'github-staging-only' });
  expect(answer(result).patched).toEqual(['staging/flux-system/GitRepository/hello-staging']);
  expect(prod.requests).toHaveLength(0);
});

test('warm deliveries reuse the TLS connection to each cluster', async () => {
  await deliver(branchPush);
  const connections = prod.connectionCount();
  await deliver(branchPush);
  await deliver(branchPush);
  expect(prod.connectionCount()).toBe(connections);
  expect(patchRequests(prod).length).toBe(12);
});

test('each delivery logs exactly one summary line, and no line carries a secret, signature or body', async () => {
  const body = JSON.stringify(branchPush);
  const signature = signGitHub(webhookSecret, body);
  const { lines } = await captureOutput(async () => {
    await deliver(branchPush);
    await deliver(branchPush, { secret: 'attacker-guess' });
    await deliver(branchPush, { receiver: 'nobody' });
  });
  const summaries = deliveryLines(lines);
  expect(summaries).toHaveLength(3);
  expect(summaries[0]).toMatchObject({
    level: 'INFO',
    receiver: 'github',
    provider: 'github',
    event: 'push',
    delivery_id: '72d3162e-cc78-11e3-81ab-4c9367dc0958',
    repository: 'Codertocat/Hello-World',
    ref: 'refs/heads/master',
    commit: branchPush.after,
    outcome: 'patched',
    status: 200,
  });
  expect(summaries[0]!.patched).toHaveLength(5);
  expect(typeof summaries[0]!.duration_ms).toBe('number');
  // A refused delivery's line still says what it claimed to be, so an operator can find it by delivery id.
  expect(summaries[1]).toMatchObject({
    level: 'WARN',
    outcome: 'rejected',
    status: 401,
    event: 'push',
    delivery_id: '72d3162e-cc78-11e3-81ab-4c9367dc0958',
    reason: expect.stringContaining('bad_signature'),
  });
  expect(summaries[2]).toMatchObject({ level: 'WARN', outcome: 'rejected', status: 404 });
  const all = lines.join('\n');
  for (const secret of [
    webhookSecret,
    prodToken,
    stagingToken,
    signature.slice(7),
    'attacker-guess',
    body.slice(0, 40),
    prod.caPem.split('\n')[1]!,
  ]) {
    expect(all).not.toContain(secret);
  }
});

test('a static target that does not exist is reported with the API server 404, and the rest are still patched', async () => {
  prod.remove('kustomize.toolkit.fluxcd.io/v1', 'Kustomization', 'flux-system', 'apps');
  const result = await deliver(branchPush);
  expect(result.statusCode).toBe(502);
  const a = answer(result);
  expect(a.failed).toEqual([
    { target: 'prod/flux-system/Kustomization/apps', error: expect.stringContaining('HTTP 404 NotFound') },
  ]);
  expect(a.patched).toHaveLength(4);
});

test('a cluster token the API server does not accept is reported as a 401 of that cluster', async () => {
  await withStagingToken('revoked-token', async (relay) => {
    const result = await relay(signedPush());
    expect(result.statusCode).toBe(502);
    expect(answer(result).failed).toEqual([
      { target: 'staging/*/GitRepository/*', error: expect.stringContaining('HTTP 401') },
    ]);
  });
});

test('each delivery publishes CloudWatch metrics as EMF: by provider and outcome, never by delivery id or repository', async () => {
  const { lines } = await captureOutput(async () => {
    await deliver(branchPush);
    await deliver(branchPush, { secret: 'attacker-guess' });
  });
  const emf = lines
    .map(
      (l) =>
        JSON.parse(l) as Record<string, unknown> & {
          _aws?: {
            CloudWatchMetrics: Array<{
              Namespace: string;
              Dimensions: string[][];
              Metrics: Array<{ Name: string; Unit: string }>;
            }>;
          };
        },
    )
    .filter((l) => l._aws);
  const documents = emf.map((doc) => ({
    namespace: doc._aws!.CloudWatchMetrics[0]!.Namespace,
    dimensions: doc._aws!.CloudWatchMetrics[0]!.Dimensions.flat().sort(),
    metrics: Object.fromEntries(doc._aws!.CloudWatchMetrics[0]!.Metrics.map((m) => [m.Name, [m.Unit, doc[m.Name]]])),
    values: Object.fromEntries(doc._aws!.CloudWatchMetrics[0]!.Dimensions.flat().map((d) => [d, doc[d]])),
  }));
  expect(documents).toEqual([
    {
      namespace: 'FluxWebhookRelay',
      dimensions: ['outcome', 'provider', 'service'],
      metrics: { Deliveries: ['Count', 1] },
      values: { service: 'flux-webhook-relay', provider: 'github', outcome: 'patched' },
    },
    {
      namespace: 'FluxWebhookRelay',
      dimensions: ['provider', 'service'],
      metrics: {
        Patches: ['Count', 5],
        PatchFailures: ['Count', 0],
        DeliveryDuration: ['Milliseconds', expect.any(Number)],
      },
      values: { service: 'flux-webhook-relay', provider: 'github' },
    },
    {
      namespace: 'FluxWebhookRelay',
      dimensions: ['outcome', 'provider', 'service'],
      metrics: { Deliveries: ['Count', 1] },
      values: { service: 'flux-webhook-relay', provider: 'github', outcome: 'rejected' },
    },
    {
      namespace: 'FluxWebhookRelay',
      dimensions: ['provider', 'service'],
      metrics: {
        Patches: ['Count', 0],
        PatchFailures: ['Count', 0],
        DeliveryDuration: ['Milliseconds', expect.any(Number)],
        SignatureRejections: ['Count', 1],
      },
      values: { service: 'flux-webhook-relay', provider: 'github' },
    },
  ]);
  for (const doc of emf) {
    expect(Object.keys(doc)).not.toContain('delivery_id');
    expect(Object.keys(doc)).not.toContain('repository');
  }
});

test('each patched source gets a Kubernetes Event that says why it reconciled', async () => {
  const result = await deliver(branchPush);
  expect(result.statusCode).toBe(200);
  const events = prod
    .list('v1', 'Event', 'flux-system')
    .filter((e) => (e as { involvedObject?: { name?: string } }).involvedObject?.name === 'hello-https');
  expect(events).toHaveLength(1);
  const hello = prod.get('source.toolkit.fluxcd.io/v1', 'GitRepository', 'flux-system', 'hello-https')!;
  expect(events[0]).toMatchObject({
    reason: 'WebhookReceived',
    type: 'Normal',
    source: { component: 'flux-webhook-relay' },
    involvedObject: {
      apiVersion: 'source.toolkit.fluxcd.io/v1',
      kind: 'GitRepository',
      name: 'hello-https',
      namespace: 'flux-system',
      uid: hello.metadata.uid,
    },
    message: `Reconcile requested by flux-webhook-relay: github push of Codertocat/Hello-World refs/heads/master at ${branchPush.after} (delivery 72d3162e-cc78-11e3-81ab-4c9367dc0958)`,
  });
  // Every patched object got one (the static Kustomization included).
  const all = [...prod.list('v1', 'Event'), ...staging.list('v1', 'Event')] as unknown as Array<{
    involvedObject: { kind: string; name: string };
  }>;
  expect(all.map((e) => `${e.involvedObject.kind}/${e.involvedObject.name}`).sort()).toEqual([
    'GitRepository/hello-apps',
    'GitRepository/hello-https',
    'GitRepository/hello-ssh-no-ref',
    'GitRepository/hello-staging',
    'Kustomization/apps',
  ]);
});

test('a token that may not create Events still patches; the log line counts the missing Events', async () => {
  const noEvents = 'staging-no-events-token';
  staging.addServiceAccount(noEvents, relayUser, [relayRules[0]!]);
  await withStagingToken(noEvents, async (relay) => {
    const { result, lines } = await captureOutput(() => relay(signedPush()));
    expect(result.statusCode).toBe(200);
    expect(answer(result).patched).toHaveLength(5);
    expect(deliveryLines(lines)[0]).toMatchObject({ outcome: 'patched', events_failed: 1 });
  });
});
