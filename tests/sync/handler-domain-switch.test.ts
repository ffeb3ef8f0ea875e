/**
 * The deployed path of issue 17's domain switch: the scheduled handler reads RELAY_PUBLIC_URL and
 * RELAY_FORMER_PUBLIC_URLS as serverless.yml sets them (infra/serverless/domain.cjs) and moves the hook it registered
 * on the execute-api URL to the custom domain.
 */
import type { Context, ScheduledEvent } from 'aws-lambda';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { GitHubApiServer } from '../support/github-api-server';
import { SecretsManagerTestServer } from '../support/secrets-manager-server';
import { captureOutput, useSecretsManager } from '../support/relay-harness';
import type { SyncReport } from '../../lib/sync/run';

let github: GitHubApiServer;
let sm: SecretsManagerTestServer;
const apiEndpoint = 'https://abc123.execute-api.eu-west-1.amazonaws.com';

beforeAll(async () => {
  // The handler runs on the real clock: no write spacing, so a run right after another is not rate-limited (and retried).
  [github, sm] = await Promise.all([
    GitHubApiServer.start({ minWriteIntervalMs: 0 }),
    SecretsManagerTestServer.start(),
  ]);
  github.addToken('ghp_domain_switch', { repos: ['acme/app'] });
  sm.put('relay/hook', 'hook-secret-of-the-domain-switch');
  sm.put('relay/github-token', 'ghp_domain_switch');
  useSecretsManager(sm);
  const dir = mkdtempSync(join(tmpdir(), 'sync-domain-'));
  process.env.RELAY_CONFIG = join(dir, 'relay.config.yaml');
  writeFileSync(
    process.env.RELAY_CONFIG,
    `clusters:\n  c: { kubeconfig: relay/kubeconfig }\nreceivers:\n  github: { provider: github, secret: relay/hook }\n` +
      `sync:\n  allowHttpLoopback: true\n  registrations:\n    gh: { provider: github, apiUrl: '${github.url}', host: github.com, token: relay/github-token, receiver: github, discover: false, repositories: [acme/app] }\n`,
  );
});

afterAll(async () => {
  delete process.env.RELAY_FORMER_PUBLIC_URLS;
  await Promise.all([github.close(), sm.close()]);
});

/** A cold start of the scheduled function with the given environment, and one run. */
async function scheduledRun(env: { RELAY_PUBLIC_URL: string; RELAY_FORMER_PUBLIC_URLS?: string }): Promise<SyncReport> {
  process.env.RELAY_PUBLIC_URL = env.RELAY_PUBLIC_URL;
  if (env.RELAY_FORMER_PUBLIC_URLS === undefined) delete process.env.RELAY_FORMER_PUBLIC_URLS;
  else process.env.RELAY_FORMER_PUBLIC_URLS = env.RELAY_FORMER_PUBLIC_URLS;
  let handler: ((event: ScheduledEvent, context: Context) => Promise<SyncReport>) | undefined;
  jest.isolateModules(() => {
    handler = (require('../../functions/sync') as { handler: typeof handler }).handler;
  });
  const context = { getRemainingTimeInMillis: () => 300_000 } as unknown as Context; // only this member is used
  const { result, lines } = await captureOutput(() => handler!({} as ScheduledEvent, context));
  expect(lines.join('\n')).not.toContain('hook-secret-of-the-domain-switch');
  return result;
}

test('deployed without a domain, then with one: the same hook moves to the domain, with its secret', async () => {
  const before = await scheduledRun({ RELAY_PUBLIC_URL: apiEndpoint });
  expect(before.registrations[0]).toMatchObject({ actions: { create: 1 }, failures: [] });
  const [hook] = github.hooks({ kind: 'repository', path: 'acme/app' });
  expect(hook!.config.url).toMatch(/^https:\/\/abc123\.execute-api\.eu-west-1\.amazonaws\.com\/hooks\/github\?/);

  const after = await scheduledRun({
    RELAY_PUBLIC_URL: 'https://hooks.example.com',
    RELAY_FORMER_PUBLIC_URLS: apiEndpoint,
  });
  expect(after.registrations[0]).toMatchObject({
    actions: { update: 1, create: 0, delete: 0, foreign: 0 },
    writes: 1,
    failures: [],
  });
  const hooks = github.hooks({ kind: 'repository', path: 'acme/app' });
  expect(hooks.map((h) => h.id)).toEqual([hook!.id]);
  expect(hooks[0]!.config.url).toMatch(/^https:\/\/hooks\.example\.com\/hooks\/github\?relay-secret-version=/);
  expect(github.hookSecret({ kind: 'repository', path: 'acme/app' }, hook!.id)).toBe(
    'hook-secret-of-the-domain-switch',
  );
});

test('a former URL that is not https stops the run before any provider call', async () => {
  const writes = github.writeCount;
  await expect(
    scheduledRun({
      RELAY_PUBLIC_URL: 'https://hooks.example.com',
      RELAY_FORMER_PUBLIC_URLS: 'http://abc123.execute-api.eu-west-1.amazonaws.com',
    }),
  ).rejects.toThrow(/former public URL http:\/\/abc123/);
  expect(github.writeCount).toBe(writes);
});
