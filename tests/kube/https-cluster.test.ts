import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { ClusterCallError } from '../../lib/kube/cluster-client';
import { HttpsCluster } from '../../lib/kube/https-cluster';
import type { FluxObjectRef } from '../../lib/kube/kinds';
import { KubeApiTestServer } from '../support/kube-api-server';
import { gitRepository, relayRules, relayUser } from '../support/relay-harness';

const token = 'relay-token-0123456789abcdef';
const app: FluxObjectRef = {
  cluster: 'c',
  apiVersion: 'source.toolkit.fluxcd.io/v1',
  kind: 'GitRepository',
  namespace: 'flux-system',
  name: 'app',
};
const signal = new AbortController().signal;

let server: KubeApiTestServer;
let other: KubeApiTestServer;
const clients: HttpsCluster[] = [];

function client(kubeconfigYaml: string, extra: { now?: () => number; spareConnections?: boolean } = {}): HttpsCluster {
  const c = new HttpsCluster({ name: 'c', kubeconfigYaml, index: false, ...extra });
  clients.push(c);
  return c;
}

async function failureOf(promise: Promise<unknown>): Promise<ClusterCallError> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(ClusterCallError);
  const e = error as ClusterCallError;
  expect(e.message).not.toContain(token);
  return e;
}

beforeAll(async () => {
  [server, other] = await Promise.all([KubeApiTestServer.start(), KubeApiTestServer.start()]);
  server.addServiceAccount(token, relayUser, relayRules);
  server.addServiceAccount('second-token', 'system:serviceaccount:flux-system:second', relayRules);
  server.put(gitRepository('flux-system', 'app', 'https://github.com/acme/app', { branch: 'main' }));
});

beforeEach(() => {
  server.fault(undefined);
  server.clearRequests();
});

afterAll(async () => {
  for (const c of clients) c.destroy();
  await Promise.all([server.close(), other.close()]);
});

test("a new client's first list opens two spare connections (GET /version) unless told not to (the sync's)", async () => {
  await client(server.kubeconfig(token)).listGitRepositories(signal);
  expect(server.requests.filter((r) => r.path === '/version')).toHaveLength(2);
  server.clearRequests();
  const lister = client(server.kubeconfig(token), { spareConnections: false });
  await lister.listGitRepositories(signal);
  await lister.listGitRepositories(signal);
  expect(server.requests.map((r) => r.path)).toEqual([
    '/apis/source.toolkit.fluxcd.io/v1/gitrepositories',
    '/apis/source.toolkit.fluxcd.io/v1/gitrepositories',
  ]);
});

test('the patch is a merge patch of the one annotation; the Event follows; one keep-alive connection', async () => {
  const c = client(server.kubeconfig(token));
  const before = server.connectionCount();
  const { uid } = await c.requestReconcile(app, '2026-11-24T21:00:00.1Z', signal);
  await c.recordEvent({ ...app, ...(uid ? { uid } : {}) }, { reason: 'WebhookReceived', message: 'why' }, signal);
  await c.requestReconcile(app, '2026-11-24T21:00:00.2Z', signal);
  const [patch, event] = server.requests;
  expect(patch).toMatchObject({
    method: 'PATCH',
    path: '/apis/source.toolkit.fluxcd.io/v1/namespaces/flux-system/gitrepositories/app',
    contentType: 'application/merge-patch+json',
    body: { metadata: { annotations: { 'reconcile.fluxcd.io/requestedAt': '2026-11-24T21:00:00.1Z' } } },
    status: 200,
  });
  expect(uid).toBe(server.get(app.apiVersion, 'GitRepository', 'flux-system', 'app')?.metadata.uid);
  expect(event).toMatchObject({ method: 'POST', path: '/api/v1/namespaces/flux-system/events', status: 201 });
  expect(event?.body).toMatchObject({
    metadata: { generateName: 'app.', namespace: 'flux-system' },
    involvedObject: {
      ...{ apiVersion: app.apiVersion, kind: 'GitRepository', name: 'app', namespace: 'flux-system' },
      uid,
    },
    reason: 'WebhookReceived',
    message: 'why',
    type: 'Normal',
    source: { component: 'flux-webhook-relay' },
    count: 1,
  });
  expect((event?.body as { firstTimestamp: string }).firstTimestamp).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
  expect(server.connectionCount() - before).toBe(1);
});

test('an HTTP error carries the Status reason and message', async () => {
  const e = await failureOf(
    client(server.kubeconfig(token)).requestReconcile({ ...app, name: 'missing' }, 'x', signal),
  );
  expect(e).toMatchObject({ status: 404, failure: 'http', retryable: false });
  expect(e.message).toBe(
    'patch GitRepository flux-system/missing: HTTP 404 NotFound: gitrepositories.source.toolkit.fluxcd.io "missing" not found',
  );
  const denied = await failureOf(client(server.kubeconfig('revoked')).listGitRepositories(signal));
  expect(denied).toMatchObject({ status: 401, failure: 'http', retryable: true, credentialsRejected: true });
});

test('a server certificate the kubeconfig CA does not vouch for is a tls failure (and rejects the credentials)', async () => {
  const e = await failureOf(client(server.kubeconfig(token, { caPem: other.caPem })).listGitRepositories(signal));
  expect(e).toMatchObject({ failure: 'tls', status: undefined, retryable: true, credentialsRejected: true });
  // Both test CAs have the same subject, so OpenSSL finds "the" issuer and then fails its signature.
  expect(e.message).toMatch(
    /^list GitRepositories: cluster c TLS failed \((CERT_SIGNATURE_FAILURE|UNABLE_TO_VERIFY_LEAF_SIGNATURE): /,
  );
  expect(e.message).not.toContain(other.caPem.split('\n')[1]!);
});

test('tls-server-name is both the SNI and the name checked against the certificate', async () => {
  const named = (name: string) =>
    server.kubeconfig(token).replace(/(certificate-authority-data: .*)/, `$1\n    tls-server-name: ${name}`);
  await expect(client(named('localhost')).listGitRepositories(signal)).resolves.toHaveLength(1);
  const e = await failureOf(client(named('elsewhere.example')).listGitRepositories(signal));
  expect(e.failure).toBe('tls');
  expect(e.message).toContain('ERR_TLS_CERT_ALTNAME_INVALID');
});

test('a closed port is unreachable; a reset connection too', async () => {
  const dead = await KubeApiTestServer.start();
  const kubeconfig = dead.kubeconfig(token);
  await dead.close();
  const refused = await failureOf(client(kubeconfig).listGitRepositories(signal));
  expect(refused).toMatchObject({ failure: 'unreachable', retryable: true, credentialsRejected: false });
  expect(refused.message).toBe('list GitRepositories: cluster c unreachable (ECONNREFUSED)');
  server.fault({ destroy: true, times: 1 });
  const reset = await failureOf(client(server.kubeconfig(token)).requestReconcile(app, 'x', signal));
  expect(reset.failure).toBe('unreachable');
  expect(reset.message).toMatch(/cluster c unreachable \((ECONNRESET|socket hang up)\)/);
});

test('an aborted call is a timeout', async () => {
  server.fault({ delayMs: 2000, times: 1 });
  const controller = new AbortController();
  setTimeout(() => controller.abort(new DOMException('timed out after 50 ms', 'TimeoutError')), 50);
  const e = await failureOf(client(server.kubeconfig(token)).requestReconcile(app, 'x', controller.signal));
  expect(e).toMatchObject({
    failure: 'timeout',
    retryable: true,
    message: 'patch GitRepository flux-system/app: timed out',
  });
});

test('an answer larger than the bound is refused instead of read into memory', async () => {
  server.put({
    ...gitRepository('flux-system', 'huge', 'https://github.com/acme/huge'),
    spec: { url: 'https://github.com/acme/huge', interval: '5m', ignore: 'x'.repeat(5 * 1024 * 1024) },
  });
  const e = await failureOf(client(server.kubeconfig(token)).requestReconcile({ ...app, name: 'huge' }, 'x', signal));
  expect(e).toMatchObject({ failure: 'http', status: 200 });
  expect(e.message).toBe('patch GitRepository flux-system/huge: answer larger than 4194304 bytes');
  server.remove(app.apiVersion, 'GitRepository', 'flux-system', 'huge');
});

test('a tokenFile is re-read once a minute, so a rotated projected token is picked up without a new kubeconfig', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'token-'));
  const file = join(dir, 'token');
  writeFileSync(file, `${token}\n`);
  let now = 0;
  const c = client(server.kubeconfig(token).replace(`token: "${token}"`, `tokenFile: ${JSON.stringify(file)}`), {
    now: () => now,
  });
  await c.listGitRepositories(signal);
  writeFileSync(file, 'second-token');
  now = 59_000;
  await c.listGitRepositories(signal);
  now = 60_000;
  await c.listGitRepositories(signal);
  // The lists' requests (the first list's spare connections, GET /version, are made with the first token too).
  expect(server.requests.filter((r) => r.path !== '/version').map((r) => r.user)).toEqual([
    relayUser,
    relayUser,
    'system:serviceaccount:flux-system:second',
  ]);

  const missing = client(
    server.kubeconfig(token).replace(`token: "${token}"`, `tokenFile: ${JSON.stringify(join(dir, 'nope'))}`),
  );
  const e = await failureOf(missing.listGitRepositories(signal));
  expect(e).toMatchObject({
    failure: 'config',
    message: `cluster c: kubeconfig tokenFile ${join(dir, 'nope')} could not be read (ENOENT)`,
  });
});

test('a client certificate or key that does not load is a config failure at construction', () => {
  const b64 = (text: string) => JSON.stringify(Buffer.from(text).toString('base64'));
  const broken = server
    .kubeconfig(token)
    .replace(
      `token: "${token}"`,
      `client-certificate-data: ${b64(server.caPem)}\n    client-key-data: ${b64('-----BEGIN PRIVATE KEY-----\nnope\n-----END PRIVATE KEY-----\n')}`,
    );
  let error: unknown;
  try {
    client(broken);
  } catch (e) {
    error = e;
  }
  expect(error).toBeInstanceOf(ClusterCallError);
  expect(error).toMatchObject({ failure: 'config' });
  expect((error as Error).message).toMatch(
    /^cluster c: kubeconfig certificate authority or client certificate\/key could not be loaded \(/,
  );
});

describe('compressed lists', () => {
  const many = Array.from({ length: 600 }, (_, i) =>
    gitRepository(`ns-${i % 7}`, `gz-${i}`, `https://github.com/acme/gz-${i}`, { branch: 'main' }),
  );
  beforeAll(() => {
    for (const obj of many) server.put(obj);
  });
  afterAll(() => {
    for (const obj of many) server.remove(obj.apiVersion, obj.kind, obj.metadata.namespace!, obj.metadata.name);
  });
  const listRequests = () => server.requests.filter((r) => r.verb === 'list');

  test('a list asks for gzip; pages over 128 KiB come compressed and read as the same objects', async () => {
    const views = await client(server.kubeconfig(token)).listGitRepositories(signal);
    expect(views.map((v) => v.name).filter((n) => n.startsWith('gz-'))).toHaveLength(600);
    expect(views.find((v) => v.name === 'gz-599')).toMatchObject({
      namespace: 'ns-4',
      url: 'https://github.com/acme/gz-599',
    });
    const [first] = listRequests();
    expect(first).toMatchObject({ acceptEncoding: 'gzip', status: 200 });
    // The first page (500 objects) is over the threshold: what went over the wire is a fraction of its JSON.
    expect(first!.bytesSent).toBeLessThan(60 * 1024);
  });

  test('a patch does not ask for gzip (its answer is one object)', async () => {
    await client(server.kubeconfig(token)).requestReconcile(app, 'x', signal);
    expect(server.requests.find((r) => r.verb === 'patch')?.acceptEncoding).toBeUndefined();
  });

  test('a body that inflates past the bound is cut there, not read into memory', async () => {
    // 80 MiB of spaces inside a JSON string compress to ~80 KB: over the list page bound (64 MiB) once inflated.
    const bomb = gzipSync(Buffer.concat([Buffer.from('{"items":["'), Buffer.alloc(80 * 1024 * 1024, 0x20)]));
    server.fault({
      match: (r) => r.verb === 'list',
      raw: { headers: { 'Content-Type': 'application/json', 'Content-Encoding': 'gzip' }, body: bomb },
    });
    const e = await failureOf(client(server.kubeconfig(token)).listGitRepositories(signal));
    expect(e).toMatchObject({ failure: 'http', status: 200 });
    expect(e.message).toMatch(/answer larger than 67108864 bytes$/);
  });

  test.each([
    ['a body that is not gzip', { 'Content-Encoding': 'gzip' }, Buffer.from('{"items":[]}'), 'is not valid gzip'],
    ['gzip cut short', { 'Content-Encoding': 'gzip' }, gzipSync('{"items":[]}').subarray(0, 12), 'is not valid gzip'],
    ['an encoding not asked for', { 'Content-Encoding': 'br' }, Buffer.from('{"items":[]}'), 'which was not asked for'],
  ])("%s fails the list as the answer's fault (http), not the network's", async (_, headers, body, reason) => {
    server.fault({
      match: (r) => r.verb === 'list',
      raw: { headers: { 'Content-Type': 'application/json', ...headers }, body },
    });
    const e = await failureOf(client(server.kubeconfig(token)).listGitRepositories(signal));
    expect(e).toMatchObject({ failure: 'http', status: 200 });
    expect(e.message).toMatch(/^list GitRepositories: answer /);
    expect(e.message).toContain(reason);
  });
});

describe('a kept-alive connection reset before it answered', () => {
  test('after a minute idle (closed by the API server meanwhile, as a thawed Lambda finds it): sent once more on another connection', async () => {
    let now = 0;
    const c = client(server.kubeconfig(token), { now: () => now });
    await c.requestReconcile(app, 'first', signal);
    now += 61_000;
    server.clearRequests();
    server.fault({ match: (r) => r.method === 'PATCH', destroy: true, times: 1 });
    await c.requestReconcile(app, 'second', signal);
    const patches = server.requests.filter((r) => r.method === 'PATCH');
    expect(patches).toHaveLength(2);
    expect(patches[0]!.connectionId).not.toBe(patches[1]!.connectionId);
  });

  test('once only, and not on a connection used within the minute: those resets are the cluster’s answer', async () => {
    let now = 0;
    const c = client(server.kubeconfig(token), { now: () => now });
    await c.requestReconcile(app, 'first', signal);
    now += 59_000;
    server.fault({ match: (r) => r.method === 'PATCH', destroy: true, times: 1 });
    expect((await failureOf(c.requestReconcile(app, 'recent', signal))).failure).toBe('unreachable');
    await c.requestReconcile(app, 'again', signal);
    now += 61_000;
    server.fault({ match: (r) => r.method === 'PATCH', destroy: true, times: 2 });
    expect((await failureOf(c.requestReconcile(app, 'twice', signal))).failure).toBe('unreachable');
  });
});
