/**
 * An Amazon ECR push end to end through functions/registry-events.ts: AWS's documented EventBridge event, two loopback
 * clusters (and a third the ecr section does not route to), Secrets Manager and SQS. The push reconciles exactly the
 * objects that use the pushed image on each cluster; what is not a successful push of an accepted account and
 * repository, or not an ECR event at all, touches no cluster and still returns normally with one log line; a cluster
 * that fails for a passing reason is queued for the retry function, which applies it.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { SQSClient } from '@aws-sdk/client-sqs';
import { KubeApiTestServer, type KubeObject } from '../support/kube-api-server';
import { SecretsManagerTestServer } from '../support/secrets-manager-server';
import { SqsTestServer } from '../support/sqs-server';
import {
  captureOutput,
  lambdaContext,
  loadRegistryEventsHandler,
  logLines,
  patchRequests,
  type RegistryEventsHandler,
  relayRules,
  relayUser,
  requestedAt,
  useSecretsManager,
} from '../support/relay-harness';
import { SqsEventSource } from '../retry/event-source';
import { createRetryQueues, loadRetryHandler, useSqs, type RetryQueues } from '../retry/support';

/** AWS's "Event for a completed image push" (tests/fixtures/ecr/SOURCE.md). */
const documented = JSON.parse(readFileSync(join(__dirname, '..', 'fixtures', 'ecr', 'push.json'), 'utf8')) as Record<
  string,
  unknown
> & { detail: Record<string, unknown> };
const registry = '123456789012.dkr.ecr.us-west-2.amazonaws.com';
const image = `${registry}/my-repository-name`;
const digest = documented.detail['image-digest'] as string;

/** The documented event with some fields of `detail` (or of the envelope) changed. */
const variant = (detail: Record<string, unknown>, envelope: Record<string, unknown> = {}) => ({
  ...structuredClone(documented),
  ...envelope,
  detail: { ...documented.detail, ...detail },
});

const source = (kind: string, apiVersion: string, namespace: string, name: string, spec: Record<string, unknown>) =>
  ({ apiVersion, kind, metadata: { name, namespace }, spec: { interval: '5m', ...spec } }) as KubeObject;
const oci = (namespace: string, name: string, url: string, ref?: Record<string, string>) =>
  source('OCIRepository', 'source.toolkit.fluxcd.io/v1', namespace, name, { url, ...(ref ? { ref } : {}) });
const helmRepo = (namespace: string, name: string, url: string) =>
  source('HelmRepository', 'source.toolkit.fluxcd.io/v1', namespace, name, { url, type: 'oci' });
const chart = (namespace: string, name: string, chartName: string, repo: string) =>
  source('HelmChart', 'source.toolkit.fluxcd.io/v1', namespace, name, {
    chart: chartName,
    sourceRef: { kind: 'HelmRepository', name: repo },
  });
const imageRepo = (namespace: string, name: string, ref: string, exclusionList?: string[]) =>
  source('ImageRepository', 'image.toolkit.fluxcd.io/v1', namespace, name, {
    image: ref,
    ...(exclusionList ? { exclusionList } : {}),
  });

const objectsA: KubeObject[] = [
  oci('apps', 'latest', `oci://${image}`),
  oci('apps', 'pinned-tag', `oci://${image}`, { tag: 'v1.0.0' }),
  oci('apps', 'pinned-digest', `oci://${image}`, { digest }),
  oci('apps', 'other-repository', `oci://${registry}/other`),
  oci('apps', 'other-region', `oci://123456789012.dkr.ecr.eu-west-1.amazonaws.com/my-repository-name`),
  imageRepo('apps', 'app', image),
  helmRepo('apps', 'ecr', `oci://${registry}`),
  chart('apps', 'my-chart', 'my-repository-name', 'ecr'),
  chart('apps', 'other-chart', 'other', 'ecr'),
  source('Kustomization', 'kustomize.toolkit.fluxcd.io/v1', 'apps', 'static', {
    prune: true,
    sourceRef: { kind: 'OCIRepository', name: 'latest' },
  }),
];
const objectsB: KubeObject[] = [
  oci('flux-system', 'app', `oci://${image}`, { tag: 'latest' }),
  oci('flux-system', 'app-semver', `oci://${image}`, { semver: '>=1.0.0' }),
  imageRepo('flux-system', 'excluded', image, ['^latest$']),
  helmRepo('flux-system', 'ecr', `oci://${registry}/`),
  chart('flux-system', 'my-chart', 'my-repository-name', 'ecr'),
];

const config = `
clusters:
  a: { kubeconfig: relay/a }
  b: { kubeconfig: relay/b }
  # Not one of the ecr section's clusters: never contacted (its kubeconfig is not even stored).
  c: { kubeconfig: relay/c }
receivers:
  github: { provider: github, secret: relay/github }
ecr:
  repositories: [my-repository-name, charts/*]
  clusters: [a, b]
  targets:
    - { cluster: a, kind: Kustomization, name: static, namespace: apps }
limits:
  clusterTimeoutMs: 2000
  deliveryBudgetMs: 5000
`;

let a: KubeApiTestServer;
let b: KubeApiTestServer;
let sm: SecretsManagerTestServer;
let sqs: SqsTestServer;
let queues: RetryQueues;
let handler: RegistryEventsHandler;

beforeAll(async () => {
  [a, b, sm, sqs] = await Promise.all([
    KubeApiTestServer.start(),
    KubeApiTestServer.start(),
    SecretsManagerTestServer.start(),
    SqsTestServer.start(),
  ]);
  a.addServiceAccount('sa-a', relayUser, relayRules);
  b.addServiceAccount('sa-b', relayUser, relayRules);
  sm.put('relay/a', a.kubeconfig('sa-a'));
  sm.put('relay/b', b.kubeconfig('sa-b'));
  sm.put('relay/github', 'github-webhook-secret-for-ecr-tests');
  useSecretsManager(sm);
  queues = createRetryQueues(sqs);
  useSqs(sqs, queues);
  handler = loadRegistryEventsHandler(config);
});

afterAll(async () => {
  await Promise.all([a.close(), b.close(), sm.close(), sqs.close()]);
});

beforeEach(() => {
  for (const [server, objects] of [
    [a, objectsA],
    [b, objectsB],
  ] as const) {
    for (const obj of objects) {
      server.remove(obj.apiVersion, obj.kind, obj.metadata.namespace!, obj.metadata.name);
      server.put(structuredClone(obj));
    }
    server.clearRequests();
    server.fault(undefined);
  }
});

/** Invokes the handler as EventBridge does (asynchronously: nobody reads a result); its output lines. */
async function invoke(event: unknown, context = lambdaContext()) {
  const { result, lines } = await captureOutput(() => handler(event, context));
  const [line, ...more] = logLines(lines, 'delivery');
  expect(more).toEqual([]);
  return { result, line: line!, lines };
}

const patched = () =>
  [...patchRequests(a).map((r) => `a${r.path}`), ...patchRequests(b).map((r) => `b${r.path}`)]
    .map((p) => p.replace(/\/apis\/[^/]+\/v\d+\/namespaces\//, ' '))
    .sort();

test("AWS's documented push: exactly the objects that use the image on both clusters, the static target, one log line", async () => {
  const { result, line } = await invoke(documented);
  expect(result).toBeUndefined();
  expect(patched()).toEqual([
    'a apps/helmcharts/my-chart',
    'a apps/imagerepositories/app',
    'a apps/kustomizations/static',
    'a apps/ocirepositories/latest',
    'b flux-system/helmcharts/my-chart',
    'b flux-system/ocirepositories/app',
  ]);
  expect(line).toMatchObject({
    level: 'INFO',
    service: 'flux-webhook-relay-registry-events',
    receiver: 'ecr',
    provider: 'ecr',
    event: 'PUSH',
    delivery_id: '13cde686-328b-6117-af20-0e5566167482',
    repository: image,
    tag: 'latest',
    digest,
    outcome: 'patched',
    status: 200,
    failed: [],
  });
  expect(line.patched).toEqual([
    'a/apps/HelmChart/my-chart',
    'a/apps/ImageRepository/app',
    'a/apps/Kustomization/static',
    'a/apps/OCIRepository/latest',
    'b/flux-system/HelmChart/my-chart',
    'b/flux-system/OCIRepository/app',
  ]);
  expect(line.duration_ms).toEqual(expect.any(Number));
  // One requestedAt for the whole push, on every object, and the Event says which push asked.
  const value = requestedAt(a, 'apps', 'latest', 'OCIRepository');
  expect(value).toBe(line.requestedAt);
  expect(requestedAt(b, 'flux-system', 'app', 'OCIRepository')).toBe(value);
  expect(requestedAt(a, 'apps', 'pinned-tag', 'OCIRepository')).toBeUndefined();
  const events = a.requests.filter((r) => r.method === 'POST' && r.path.endsWith('/events'));
  expect(events.length).toBeGreaterThan(0);
  expect(JSON.stringify(events[0]!.body)).toContain(`ecr PUSH of ${image} latest`);
});

test('the metrics are the relay delivery metrics under the function\'s own service, provider "ecr"', async () => {
  const { lines } = await invoke(documented);
  const emf = lines.map((l) => JSON.parse(l) as Record<string, unknown>).filter((l) => l._aws !== undefined);
  expect(emf).toContainEqual(
    expect.objectContaining({
      service: 'flux-webhook-relay-registry-events',
      provider: 'ecr',
      outcome: 'patched',
      Deliveries: 1,
    }),
  );
});

test.each([
  ['a deletion (action-type DELETE)', variant({ 'action-type': 'DELETE' }), 'action DELETE is not a push'],
  ['a failed push (result FAILURE)', variant({ result: 'FAILURE' }), 'the push did not succeed (result FAILURE)'],
  [
    'a repository the ecr section does not list',
    variant({ 'repository-name': 'team/other' }),
    'repository team/other is not in ecr.repositories',
  ],
  [
    "another account (the default: only the function's own)",
    variant({}, { account: '210987654321' }),
    "account 210987654321 is not the relay's own account (123456789012); list it in ecr.accounts",
  ],
])('%s is acknowledged and touches no cluster', async (_what, event, reason) => {
  const { result, line } = await invoke(event);
  expect(result).toBeUndefined();
  expect(line).toMatchObject({ level: 'INFO', outcome: 'ignored', reason, status: 200, patched: [] });
  expect([...a.requests, ...b.requests]).toEqual([]);
});

test('a prefix in ecr.repositories accepts the repositories under it', async () => {
  a.put(oci('apps', 'chart', `oci://${registry}/charts/podinfo`));
  const { line } = await invoke(variant({ 'repository-name': 'charts/podinfo' }));
  expect(line.patched).toEqual(['a/apps/Kustomization/static', 'a/apps/OCIRepository/chart']);
  a.remove('source.toolkit.fluxcd.io/v1', 'OCIRepository', 'apps', 'chart');
});

test('a push by digest only (no image-tag): no tag-following object, but the ImageRepository and the HelmChart', async () => {
  const { line } = await invoke(variant({ 'image-tag': undefined }));
  expect(line).not.toHaveProperty('tag');
  expect(line.patched).toEqual([
    'a/apps/HelmChart/my-chart',
    'a/apps/ImageRepository/app',
    'a/apps/Kustomization/static',
    'b/flux-system/HelmChart/my-chart',
    'b/flux-system/ImageRepository/excluded',
  ]);
});

test.each<[string, unknown, string]>([
  ['null', null, 'malformed_payload: not an EventBridge event'],
  ['a string', 'PUSH', 'malformed_payload: not an EventBridge event'],
  ['no detail', { ...documented, detail: undefined }, 'detail:'],
  ['another source', variant({}, { source: 'aws.s3' }), 'not an ECR Image Action event (source "aws.s3"'],
  [
    'another detail-type',
    variant({}, { 'detail-type': 'ECR Image Scan' }),
    'not an ECR Image Action event (source "aws.ecr", detail-type "ECR Image Scan")',
  ],
  ['an account that is not one', variant({}, { account: 'acct' }), 'account: must be a 12-digit AWS account id'],
  ['a region that is not one', variant({}, { region: 'us west' }), 'region: must be an AWS region'],
  ['no action-type', variant({ 'action-type': undefined }), 'detail.action-type and detail.result must be strings'],
  ['no repository-name', variant({ 'repository-name': undefined }), 'detail.repository-name:'],
  [
    'an upper-case repository-name',
    variant({ 'repository-name': 'My-Repo' }),
    'detail.repository-name: must be an ECR repository name',
  ],
  ['a tag that is no OCI tag', variant({ 'image-tag': '../etc' }), 'detail.image-tag'],
  ['a digest that is no digest', variant({ 'image-digest': 'md5:x' }), 'detail.image-digest: must be an OCI digest'],
])('a malformed event (%s): a warning line, no cluster request, no exception', async (_what, event, reason) => {
  const { result, line } = await invoke(event);
  expect(result).toBeUndefined();
  expect(line).toMatchObject({ level: 'WARN', receiver: 'ecr', outcome: 'rejected', status: 400 });
  expect(line.reason).toContain(reason);
  expect([...a.requests, ...b.requests]).toEqual([]);
});

test("without the function's ARN (so no own account) and no ecr.accounts, nothing is accepted", async () => {
  const { line } = await invoke(documented, { ...lambdaContext(), invokedFunctionArn: '' });
  expect(line).toMatchObject({
    outcome: 'ignored',
    reason: "account 123456789012 is not the relay's own account; list it in ecr.accounts",
  });
  expect([...a.requests, ...b.requests]).toEqual([]);
});

test('a cluster that fails for a passing reason is queued for the retry function, which applies it with the same routing', async () => {
  b.fault({ match: (r) => r.method === 'PATCH' && r.path.endsWith('/ocirepositories/app'), status: 503, times: 1 });
  const { line } = await invoke(documented);
  expect(line).toMatchObject({ level: 'INFO', outcome: 'queued', status: 202, failed: [] });
  expect(line.queued).toEqual(['b/flux-system/OCIRepository/app']);
  expect(requestedAt(b, 'flux-system', 'app', 'OCIRepository')).toBeUndefined();
  const [message] = sqs.messages(queues.queue.name);
  expect(JSON.parse(message!.body)).toMatchObject({
    receiver: 'ecr',
    source: 'ecr',
    cluster: 'b',
    requestedAt: line.requestedAt,
    artifacts: [{ key: image, tag: 'latest', digest }],
    only: ['b/flux-system/OCIRepository/app'],
    deliveryId: '13cde686-328b-6117-af20-0e5566167482',
  });

  const client = new SQSClient({ maxAttempts: 1 });
  try {
    const retries = new SqsEventSource({
      server: sqs,
      client,
      queueName: queues.queue.name,
      queueUrl: queues.queue.url,
      queueArn: queues.queue.arn,
      handler: loadRetryHandler(config),
    });
    const { lines } = await captureOutput(() => retries.drain());
    expect(logLines(lines, 'retry').map((r) => [r.receiver, r.cluster, r.outcome, r.patched])).toEqual([
      ['ecr', 'b', 'applied', ['b/flux-system/OCIRepository/app']],
    ]);
  } finally {
    client.destroy();
  }
  expect(requestedAt(b, 'flux-system', 'app', 'OCIRepository')).toBe(line.requestedAt);
  expect(sqs.messages(queues.dlq.name)).toEqual([]);
});
