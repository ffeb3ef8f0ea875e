import type { Context, ScheduledEvent } from 'aws-lambda';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { GitHubApiServer } from '../support/github-api-server';
import { KubeApiTestServer } from '../support/kube-api-server';
import { SecretsManagerTestServer } from '../support/secrets-manager-server';
import { captureOutput, gitRepository, relayRules, relayUser, useSecretsManager } from '../support/relay-harness';
import type { SyncReport } from '../../lib/sync/run';

let cluster: KubeApiTestServer;
let github: GitHubApiServer;
let sm: SecretsManagerTestServer;

beforeAll(async () => {
  [cluster, github, sm] = await Promise.all([
    KubeApiTestServer.start(),
    GitHubApiServer.start(),
    SecretsManagerTestServer.start(),
  ]);
  cluster.addServiceAccount('sa', relayUser, relayRules);
  cluster.put(gitRepository('flux-system', 'app', 'https://github.com/acme/app', { branch: 'main' }));
  github.addToken('ghp_handler', { repos: ['acme/app'] });
  sm.put('relay/kubeconfig', cluster.kubeconfig('sa'));
  sm.put('relay/hook', 'hook-secret-of-the-handler-test');
  sm.put('relay/github-token', 'ghp_handler');
  useSecretsManager(sm);
});

afterAll(async () => {
  await Promise.all([cluster.close(), github.close(), sm.close()]);
});

test('the scheduled handler runs the sync against the deployed URL and logs one summary line per run', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'sync-handler-'));
  process.env.RELAY_CONFIG = join(dir, 'relay.config.yaml');
  process.env.RELAY_PUBLIC_URL = 'https://abc123.execute-api.eu-west-1.amazonaws.com';
  writeFileSync(
    process.env.RELAY_CONFIG,
    `clusters:\n  c: { kubeconfig: relay/kubeconfig }\nreceivers:\n  github: { provider: github, secret: relay/hook }\n` +
      `sync:\n  allowHttpLoopback: true\n  registrations:\n    gh: { provider: github, apiUrl: '${github.url}', host: github.com, token: relay/github-token, receiver: github }\n`,
  );
  let handler: ((event: ScheduledEvent, context: Context) => Promise<SyncReport>) | undefined;
  jest.isolateModules(() => {
    handler = (require('../../functions/sync') as { handler: typeof handler }).handler;
  });
  const context = { getRemainingTimeInMillis: () => 300_000 } as unknown as Context; // only this member is used
  const { result, lines } = await captureOutput(() => handler!({} as ScheduledEvent, context));
  expect(result.registrations[0]).toMatchObject({
    registration: 'gh',
    actions: { create: 1 },
    writes: 1,
    failures: [],
  });
  const [hook] = github.hooks({ kind: 'repository', path: 'acme/app' });
  expect(hook!.config.url).toMatch(
    /^https:\/\/abc123\.execute-api\.eu-west-1\.amazonaws\.com\/hooks\/github\?relay-secret-version=/,
  );
  const summaries = lines.map((l) => JSON.parse(l) as Record<string, unknown>).filter((l) => l.message === 'sync run');
  expect(summaries).toHaveLength(1);
  expect(summaries[0]).toMatchObject({
    level: 'INFO',
    dry_run: false,
    changes: 1,
    failures: [],
    registrations: [{ registration: 'gh', provider: 'github', actions: { create: 1 } }],
  });
  expect(lines.join('\n')).not.toContain('ghp_handler');
  expect(lines.join('\n')).not.toContain('hook-secret');
});

test('a provider error echoing the submitted hook secret reaches neither the report nor the summary line', async () => {
  github.addToken('ghp_handler', { repos: ['acme/app', 'acme/echo'] });
  cluster.put(gitRepository('flux-system', 'echo', 'https://github.com/acme/echo', { branch: 'main' }));
  github.fault({
    kind: 'status',
    status: 422,
    match: (r) => r.method === 'POST' && r.path === '/repos/acme/echo/hooks',
    message: (r) => `config.secret ${(r.body as { config: { secret: string } }).config.secret} is not valid`,
  });
  let handler: ((event: ScheduledEvent, context: Context) => Promise<SyncReport>) | undefined;
  jest.isolateModules(() => {
    handler = (require('../../functions/sync') as { handler: typeof handler }).handler;
  });
  const context = { getRemainingTimeInMillis: () => 300_000 } as unknown as Context; // only this member is used
  const { result, lines } = await captureOutput(() => handler!({} as ScheduledEvent, context));
  github.fault(undefined);
  expect(result.registrations[0]!.failures).toEqual([
    { target: 'acme/echo', error: expect.stringContaining('HTTP 422 config.secret') },
  ]);
  expect(JSON.stringify(result)).not.toContain('hook-secret');
  const summary = lines.map((l) => JSON.parse(l) as Record<string, unknown>).find((l) => l.message === 'sync run');
  expect(summary).toMatchObject({
    level: 'WARN',
    failures: [{ registration: 'gh', target: 'acme/echo', error: expect.stringContaining('[REDACTED]') }],
  });
  expect(lines.join('\n')).not.toContain('hook-secret');
});
