/**
 * The sync's Azure DevOps client (lib/sync/providers/azure-devops.ts) against the loopback organization
 * (tests/support/azure-devops-api-server.ts): subscriptions created, kept, repaired (status, filters, detail, URL),
 * re-keyed after a rotation, foreign ones untouched, nonsense answers failing the target; then whole runs, with
 * discovery from a cluster's GitRepositories and pruning.
 */
import { parseConfig } from '../../lib/config/load';
import type { HookApi, HookSpec, HookTarget } from '../../lib/sync/hook-api';
import { InMemorySyncMemory } from '../../lib/sync/memory';
import { azureDevOpsHooks } from '../../lib/sync/providers/azure-devops';
import { AzureDevOpsApiTestServer } from '../support/azure-devops-api-server';
import { frozenClientOptions, planAndApply } from '../support/hook-client';
import { KubeApiTestServer } from '../support/kube-api-server';
import { gitRepository, relayRules, relayUser, useSecretsManager } from '../support/relay-harness';
import { SecretsManagerTestServer } from '../support/secrets-manager-server';
import { runSyncOnce } from '../support/sync-run';

const PAT = 'azdo-pat-0123456789abcdefghijklmnopqrstuv';
const RELAY = 'https://relay.example.com/hooks/ado';
const repo: HookTarget = { kind: 'repository', path: 'Fabrikam/app' };
const ownership = { hooksPrefix: 'https://relay.example.com/hooks/', receivers: new Set(['ado']) };

function spec(version: string, password = `password-${version}-0123456789`): HookSpec {
  return {
    url: `${RELAY}?relay-secret-version=${version}`,
    events: ['git.push'],
    secret: `relay:${password}`,
    name: 'flux-webhook-relay',
  };
}

let server: AzureDevOpsApiTestServer;
let ids: { projectId: string; repositoryId: string };

beforeEach(async () => {
  server = await AzureDevOpsApiTestServer.start('acme');
  server.addToken(PAT);
  ids = server.addRepository('Fabrikam/app');
  server.addRepository('Fabrikam/other');
});
afterEach(async () => {
  // Every request the client sent and every answer the server gave, held to Microsoft's description.
  expect(server.violations).toEqual([]);
  await server.close();
});

function api(token = PAT): HookApi {
  return azureDevOpsHooks(frozenClientOptions(server.apiUrl, token));
}

const sync = (hooks: HookApi, wanted: HookSpec, target = repo) => planAndApply(hooks, target, wanted, ownership);
const ours = () => server.stored().filter((s) => s.consumerInputs.url?.startsWith(RELAY));

describe('azureDevOpsHooks', () => {
  test('creates a git.push Web Hooks subscription for the repository with Basic credentials and full resource details; a second run keeps it', async () => {
    const hooks = api();
    expect((await sync(hooks, spec('v1'))).map((a) => a.kind)).toEqual(['create']);
    expect(ours()).toEqual([
      expect.objectContaining({
        status: 'enabled',
        publisherId: 'tfs',
        eventType: 'git.push',
        consumerId: 'webHooks',
        consumerActionId: 'httpRequest',
        publisherInputs: { projectId: ids.projectId, repository: ids.repositoryId, branch: '', pushedBy: '' },
        consumerInputs: expect.objectContaining({
          url: spec('v1').url,
          basicAuthUsername: 'relay',
          basicAuthPassword: 'password-v1-0123456789',
          resourceDetailsToSend: 'all',
        }),
      }),
    ]);
    expect(server.requests.every((r) => r.query['api-version'] === '7.1')).toBe(true);
    expect((await sync(api(), spec('v1'))).map((a) => a.kind)).toEqual(['unchanged']);
  });

  test('one list of the organization serves every repository of a run; names resolve once', async () => {
    server.addRepository('Fabrikam/third');
    const hooks = api();
    for (const path of ['Fabrikam/app', 'Fabrikam/other', 'Fabrikam/third'])
      await sync(hooks, spec('v1'), { kind: 'repository', path });
    server.requests.length = 0;
    const again = api();
    for (const path of ['Fabrikam/app', 'Fabrikam/other', 'Fabrikam/third'])
      expect((await sync(again, spec('v1'), { kind: 'repository', path })).map((a) => a.kind)).toEqual(['unchanged']);
    expect(server.requests.filter((r) => r.path.endsWith('/_apis/hooks/subscriptions'))).toHaveLength(1);
    expect(server.requests.filter((r) => r.path.includes('/_apis/git/repositories/'))).toHaveLength(3);
  });

  test.each([
    ['on probation after failed deliveries', 'onProbation'],
    ['disabled by the system after probation', 'disabledBySystem'],
    ['disabled by a user', 'disabledByUser'],
  ])('a subscription %s is enabled again', async (_name, status) => {
    await sync(api(), spec('v1'));
    server.setStatus(ours()[0]!.id, status);
    const [update] = await sync(api(), spec('v1'));
    expect(update).toMatchObject({ kind: 'update', reasons: expect.arrayContaining([`status ${status} → enabled`]) });
    expect(ours()[0]!.status).toBe('enabled');
    expect(ours()[0]!.consumerInputs.basicAuthPassword).toBe('password-v1-0123456789');
  });

  test('portal edits that lose pushes are repaired: a branch filter, less resource detail, another URL', async () => {
    await sync(api(), spec('v1'));
    const id = ours()[0]!.id;
    server.edit(id, (s) => {
      s.publisherInputs.branch = 'main';
      s.consumerInputs.resourceDetailsToSend = 'minimal';
    });
    expect((await sync(api(), spec('v1')))[0]).toMatchObject({
      kind: 'update',
      reasons: ['resourceDetailsToSend minimal → all', 'branch filter main → none'],
    });
    expect(ours()[0]).toMatchObject({
      publisherInputs: { branch: '' },
      consumerInputs: expect.objectContaining({ resourceDetailsToSend: 'all' }),
    });
    server.edit(id, (s) => (s.consumerInputs.url = `${RELAY}-old?relay-secret-version=v1`));
    // Under the relay's prefix for a receiver that does not exist: stale, deleted, and the wanted one created.
    expect((await sync(api(), spec('v1'))).map((a) => a.kind)).toEqual(['delete', 'create']);
    expect(ours()).toHaveLength(1);
  });

  test('after a secret rotation the subscription is replaced with the new password (Azure DevOps never returns it)', async () => {
    await sync(api(), spec('v1'));
    const [update] = await sync(api(), spec('v2', 'rotated-password-abcdef'));
    expect(update).toMatchObject({ kind: 'update', reasons: ['secret rotated'] });
    expect(ours()).toEqual([
      expect.objectContaining({
        consumerInputs: expect.objectContaining({
          url: spec('v2').url,
          basicAuthPassword: 'rotated-password-abcdef',
        }),
      }),
    ]);
  });

  test("foreign subscriptions are left alone: another URL on the repository, the relay's URL on another repository, another event", async () => {
    const other = server.addRepository('Fabrikam/other');
    const foreign = server.addSubscription({
      publisherInputs: { projectId: ids.projectId, repository: ids.repositoryId },
      consumerInputs: { url: 'https://ci.example/hook/secret-path' },
    });
    server.addSubscription({
      publisherInputs: { projectId: other.projectId, repository: other.repositoryId },
      consumerInputs: { url: spec('v1').url },
    });
    server.addSubscription({
      eventType: 'git.pullrequest.created',
      publisherInputs: { projectId: ids.projectId, repository: ids.repositoryId },
      consumerInputs: { url: spec('v1').url },
    });
    const plan = await sync(api(), spec('v1'));
    expect(plan.map((a) => a.kind)).toEqual(['foreign', 'create']);
    expect(plan[0]).toMatchObject({ id: foreign });
    expect(server.stored()).toHaveLength(4);
  });

  test('a project target is one subscription for every repository of the project', async () => {
    const project: HookTarget = { kind: 'organization', path: 'Fabrikam' };
    await sync(api(), spec('v1'), project);
    expect(ours()).toEqual([
      expect.objectContaining({
        publisherInputs: expect.objectContaining({ projectId: ids.projectId, repository: '' }),
      }),
    ]);
    // The repository-level view does not take the project-wide subscription for its own, nor the reverse.
    expect((await sync(api(), spec('v1'))).map((a) => a.kind)).toEqual(['create']);
    expect((await sync(api(), spec('v1'), project)).map((a) => a.kind)).toEqual(['unchanged']);
  });

  test('nonsense answers fail the target with a reason and delete nothing', async () => {
    await sync(api(), spec('v1'));
    const before = server.stored();
    const answers: Array<[string, string]> = [
      ['text/html', '<html>Service unavailable</html>'],
      ['application/json', '{"count": 1, "value": '],
      ['application/json', '{"count": 1, "value": {"id": "x"}}'],
      ['application/json', '{"count": 1, "value": [{"id": 7}]}'],
    ];
    for (const [contentType, body] of answers) {
      server.fault = { match: (r) => r.path.endsWith('/_apis/hooks/subscriptions'), status: 200, contentType, body };
      await expect(api().listHooks(repo)).rejects.toThrow(/^azure-devops Fabrikam\/app: /);
    }
    server.fault = undefined;
    expect(server.stored()).toEqual(before);
  });

  test('a repository that does not exist, or a bad token, fails with the service’s status', async () => {
    await expect(api().listHooks({ kind: 'repository', path: 'Fabrikam/nope' })).rejects.toMatchObject({ status: 404 });
    await expect(api('azdo-wrong-token-000000000000000000').listHooks(repo)).rejects.toMatchObject({ status: 401 });
    await expect(api().listHooks({ kind: 'repository', path: 'Fabrikam/../x' })).rejects.toThrow(
      /not a project\/repository/,
    );
  });

  test('identity keys of the organization map to project/repo; other organizations map to nothing', () => {
    const hooks = api();
    expect(hooks.repositoryPath('acme/fabrikam/_git/app')).toBe('fabrikam/app');
    expect(hooks.repositoryPath('other/fabrikam/_git/app')).toBeUndefined();
    expect(hooks.repositoryPath('acme/fabrikam/app')).toBeUndefined();
  });
});

describe('runs', () => {
  let cluster: KubeApiTestServer;
  let sm: SecretsManagerTestServer;
  let clock = Date.parse('2026-12-04T05:00:00Z');
  const now = () => clock;
  const sleep = async (ms: number) => {
    clock += ms;
  };

  beforeAll(async () => {
    [cluster, sm] = await Promise.all([KubeApiTestServer.start(), SecretsManagerTestServer.start()]);
    cluster.addServiceAccount('sa', relayUser, relayRules);
    sm.put('relay/kc', cluster.kubeconfig('sa'));
    sm.put('relay/ado', 'relay:ado-hook-password-0123456789');
    sm.put('relay/ado-pat', PAT);
    useSecretsManager(sm);
  });
  afterAll(() => Promise.all([cluster.close(), sm.close()]));

  test('discovered from GitRepositories in every URL form, listed, kept, and pruned after the grace run', async () => {
    server.addRepository('Fabrikam/infra');
    cluster.put(
      gitRepository('flux-system', 'app', 'https://dev.azure.com/acme/Fabrikam/_git/app', { branch: 'main' }),
    );
    cluster.put(
      gitRepository('flux-system', 'infra', 'ssh://git@ssh.dev.azure.com/v3/acme/Fabrikam/infra', { branch: 'main' }),
    );
    cluster.put(
      gitRepository('flux-system', 'elsewhere', 'https://dev.azure.com/other-org/P/_git/r', { branch: 'main' }),
    );
    const config = parseConfig(
      `
clusters:
  c: { kubeconfig: relay/kc }
receivers:
  ado: { provider: azure-devops, secret: relay/ado }
sync:
  publicUrl: https://relay.example.com
  allowHttpLoopback: true
  registrations:
    az: { provider: azure-devops, apiUrl: '${server.apiUrl}', host: dev.azure.com, token: relay/ado-pat, receiver: ado, repositories: [Fabrikam/other] }
`,
      'ado-sync.yaml',
    );
    const memory = new InMemorySyncMemory();
    const run = async () => {
      clock += 15 * 60_000;
      return (await runSyncOnce(config, { now, sleep }, { memory })).registrations[0]!;
    };
    expect(await run()).toMatchObject({ failures: [], targets: 3, actions: { create: 3 } });
    expect(await run()).toMatchObject({ failures: [], actions: { unchanged: 3 }, writes: 0 });
    cluster.remove('source.toolkit.fluxcd.io/v1', 'GitRepository', 'flux-system', 'infra');
    expect(await run()).toMatchObject({ actions: { unchanged: 2, delete: 0 } });
    expect(await run()).toMatchObject({ failures: [], actions: { unchanged: 2, delete: 1 } });
    const urls = server
      .stored()
      .filter((s) => s.consumerInputs.url?.startsWith('https://relay.example.com/hooks/ado'))
      .map((s) => s.publisherInputs.repository);
    expect(urls).toHaveLength(2);
    expect(urls).not.toContain(server.addRepository('Fabrikam/infra').repositoryId);
  });
});
