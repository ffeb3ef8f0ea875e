import https from 'node:https';
import {
  ApiException,
  CoreV1Api,
  CustomObjectsApi,
  KubeConfig,
  PatchStrategy,
  setHeaderOptions,
} from '@kubernetes/client-node';
import { generate } from 'selfsigned';
import { KubeApiTestServer, type KubeObject, type KubeStatus } from './kube-api-server';

const RELAY_USER = 'system:serviceaccount:flux-system:flux-webhook-relay';
const RELAY_TOKEN = 'relay-token';
const READONLY_TOKEN = 'readonly-token';
const READONLY_USER = 'system:serviceaccount:flux-system:reader';
const TEAM_TOKEN = 'team-token';
const TEAM_USER = 'system:serviceaccount:team-a:relay';
const ADMIN_TOKEN = 'admin-token';

const SOURCE = { group: 'source.toolkit.fluxcd.io', version: 'v1', plural: 'gitrepositories' } as const;
const REQUESTED_AT = 'reconcile.fluxcd.io/requestedAt';

interface KubeList {
  apiVersion: string;
  kind: string;
  metadata: { resourceVersion: string; continue?: string; remainingItemCount?: number };
  items: KubeObject[];
}

function gitRepository(
  namespace: string,
  name: string,
  labels: Record<string, string> = {},
  annotations?: Record<string, string>,
): KubeObject {
  return {
    apiVersion: 'source.toolkit.fluxcd.io/v1',
    kind: 'GitRepository',
    metadata: { name, namespace, labels, ...(annotations ? { annotations } : {}) },
    spec: { url: `https://github.com/example/${name}`, interval: '5m', ref: { branch: 'main' } },
    status: { observedGeneration: 1 },
  };
}

function client(server: KubeApiTestServer, token: string | undefined): CustomObjectsApi {
  const kc = new KubeConfig();
  kc.loadFromString(server.kubeconfig(token));
  return kc.makeApiClient(CustomObjectsApi);
}

/** Awaits a call that must fail with an ApiException; client-node puts the raw response text in `.body` (undefined for 401). */
async function apiError(call: Promise<unknown>): Promise<{ code: number; status: KubeStatus | undefined }> {
  try {
    await call;
  } catch (err) {
    if (!(err instanceof ApiException)) throw err;
    const body: unknown = err.body;
    return {
      code: err.code,
      status: typeof body === 'string' && body !== '' ? (JSON.parse(body) as KubeStatus) : undefined,
    };
  }
  throw new Error('expected the call to fail');
}

let server: KubeApiTestServer;
let relay: CustomObjectsApi;

beforeAll(async () => {
  server = await KubeApiTestServer.start();
  server.addServiceAccount(RELAY_TOKEN, RELAY_USER, [
    {
      apiGroups: ['source.toolkit.fluxcd.io'],
      resources: ['gitrepositories', 'helmrepositories'],
      verbs: ['get', 'list', 'patch'],
    },
    { apiGroups: [''], resources: ['events'], verbs: ['create', 'list'] },
  ]);
  server.addServiceAccount(READONLY_TOKEN, READONLY_USER, [
    { apiGroups: ['source.toolkit.fluxcd.io'], resources: ['*'], verbs: ['get', 'list'] },
  ]);
  server.addServiceAccount(TEAM_TOKEN, TEAM_USER, [
    { apiGroups: ['*'], resources: ['*'], verbs: ['*'], namespaces: ['team-a'] },
  ]);
  server.addServiceAccount(ADMIN_TOKEN, 'kubernetes-admin', [{ apiGroups: ['*'], resources: ['*'], verbs: ['*'] }]);
  server.put(gitRepository('flux-system', 'infra', { tier: 'platform', env: 'prod' }, { 'example.com/keep': 'yes' }));
  server.put(gitRepository('team-a', 'app-a', { tier: 'app', env: 'prod' }));
  server.put(gitRepository('team-b', 'app-b', { tier: 'app', env: 'staging' }));
  server.put(gitRepository('team-b', 'tools', { env: 'dev' }));
  relay = client(server, RELAY_TOKEN);
});

afterAll(() => server.close());

afterEach(() => server.fault(undefined));

describe('real client over verified HTTPS', () => {
  it('lists cluster-wide and per namespace, gets one object', async () => {
    const all = (await relay.listClusterCustomObject({ ...SOURCE })) as KubeList;
    expect(all.apiVersion).toBe('source.toolkit.fluxcd.io/v1');
    expect(all.kind).toBe('GitRepositoryList');
    expect(all.items.map((o) => `${o.metadata.namespace}/${o.metadata.name}`)).toEqual([
      'flux-system/infra',
      'team-a/app-a',
      'team-b/app-b',
      'team-b/tools',
    ]);
    expect(Number(all.metadata.resourceVersion)).toBeGreaterThan(0);
    expect(all.metadata.continue).toBeUndefined();

    const teamB = (await relay.listNamespacedCustomObject({ ...SOURCE, namespace: 'team-b' })) as KubeList;
    expect(teamB.items.map((o) => o.metadata.name)).toEqual(['app-b', 'tools']);

    const one = (await relay.getNamespacedCustomObject({
      ...SOURCE,
      namespace: 'team-a',
      name: 'app-a',
    })) as KubeObject;
    expect(one.metadata).toMatchObject({ name: 'app-a', namespace: 'team-a', generation: 1 });
    expect(one.metadata.uid).toMatch(/^[0-9a-f-]{36}$/);
    expect(server.requests.at(-1)).toMatchObject({
      method: 'GET',
      path: '/apis/source.toolkit.fluxcd.io/v1/namespaces/team-a/gitrepositories/app-a',
      authorized: true,
      user: RELAY_USER,
      status: 200,
    });
  });

  it('merge patch adds the annotation, keeps other annotations and spec, bumps resourceVersion, keeps generation', async () => {
    const before = server.get('source.toolkit.fluxcd.io/v1', 'GitRepository', 'flux-system', 'infra') as KubeObject;
    const patched = (await relay.patchNamespacedCustomObject(
      {
        ...SOURCE,
        namespace: 'flux-system',
        name: 'infra',
        body: { metadata: { annotations: { [REQUESTED_AT]: '2025-01-01T00:00:00Z' } } },
      },
      setHeaderOptions('Content-Type', PatchStrategy.MergePatch),
    )) as KubeObject;
    expect(patched.metadata.annotations).toEqual({ 'example.com/keep': 'yes', [REQUESTED_AT]: '2025-01-01T00:00:00Z' });
    expect(patched.spec).toEqual(before.spec);
    expect(Number(patched.metadata.resourceVersion)).toBeGreaterThan(Number(before.metadata.resourceVersion));
    expect(patched.metadata.generation).toBe(before.metadata.generation);
    expect(server.get('source.toolkit.fluxcd.io/v1', 'GitRepository', 'flux-system', 'infra')).toEqual(patched);
    expect(server.requests.at(-1)).toMatchObject({
      method: 'PATCH',
      contentType: 'application/merge-patch+json',
      status: 200,
    });

    // Patching the same value again is a no-op: like the real server, nothing is written.
    const again = (await relay.patchNamespacedCustomObject(
      {
        ...SOURCE,
        namespace: 'flux-system',
        name: 'infra',
        body: { metadata: { annotations: { [REQUESTED_AT]: '2025-01-01T00:00:00Z' } } },
      },
      setHeaderOptions('Content-Type', PatchStrategy.MergePatch),
    )) as KubeObject;
    expect(again.metadata.resourceVersion).toBe(patched.metadata.resourceVersion);

    // null deletes (RFC 7386); a spec change bumps generation; status cannot be changed through the main resource.
    const specChange = (await relay.patchNamespacedCustomObject(
      {
        ...SOURCE,
        namespace: 'flux-system',
        name: 'infra',
        body: {
          metadata: { annotations: { 'example.com/keep': null } },
          spec: { interval: '10m' },
          status: { observedGeneration: 99 },
        },
      },
      setHeaderOptions('Content-Type', PatchStrategy.MergePatch),
    )) as KubeObject;
    expect(specChange.metadata.annotations).toEqual({ [REQUESTED_AT]: '2025-01-01T00:00:00Z' });
    expect(specChange.metadata.generation).toBe((before.metadata.generation ?? 0) + 1);
    expect(specChange.status).toEqual({ observedGeneration: 1 });
  });

  it('sends json-patch by default and applies it; a failed test op is a 422 Status', async () => {
    const patched = (await relay.patchNamespacedCustomObject({
      ...SOURCE,
      namespace: 'team-b',
      name: 'tools',
      body: [
        { op: 'test', path: '/metadata/name', value: 'tools' },
        { op: 'add', path: '/metadata/annotations', value: {} },
        { op: 'add', path: '/metadata/annotations/reconcile.fluxcd.io~1requestedAt', value: 'now' },
      ],
    })) as KubeObject;
    expect(patched.metadata.annotations).toEqual({ [REQUESTED_AT]: 'now' });
    expect(server.requests.at(-1)?.contentType).toBe('application/json-patch+json');

    const failed = await apiError(
      relay.patchNamespacedCustomObject({
        ...SOURCE,
        namespace: 'team-b',
        name: 'tools',
        body: [{ op: 'test', path: '/spec/interval', value: '1h' }],
      }),
    );
    expect(failed.code).toBe(422);
    expect(failed.status).toMatchObject({ kind: 'Status', status: 'Failure', reason: 'Invalid', code: 422 });

    const badPath = await apiError(
      relay.patchNamespacedCustomObject({
        ...SOURCE,
        namespace: 'team-b',
        name: 'tools',
        body: [{ op: 'replace', path: '/spec/nope/deeper', value: 1 }],
      }),
    );
    expect(badPath.code).toBe(422);
  });

  it('answers 401 without a token or with an unknown one', async () => {
    const anonymous = await apiError(client(server, undefined).listClusterCustomObject({ ...SOURCE }));
    expect(anonymous).toEqual({ code: 401, status: undefined }); // client-node drops the 401 body
    expect(server.requests.at(-1)).toMatchObject({ authorized: false, status: 401 });
    expect(server.requests.at(-1)?.user).toBeUndefined();

    const unknown = await apiError(
      client(server, 'who-knows').getNamespacedCustomObject({ ...SOURCE, namespace: 'team-a', name: 'app-a' }),
    );
    expect(unknown.code).toBe(401);
  });

  it('answers 403 with the real Status when RBAC lacks the verb, namespace or cluster scope', async () => {
    const reader = client(server, READONLY_TOKEN);
    await expect(reader.listNamespacedCustomObject({ ...SOURCE, namespace: 'team-a' })).resolves.toBeDefined();
    const denied = await apiError(
      reader.patchNamespacedCustomObject(
        { ...SOURCE, namespace: 'team-a', name: 'app-a', body: { metadata: { annotations: { [REQUESTED_AT]: 'x' } } } },
        setHeaderOptions('Content-Type', PatchStrategy.MergePatch),
      ),
    );
    expect(denied).toEqual({
      code: 403,
      status: {
        kind: 'Status',
        apiVersion: 'v1',
        metadata: {},
        status: 'Failure',
        message: `gitrepositories.source.toolkit.fluxcd.io "app-a" is forbidden: User "${READONLY_USER}" cannot patch resource "gitrepositories" in API group "source.toolkit.fluxcd.io" in the namespace "team-a"`,
        reason: 'Forbidden',
        details: { name: 'app-a', group: 'source.toolkit.fluxcd.io', kind: 'gitrepositories' },
        code: 403,
      },
    });
    expect(
      server.get('source.toolkit.fluxcd.io/v1', 'GitRepository', 'team-a', 'app-a')?.metadata.annotations,
    ).toBeUndefined();

    const team = client(server, TEAM_TOKEN);
    await expect(team.listNamespacedCustomObject({ ...SOURCE, namespace: 'team-a' })).resolves.toBeDefined();
    const clusterScope = await apiError(team.listClusterCustomObject({ ...SOURCE }));
    expect(clusterScope.code).toBe(403);
    expect(clusterScope.status?.message).toBe(
      `gitrepositories.source.toolkit.fluxcd.io is forbidden: User "${TEAM_USER}" cannot list resource "gitrepositories" in API group "source.toolkit.fluxcd.io" at the cluster scope`,
    );
    expect(clusterScope.status?.details).toEqual({ group: 'source.toolkit.fluxcd.io', kind: 'gitrepositories' });
    const otherNs = await apiError(team.getNamespacedCustomObject({ ...SOURCE, namespace: 'team-b', name: 'app-b' }));
    expect(otherNs.code).toBe(403);
  });

  it('answers 404 Status for a missing object and for an unknown resource', async () => {
    const missing = await apiError(relay.getNamespacedCustomObject({ ...SOURCE, namespace: 'team-a', name: 'x' }));
    expect(missing).toEqual({
      code: 404,
      status: {
        kind: 'Status',
        apiVersion: 'v1',
        metadata: {},
        status: 'Failure',
        message: 'gitrepositories.source.toolkit.fluxcd.io "x" not found',
        reason: 'NotFound',
        details: { name: 'x', group: 'source.toolkit.fluxcd.io', kind: 'gitrepositories' },
        code: 404,
      },
    });
    const patchMissing = await apiError(
      relay.patchNamespacedCustomObject(
        { ...SOURCE, namespace: 'team-a', name: 'x', body: {} },
        setHeaderOptions('Content-Type', PatchStrategy.MergePatch),
      ),
    );
    expect(patchMissing.code).toBe(404);

    const admin = client(server, ADMIN_TOKEN);
    const unknown = await apiError(
      admin.listClusterCustomObject({ group: 'source.toolkit.fluxcd.io', version: 'v1', plural: 'gitrepos' }),
    );
    expect(unknown.code).toBe(404);
    expect(unknown.status?.message).toBe('the server could not find the requested resource');
  });

  it('answers 415 for strategic merge patch on a custom resource, 405 for unsupported verbs', async () => {
    const smp = await apiError(
      relay.patchNamespacedCustomObject(
        { ...SOURCE, namespace: 'team-a', name: 'app-a', body: { metadata: { annotations: { [REQUESTED_AT]: 'x' } } } },
        setHeaderOptions('Content-Type', PatchStrategy.StrategicMergePatch),
      ),
    );
    expect(smp.code).toBe(415);
    expect(smp.status).toMatchObject({
      reason: 'UnsupportedMediaType',
      message:
        'the body of the request was in an unknown format - accepted media types include: application/json-patch+json, application/merge-patch+json, application/apply-patch+yaml',
    });

    const admin = client(server, ADMIN_TOKEN);
    const del = await apiError(admin.deleteNamespacedCustomObject({ ...SOURCE, namespace: 'team-a', name: 'app-a' }));
    expect(del.code).toBe(405);
    expect(del.status?.reason).toBe('MethodNotAllowed');
    // Authorization comes first, as on the real server.
    const relayDelete = await apiError(
      relay.deleteNamespacedCustomObject({ ...SOURCE, namespace: 'team-a', name: 'app-a' }),
    );
    expect(relayDelete.code).toBe(403);
  });

  it('rejects patches that change identity, carry a stale resourceVersion or break the schema', async () => {
    const merge = setHeaderOptions('Content-Type', PatchStrategy.MergePatch);
    const rename = await apiError(
      relay.patchNamespacedCustomObject(
        { ...SOURCE, namespace: 'team-a', name: 'app-a', body: { metadata: { name: 'other' } } },
        merge,
      ),
    );
    expect(rename.code).toBe(422);
    expect(rename.status?.message).toContain('metadata.name');

    const stale = await apiError(
      relay.patchNamespacedCustomObject(
        {
          ...SOURCE,
          namespace: 'team-a',
          name: 'app-a',
          body: { metadata: { resourceVersion: '1', annotations: { a: 'b' } } },
        },
        merge,
      ),
    );
    expect(stale.code).toBe(409);
    expect(stale.status?.reason).toBe('Conflict');

    const schema = await apiError(
      relay.patchNamespacedCustomObject(
        { ...SOURCE, namespace: 'team-a', name: 'app-a', body: { spec: { interval: 'soon' } } },
        merge,
      ),
    );
    expect(schema.code).toBe(422);
    expect(schema.status?.message).toMatch(
      /^GitRepository\.source\.toolkit\.fluxcd\.io "app-a" is invalid: spec\.interval/,
    );

    const annotationType = await apiError(
      relay.patchNamespacedCustomObject(
        { ...SOURCE, namespace: 'team-a', name: 'app-a', body: { metadata: { annotations: { [REQUESTED_AT]: 5 } } } },
        merge,
      ),
    );
    expect(annotationType.code).toBe(422);
    expect(
      server.get('source.toolkit.fluxcd.io/v1', 'GitRepository', 'team-a', 'app-a')?.metadata.annotations,
    ).toBeUndefined();
  });

  it('filters by label selector (equality- and set-based)', async () => {
    const names = async (labelSelector: string) =>
      ((await relay.listClusterCustomObject({ ...SOURCE, labelSelector })) as KubeList).items.map(
        (o) => o.metadata.name,
      );
    expect(await names('tier=app')).toEqual(['app-a', 'app-b']);
    expect(await names('tier==platform')).toEqual(['infra']);
    expect(await names('tier!=app')).toEqual(['infra', 'tools']);
    expect(await names('tier')).toEqual(['infra', 'app-a', 'app-b']);
    expect(await names('!tier')).toEqual(['tools']);
    expect(await names('env in (prod,dev)')).toEqual(['infra', 'app-a', 'tools']);
    expect(await names('env notin (prod), tier')).toEqual(['app-b']);
    expect(await names('tier=app,env=prod')).toEqual(['app-a']);
    const bad = await apiError(relay.listClusterCustomObject({ ...SOURCE, labelSelector: 'tier=(' }));
    expect(bad.code).toBe(400);
  });

  it('paginates with limit/continue over a consistent snapshot', async () => {
    const admin = client(server, ADMIN_TOKEN);
    for (let i = 0; i < 5; i++) server.put(gitRepository('paging', `repo-${i}`, { paging: 'yes' }));
    const first = (await admin.listNamespacedCustomObject({ ...SOURCE, namespace: 'paging', limit: 2 })) as KubeList;
    expect(first.items.map((o) => o.metadata.name)).toEqual(['repo-0', 'repo-1']);
    expect(first.metadata.remainingItemCount).toBe(3);
    expect(first.metadata.continue).toEqual(expect.any(String));

    // Writes after the first page are not visible to the rest of the paginated list.
    server.put(gitRepository('paging', 'repo-2a', { paging: 'yes' }));
    server.remove('source.toolkit.fluxcd.io/v1', 'GitRepository', 'paging', 'repo-3');

    const seen = [...first.items];
    let token = first.metadata.continue;
    while (token) {
      const page = (await admin.listNamespacedCustomObject({
        ...SOURCE,
        namespace: 'paging',
        limit: 2,
        _continue: token,
      })) as KubeList;
      expect(page.metadata.resourceVersion).toBe(first.metadata.resourceVersion);
      seen.push(...page.items);
      token = page.metadata.continue;
    }
    expect(seen.map((o) => o.metadata.name)).toEqual(['repo-0', 'repo-1', 'repo-2', 'repo-3', 'repo-4']);

    const fresh = (await admin.listNamespacedCustomObject({ ...SOURCE, namespace: 'paging' })) as KubeList;
    expect(fresh.items.map((o) => o.metadata.name)).toEqual(['repo-0', 'repo-1', 'repo-2', 'repo-2a', 'repo-4']);

    const badToken = await apiError(
      admin.listNamespacedCustomObject({ ...SOURCE, namespace: 'paging', _continue: 'garbage' }),
    );
    expect(badToken.code).toBe(400);
  });

  it('creates and lists core v1 Events', async () => {
    const kc = new KubeConfig();
    kc.loadFromString(server.kubeconfig(RELAY_TOKEN));
    const core = kc.makeApiClient(CoreV1Api);
    const created = await core.createNamespacedEvent({
      namespace: 'team-a',
      body: {
        metadata: { generateName: 'app-a.' },
        involvedObject: {
          apiVersion: 'source.toolkit.fluxcd.io/v1',
          kind: 'GitRepository',
          name: 'app-a',
          namespace: 'team-a',
        },
        reason: 'ReconcileRequested',
        message: 'push to main',
        type: 'Normal',
        source: { component: 'flux-webhook-relay' },
      },
    });
    expect(created.metadata?.name).toMatch(/^app-a\.[a-z0-9]{5}$/);
    expect(server.requests.at(-1)?.status).toBe(201);
    const listed = await core.listNamespacedEvent({ namespace: 'team-a' });
    expect(listed.items.map((e) => e.reason)).toEqual(['ReconcileRequested']);

    const mismatch = await apiError(
      core.createNamespacedEvent({
        namespace: 'team-a',
        body: {
          metadata: { name: 'wrong-ns' },
          involvedObject: { kind: 'GitRepository', name: 'app-b', namespace: 'team-b' },
          reason: 'X',
        },
      }),
    );
    expect(mismatch.code).toBe(422);
    expect(mismatch.status?.message).toContain('involvedObject.namespace');

    const reader = new KubeConfig();
    reader.loadFromString(server.kubeconfig(READONLY_TOKEN));
    const denied = await apiError(
      reader.makeApiClient(CoreV1Api).createNamespacedEvent({
        namespace: 'team-a',
        body: { metadata: { name: 'e1' }, involvedObject: { namespace: 'team-a' } },
      }),
    );
    expect(denied.status?.message).toBe(
      `events is forbidden: User "${READONLY_USER}" cannot create resource "events" in API group "" in the namespace "team-a"`,
    );
  });

  it('injects faults: a destroyed socket rejects the call, a status answers once', async () => {
    server.fault({ destroy: true, times: 1, match: (r) => r.method === 'PATCH' });
    const reset = relay.patchNamespacedCustomObject(
      { ...SOURCE, namespace: 'team-a', name: 'app-a', body: { metadata: { annotations: { [REQUESTED_AT]: 'x' } } } },
      setHeaderOptions('Content-Type', PatchStrategy.MergePatch),
    );
    // Not an ApiException: node-fetch's FetchError ("socket hang up", code ECONNRESET) surfaces as is.
    await expect(reset).rejects.toMatchObject({ name: 'FetchError', code: 'ECONNRESET' });
    expect(server.requests.at(-1)?.method).toBe('PATCH');
    expect(server.requests.at(-1)?.status).toBeUndefined();

    server.fault({ status: 503, times: 1 });
    const unavailable = await apiError(relay.listClusterCustomObject({ ...SOURCE }));
    expect(unavailable.code).toBe(503);
    expect(unavailable.status?.reason).toBe('ServiceUnavailable');
    await expect(relay.listClusterCustomObject({ ...SOURCE })).resolves.toBeDefined();
  });

  it('counts TLS connections and keeps connections alive for clients that reuse them', async () => {
    const before = server.connectionCount();
    await relay.listClusterCustomObject({ ...SOURCE });
    await relay.listClusterCustomObject({ ...SOURCE });
    // client-node 1.4 builds a new https.Agent for every call, so each call opens its own TLS connection.
    expect(server.connectionCount()).toBe(before + 2);
    const ids = server.requests.slice(-2).map((r) => r.connectionId);
    expect(new Set(ids).size).toBe(2);

    const agent = new https.Agent({ keepAlive: true, ca: server.caPem, maxSockets: 1 });
    const get = () =>
      new Promise<number>((resolve, reject) => {
        https
          .get(
            `${server.url}/apis/source.toolkit.fluxcd.io/v1/gitrepositories`,
            { agent, headers: { Authorization: `Bearer ${RELAY_TOKEN}` } },
            (res) => {
              res.resume();
              res.on('end', () => resolve(res.statusCode ?? 0));
            },
          )
          .on('error', reject);
      });
    const countBefore = server.connectionCount();
    expect(await get()).toBe(200);
    expect(await get()).toBe(200);
    agent.destroy();
    expect(server.connectionCount()).toBe(countBefore + 1);
    const [a, b] = server.requests.slice(-2);
    expect(a?.connectionId).toBe(b?.connectionId);
  });

  it('verifies TLS: a kubeconfig with another CA cannot connect', async () => {
    const otherCa = await generate([{ name: 'commonName', value: 'other-ca' }], {
      keyType: 'ec',
      algorithm: 'sha256',
      extensions: [{ name: 'basicConstraints', cA: true, critical: true }],
    });
    const kc = new KubeConfig();
    kc.loadFromString(server.kubeconfig(RELAY_TOKEN, { caPem: otherCa.cert }));
    const count = server.requests.length;
    await expect(kc.makeApiClient(CustomObjectsApi).listClusterCustomObject({ ...SOURCE })).rejects.toThrow(
      /certificate/i,
    );
    expect(server.requests.length).toBe(count);
  });

  it('put() validates fixtures with the Flux models', () => {
    expect(() =>
      server.put({
        apiVersion: 'source.toolkit.fluxcd.io/v1',
        kind: 'GitRepository',
        metadata: { name: 'bad', namespace: 'x' },
        spec: { interval: '1m' },
      }),
    ).toThrow(/spec\.url: Required value/);
    expect(() =>
      server.put({ apiVersion: 'source.toolkit.fluxcd.io/v1', kind: 'Nope', metadata: { name: 'x', namespace: 'x' } }),
    ).toThrow(/no resource served/);
    expect(() =>
      server.put({ ...gitRepository('x', 'Upper_Case'), metadata: { name: 'Upper_Case', namespace: 'x' } }),
    ).toThrow(/metadata\.name/);
  });
});

describe('housekeeping (for long runs such as the bench)', () => {
  it('keeps every live object at its latest version, expires Events, forgets deleted objects and the request log', async () => {
    const own = await KubeApiTestServer.start();
    try {
      own.put(gitRepository('flux-system', 'kept'));
      own.put(gitRepository('flux-system', 'kept', {}, { [REQUESTED_AT]: 'second version' }));
      own.put(gitRepository('flux-system', 'gone'));
      own.remove('source.toolkit.fluxcd.io/v1', 'GitRepository', 'flux-system', 'gone');
      own.put({
        apiVersion: 'v1',
        kind: 'Event',
        metadata: { name: 'kept.1', namespace: 'flux-system' },
        involvedObject: { kind: 'GitRepository', name: 'kept', namespace: 'flux-system' },
        reason: 'WebhookReceived',
        message: 'm',
      });
      expect(own.list('v1', 'Event', 'flux-system')).toHaveLength(1);
      own.housekeeping();
      expect(
        own
          .list('source.toolkit.fluxcd.io/v1', 'GitRepository')
          .map((o) => [o.metadata.name, o.metadata.annotations?.[REQUESTED_AT]]),
      ).toEqual([['kept', 'second version']]);
      expect(own.list('v1', 'Event', 'flux-system')).toEqual([]);
      expect(own.requests).toEqual([]);
    } finally {
      await own.close();
    }
  });
});
