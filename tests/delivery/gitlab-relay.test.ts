import push from '../fixtures/gitlab/push.json';
import tagPush from '../fixtures/gitlab/tag-push.json';
import { KubeApiTestServer } from '../support/kube-api-server';
import { SecretsManagerTestServer } from '../support/secrets-manager-server';
import {
  apiGatewayEvent,
  gitRepository,
  loadRelayHandler,
  patchRequests,
  relayRules,
  relayUser,
  requestedAt,
  useSecretsManager,
  type Handler,
} from '../support/relay-harness';

const token = 'gl-hook-token-9f8e7d6c';
const saToken = 'cluster-sa-token-abcdef';
let cluster: KubeApiTestServer;
let sm: SecretsManagerTestServer;
let handler: Handler;

beforeAll(async () => {
  [cluster, sm] = await Promise.all([KubeApiTestServer.start(), SecretsManagerTestServer.start()]);
  cluster.addServiceAccount(saToken, relayUser, relayRules);
  sm.put('relay/gitlab-token', token);
  sm.put('relay/kubeconfig', cluster.kubeconfig(saToken));
  useSecretsManager(sm);
  handler = loadRelayHandler(`
clusters:
  prod: { kubeconfig: relay/kubeconfig }
receivers:
  gitlab: { provider: gitlab, secret: relay/gitlab-token }
`);
  // The documented payloads are for example.com/mike/diaspora (push) and example.com/jsmith/example (tag push).
  cluster.put(
    gitRepository('flux-system', 'diaspora-ssh', 'ssh://git@example.com/mike/diaspora.git', { branch: 'master' }),
  );
  cluster.put(
    gitRepository('flux-system', 'diaspora-https', 'https://example.com/Mike/Diaspora', { branch: 'master' }),
  );
  cluster.put(
    gitRepository('flux-system', 'diaspora-develop', 'https://example.com/mike/diaspora', { branch: 'develop' }),
  );
  cluster.put(
    gitRepository('flux-system', 'example-semver', 'ssh://git@example.com:2222/jsmith/example.git', {
      semver: '>=1.0.0',
    }),
  );
  cluster.put(
    gitRepository('flux-system', 'example-main', 'https://example.com/jsmith/example.git', { branch: 'master' }),
  );
});

afterAll(async () => {
  await Promise.all([cluster.close(), sm.close()]);
});

beforeEach(() => cluster.clearRequests());

function deliver(payload: unknown, event: string, presented = token) {
  return handler(
    apiGatewayEvent({
      receiver: 'gitlab',
      body: JSON.stringify(payload),
      headers: {
        'Content-Type': 'application/json',
        'X-Gitlab-Event': event,
        'X-Gitlab-Token': presented,
        'Idempotency-Key': 'f2a5b1c0-delivery',
      },
    }),
  );
}

test("GitLab's documented Push Hook patches the GitRepositories of that project and branch", async () => {
  const result = await deliver(push, 'Push Hook');
  expect(result.statusCode).toBe(200);
  const body = JSON.parse(result.body as string);
  expect(body).toMatchObject({
    delivery: 'f2a5b1c0-delivery',
    outcome: 'patched',
    repository: 'mike/diaspora',
    ref: 'refs/heads/master',
    commit: push.checkout_sha,
    patched: ['prod/flux-system/GitRepository/diaspora-https', 'prod/flux-system/GitRepository/diaspora-ssh'],
  });
  expect(requestedAt(cluster, 'flux-system', 'diaspora-ssh')).toBe(body.requestedAt);
  expect(requestedAt(cluster, 'flux-system', 'diaspora-develop')).toBeUndefined();
});

test("GitLab's documented Tag Push Hook patches the semver-tracking GitRepository only", async () => {
  const result = await deliver(tagPush, 'Tag Push Hook');
  expect(JSON.parse(result.body as string).patched).toEqual(['prod/flux-system/GitRepository/example-semver']);
});

test('a branch deletion patches nothing', async () => {
  const result = await deliver({ ...push, after: '0'.repeat(40), checkout_sha: null }, 'Push Hook');
  expect(result.statusCode).toBe(200);
  expect(JSON.parse(result.body as string).outcome).toBe('ignored');
  expect(patchRequests(cluster)).toHaveLength(0);
});

test.each([
  ['a wrong token', 'gl-hook-token-9f8e7d6d'],
  ['a prefix of the token', token.slice(0, 10)],
  ['the token with a trailing newline', `${token}\n`],
])('%s gets 401 and patches nothing', async (_name, presented) => {
  const result = await deliver(push, 'Push Hook', presented);
  expect(result.statusCode).toBe(401);
  expect(cluster.requests).toHaveLength(0);
});

test('a missing token gets 401', async () => {
  const result = await handler(
    apiGatewayEvent({
      receiver: 'gitlab',
      body: JSON.stringify(push),
      headers: { 'content-type': 'application/json', 'x-gitlab-event': 'Push Hook' },
    }),
  );
  expect(result.statusCode).toBe(401);
});

test('other GitLab events are acknowledged without touching the cluster (GitLab disables hooks that keep failing)', async () => {
  const result = await deliver({ object_kind: 'note' }, 'Note Hook');
  expect(result.statusCode).toBe(200);
  expect(JSON.parse(result.body as string).outcome).toBe('ignored');
  expect(cluster.requests).toHaveLength(0);
});
