import { readFileSync } from 'node:fs';
import { evaluate } from '@marcbachmann/cel-js';
import { parseAllDocuments } from 'yaml';
import { fluxKinds, requestedAtAnnotation } from '../../../lib/kube/kinds';
import { HttpsCluster } from '../../../lib/kube/https-cluster';
import { KubeApiTestServer, type KubeObject } from '../../support/kube-api-server';
import { gitRepository, relayRules, relayUser } from '../../support/relay-harness';

// The shipped ValidatingAdmissionPolicies (infra/kubernetes/relay-admission-policy.yaml), their CEL expressions read
// from the file and evaluated as the API server does (https://kubernetes.io/docs/reference/access-authn-authz/
// validating-admission-policy/): the policy applies when every matchCondition is true; `variables` are evaluated in
// order and visible as `variables.<name>`; the request is denied by the first validation that is false, and, with
// failurePolicy Fail, by one that cannot be evaluated. With @marcbachmann/cel-js (standard CEL and its macros); the
// Kubernetes CEL extension libraries and cost limits are not part of it, so the policy uses none of the former.

interface Named {
  name: string;
  expression: string;
}
interface Policy {
  kind: string;
  metadata: { name: string };
  spec: {
    failurePolicy?: string;
    policyName?: string;
    validationActions?: string[];
    matchConstraints?: {
      resourceRules: Array<{ apiGroups: string[]; apiVersions: string[]; operations: string[]; resources: string[] }>;
    };
    matchConditions?: Named[];
    variables?: Named[];
    validations?: Array<{ expression: string; message: string }>;
  };
}

const documents = parseAllDocuments(readFileSync('infra/kubernetes/relay-admission-policy.yaml', 'utf8')).map((d) => {
  expect(d.errors).toEqual([]);
  return d.toJS() as Policy;
});
const policy = (name: string) =>
  documents.find((d) => d.kind === 'ValidatingAdmissionPolicy' && d.metadata.name === name)!;
const reconcileOnly = policy('flux-webhook-relay-reconcile-only');
const eventsOnly = policy('flux-webhook-relay-events');

type Verdict = 'not matched' | 'allowed' | `denied: ${string}`;

interface AdmissionRequest {
  operation: 'CREATE' | 'UPDATE';
  resource: { group: string; version: string; resource: string };
  userInfo: { username: string; groups?: string[] };
}

/** The API server's evaluation of one policy for one request. */
function admit(p: Policy, request: AdmissionRequest, object: unknown, oldObject: unknown): Verdict {
  // As JSON, like the API server's unstructured objects (and in this realm: cel-js refuses other realms' objects, such
  // as structuredClone's under Jest).
  const json = (value: unknown) => JSON.parse(JSON.stringify(value ?? null)) as unknown;
  const context: Record<string, unknown> = { request: json(request), object: json(object), oldObject: json(oldObject) };
  for (const condition of p.spec.matchConditions ?? []) {
    if (evaluate(condition.expression, context) !== true) return 'not matched';
  }
  const variables: Record<string, unknown> = {};
  context.variables = variables;
  for (const variable of p.spec.variables ?? []) variables[variable.name] = evaluate(variable.expression, context);
  for (const validation of p.spec.validations ?? []) {
    let result: unknown;
    try {
      result = evaluate(validation.expression, context);
    } catch (error) {
      // failurePolicy: Fail.
      return `denied: ${(error as Error).message}`;
    }
    if (result !== true) return `denied: ${validation.message}`;
  }
  return 'allowed';
}

const relay = {
  username: relayUser,
  groups: ['system:serviceaccounts', 'system:serviceaccounts:flux-system', 'system:authenticated'],
};
const eksRelay = {
  username: 'arn:aws:sts::123456789012:assumed-role/flux-webhook-relay-prod-relay/1700000000000',
  groups: ['flux-webhook-relay', 'system:authenticated'],
};
const fluxController = {
  username: 'system:serviceaccount:flux-system:kustomize-controller',
  groups: ['system:serviceaccounts', 'system:authenticated'],
};
const admin = { username: 'kubernetes-admin', groups: ['system:masters', 'system:authenticated'] };

const before: KubeObject = {
  apiVersion: 'source.toolkit.fluxcd.io/v1',
  kind: 'GitRepository',
  metadata: {
    name: 'hello',
    namespace: 'flux-system',
    labels: { 'kustomize.toolkit.fluxcd.io/name': 'flux-system' },
    annotations: { 'team.example/owner': 'apps', [requestedAtAnnotation]: '2026-12-01T10:00:00Z' },
    finalizers: ['finalizers.fluxcd.io'],
    ownerReferences: [],
  },
  spec: { url: 'https://github.com/Codertocat/Hello-World', interval: '5m', ref: { branch: 'master' } },
};

/** `before` changed by `change` (on a copy). */
function after(change: (o: KubeObject) => void): KubeObject {
  const copy = structuredClone(before);
  change(copy);
  return copy;
}

const update = (userInfo: AdmissionRequest['userInfo']): AdmissionRequest => ({
  operation: 'UPDATE',
  resource: { group: 'source.toolkit.fluxcd.io', version: 'v1', resource: 'gitrepositories' },
  userInfo,
});

describe('flux-webhook-relay-reconcile-only', () => {
  test.each<[string, AdmissionRequest['userInfo'], (o: KubeObject) => void, Verdict]>([
    [
      'a new requestedAt',
      relay,
      (o) => (o.metadata.annotations![requestedAtAnnotation] = '2026-12-03T08:00:00.123456789Z'),
      'allowed',
    ],
    [
      'a new requestedAt (EKS group)',
      eksRelay,
      (o) => (o.metadata.annotations![requestedAtAnnotation] = '2026-12-03T08:00:00Z'),
      'allowed',
    ],
    ['requestedAt removed', relay, (o) => delete o.metadata.annotations![requestedAtAnnotation], 'allowed'],
    ['nothing at all', relay, () => undefined, 'allowed'],
    [
      'spec.url',
      relay,
      (o) => ((o.spec as { url: string }).url = 'https://github.com/attacker/repo'),
      'denied: the relay may not change spec',
    ],
    [
      'a new spec field',
      relay,
      (o) => ((o.spec as Record<string, unknown>).suspend = true),
      'denied: the relay may not change spec',
    ],
    ['spec removed', relay, (o) => delete o.spec, 'denied: the relay may not change spec'],
    ['a label', relay, (o) => (o.metadata.labels!.extra = 'x'), 'denied: the relay may not change labels'],
    ['labels removed', relay, (o) => delete o.metadata.labels, 'denied: the relay may not change labels'],
    [
      'another annotation changed',
      relay,
      (o) => (o.metadata.annotations!['team.example/owner'] = 'attacker'),
      'denied: the relay may change no annotation but reconcile.fluxcd.io/requestedAt',
    ],
    [
      'another annotation added',
      relay,
      (o) => (o.metadata.annotations!['kustomize.toolkit.fluxcd.io/reconcile'] = 'disabled'),
      'denied: the relay may change no annotation but reconcile.fluxcd.io/requestedAt',
    ],
    [
      'another annotation removed',
      relay,
      (o) => delete o.metadata.annotations!['team.example/owner'],
      'denied: the relay may change no annotation but reconcile.fluxcd.io/requestedAt',
    ],
    [
      'requestedAt that is not a time',
      relay,
      (o) => (o.metadata.annotations![requestedAtAnnotation] = 'now; $(id)'),
      'denied: reconcile.fluxcd.io/requestedAt must be an RFC 3339 time in UTC',
    ],
    [
      'a finalizer added',
      relay,
      (o) => (o.metadata.finalizers as string[]).push('example.com/block'),
      'denied: the relay may not change finalizers',
    ],
    ['finalizers removed', relay, (o) => delete o.metadata.finalizers, 'denied: the relay may not change finalizers'],
    [
      'an owner reference',
      relay,
      (o) => (o.metadata.ownerReferences = [{ apiVersion: 'v1', kind: 'ConfigMap', name: 'x', uid: 'u' }]),
      'denied: the relay may not change owner references',
    ],
    [
      'spec.url by the EKS group',
      eksRelay,
      (o) => ((o.spec as { url: string }).url = 'https://github.com/attacker/repo'),
      'denied: the relay may not change spec',
    ],
    [
      'spec.url by a Flux controller',
      fluxController,
      (o) => ((o.spec as { url: string }).url = 'https://github.com/other/repo'),
      'not matched',
    ],
    ['labels by an admin', admin, (o) => (o.metadata.labels!.extra = 'x'), 'not matched'],
    [
      'spec by a look-alike user outside the group',
      { username: 'flux-webhook-relay' },
      (o) => ((o.spec as { url: string }).url = 'x'),
      'not matched',
    ],
  ])('%s', (_what, userInfo, change, verdict) => {
    expect(admit(reconcileOnly, update(userInfo), after(change), before)).toBe(verdict);
  });

  test('the first requestedAt on an object without annotations is allowed, and nothing else with it', () => {
    const bare = after((o) => delete o.metadata.annotations);
    const withFirst = structuredClone(bare);
    withFirst.metadata.annotations = { [requestedAtAnnotation]: '2026-12-03T08:00:00Z' };
    expect(admit(reconcileOnly, update(relay), withFirst, bare)).toBe('allowed');
    withFirst.metadata.annotations['team.example/owner'] = 'attacker';
    expect(admit(reconcileOnly, update(relay), withFirst, bare)).toBe(
      'denied: the relay may change no annotation but reconcile.fluxcd.io/requestedAt',
    );
  });

  test('it covers UPDATE of every Flux kind the relay patches, and nothing else', () => {
    const covered = reconcileOnly.spec.matchConstraints!.resourceRules.flatMap((r) => {
      expect(r.operations).toEqual(['UPDATE']);
      return r.apiGroups.flatMap((g) => r.resources.map((res) => `${g}/${res}`));
    });
    expect(covered.sort()).toEqual(
      Object.values(fluxKinds)
        .map((k) => `${k.apiVersion.split('/')[0]}/${k.plural}`)
        .sort(),
    );
  });

  test('bindings deny, failures deny', () => {
    for (const p of [reconcileOnly, eventsOnly]) {
      expect(p.spec.failurePolicy).toBe('Fail');
      const binding = documents.find(
        (d) => d.kind === 'ValidatingAdmissionPolicyBinding' && d.spec.policyName === p.metadata.name,
      );
      expect(binding?.spec.validationActions).toEqual(['Deny']);
    }
  });
});

describe('flux-webhook-relay-events', () => {
  const event = {
    apiVersion: 'v1',
    kind: 'Event',
    metadata: { generateName: 'hello.', namespace: 'flux-system' },
    involvedObject: {
      apiVersion: 'source.toolkit.fluxcd.io/v1',
      kind: 'GitRepository',
      name: 'hello',
      namespace: 'flux-system',
    },
    reason: 'WebhookReceived',
    message: 'Reconcile requested by flux-webhook-relay',
    type: 'Normal',
    source: { component: 'flux-webhook-relay' },
  };
  const create = (userInfo: AdmissionRequest['userInfo'], group = ''): AdmissionRequest => ({
    operation: 'CREATE',
    resource: { group, version: 'v1', resource: 'events' },
    userInfo,
  });
  const changed = (change: (e: typeof event) => void) => {
    const copy = structuredClone(event);
    change(copy);
    return copy;
  };

  test.each<[string, AdmissionRequest, unknown, Verdict]>([
    ["the relay's Event", create(relay), event, 'allowed'],
    ["the relay's Event (EKS group)", create(eksRelay), event, 'allowed'],
    [
      'another reason',
      create(relay),
      changed((e) => (e.reason = 'Killing')),
      'denied: the relay records Normal WebhookReceived Events from flux-webhook-relay only',
    ],
    [
      'a Warning',
      create(relay),
      changed((e) => (e.type = 'Warning')),
      'denied: the relay records Normal WebhookReceived Events from flux-webhook-relay only',
    ],
    [
      'another source',
      create(relay),
      changed((e) => (e.source.component = 'kubelet')),
      'denied: the relay records Normal WebhookReceived Events from flux-webhook-relay only',
    ],
    [
      'about a Deployment',
      create(relay),
      changed((e) => Object.assign(e.involvedObject, { apiVersion: 'apps/v1', kind: 'Deployment' })),
      'denied: the relay records Events about Flux objects only',
    ],
    [
      'a look-alike group',
      create(relay),
      changed((e) => (e.involvedObject.apiVersion = 'source.toolkit.fluxcd.io.attacker.example/v1')),
      'denied: the relay records Events about Flux objects only',
    ],
    [
      'in another namespace',
      create(relay),
      changed((e) => (e.involvedObject.namespace = 'kube-system')),
      "denied: the Event must be in its object's namespace",
    ],
    ['through events.k8s.io', create(relay, 'events.k8s.io'), event, 'denied: the relay only creates core v1 Events'],
    ['an update', { ...create(relay), operation: 'UPDATE' }, event, 'denied: the relay only creates core v1 Events'],
    [
      'a kubelet Event',
      create({ username: 'system:node:ip-10-0-0-1', groups: ['system:nodes'] }),
      changed((e) => (e.reason = 'Killing')),
      'not matched',
    ],
  ])('%s', (_what, request, object, verdict) => {
    expect(admit(eventsOnly, request, object, request.operation === 'UPDATE' ? object : null)).toBe(verdict);
  });
});

describe("the relay's own requests pass", () => {
  let server: KubeApiTestServer;
  beforeAll(async () => {
    server = await KubeApiTestServer.start();
    server.addServiceAccount('sa', relayUser, relayRules);
  });
  afterAll(() => server.close());

  test('its merge patch and its Event, as the loopback API server received them', async () => {
    server.put(
      gitRepository(
        'flux-system',
        'hello',
        'https://github.com/Codertocat/Hello-World',
        { branch: 'master' },
        { 'team.example/owner': 'apps' },
      ),
    );
    const old = server.get('source.toolkit.fluxcd.io/v1', 'GitRepository', 'flux-system', 'hello')!;
    const client = new HttpsCluster({ name: 'prod', kubeconfigYaml: server.kubeconfig('sa'), index: false });
    try {
      const signal = new AbortController().signal;
      const target = {
        cluster: 'prod',
        apiVersion: 'source.toolkit.fluxcd.io/v1',
        kind: 'GitRepository' as const,
        namespace: 'flux-system',
        name: 'hello',
      };
      const { uid } = await client.requestReconcile(target, '2026-12-03T08:00:00.5Z', signal);
      await client.recordEvent(
        { ...target, ...(uid ? { uid } : {}) },
        { reason: 'WebhookReceived', message: 'Reconcile requested by flux-webhook-relay: github push' },
        signal,
      );
    } finally {
      client.destroy();
    }
    const next = server.get('source.toolkit.fluxcd.io/v1', 'GitRepository', 'flux-system', 'hello')!;
    expect(next.metadata.annotations?.[requestedAtAnnotation]).toBe('2026-12-03T08:00:00.5Z');
    expect(admit(reconcileOnly, update(relay), next, old)).toBe('allowed');
    const posted = server.requests.find((r) => r.method === 'POST' && r.path.endsWith('/events'))!;
    expect(
      admit(
        eventsOnly,
        { operation: 'CREATE', resource: { group: '', version: 'v1', resource: 'events' }, userInfo: relay },
        posted.body,
        null,
      ),
    ).toBe('allowed');
  });
});
