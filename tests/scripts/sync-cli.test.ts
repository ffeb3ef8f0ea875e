import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { GitHubApiServer } from '../support/github-api-server';
import { KubeApiTestServer } from '../support/kube-api-server';
import { gitRepository, relayRules, relayUser } from '../support/relay-harness';

const run = promisify(execFile);
let cluster: KubeApiTestServer;
let github: GitHubApiServer;

beforeAll(async () => {
  [cluster, github] = await Promise.all([KubeApiTestServer.start(), GitHubApiServer.start({ minWriteIntervalMs: 0 })]);
  cluster.addServiceAccount('sa', relayUser, relayRules);
  cluster.put(gitRepository('flux-system', 'app', 'https://github.com/acme/app', { branch: 'main' }));
  github.addToken('ghp_cli', { repos: ['acme/app', 'acme/docs'] });
  github.addHook(
    { kind: 'repository', path: 'acme/docs' },
    { url: 'https://ci.example/hook', events: ['push'], contentType: 'json' },
  );
});

afterAll(async () => {
  await Promise.all([cluster.close(), github.close()]);
});

/** A folder with relay.yaml (one GitHub registration listing acme/docs, discovering acme/app) and its file: secrets. */
function configDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'sync-cli-'));
  writeFileSync(join(dir, 'kubeconfig'), cluster.kubeconfig('sa'));
  writeFileSync(join(dir, 'hook-secret'), 'hook-secret-of-the-cli-test');
  writeFileSync(join(dir, 'token'), 'ghp_cli');
  writeFileSync(
    join(dir, 'relay.yaml'),
    `clusters:\n  c: { kubeconfig: 'file:${dir}/kubeconfig' }\nreceivers:\n  github: { provider: github, secret: 'file:${dir}/hook-secret' }\n` +
      `sync:\n  publicUrl: https://relay.example\n  allowHttpLoopback: true\n  registrations:\n    gh: { provider: github, apiUrl: '${github.url}', host: github.com, token: 'file:${dir}/token', receiver: github, repositories: [acme/docs] }\n`,
  );
  return dir;
}

test('npm run sync -- --dry-run prints a readable plan and changes nothing', async () => {
  const dir = configDir();
  const { stdout } = await run(
    process.execPath,
    [require.resolve('tsx/cli'), 'scripts/sync.ts', '--dry-run', '--config', join(dir, 'relay.yaml')],
    { timeout: 60_000 },
  );
  expect(stdout.split('\n').filter(Boolean)).toEqual([
    'gh               create   github acme/app: hook → https://relay.example/hooks/github',
    "gh               foreign  github acme/docs: hook 1000001 → ci.example (not the relay's; left alone)",
    'gh               create   github acme/docs: hook → https://relay.example/hooks/github',
    'gh: 2 target(s): create 2, foreign 1; 2 API calls, 0 writes',
    'dry run: nothing was changed',
  ]);
  expect(github.requests.filter((r) => r.method !== 'GET')).toEqual([]);
});

test('npm run sync keeps its record in --state; --uninstall --dry-run lists the relay hooks, --uninstall removes them', async () => {
  const dir = configDir();
  const state = join(dir, 'state.json');
  const sync = (...args: string[]) =>
    run(
      process.execPath,
      [require.resolve('tsx/cli'), 'scripts/sync.ts', '--config', join(dir, 'relay.yaml'), '--state', state, ...args],
      {
        timeout: 60_000,
      },
    );
  await sync();
  const record = JSON.parse(readFileSync(state, 'utf8')) as {
    registrations: { gh: Record<string, { managed?: boolean }> };
  };
  expect(Object.keys(record.registrations.gh).sort()).toEqual(['acme/app', 'acme/docs']);
  expect(record.registrations.gh['acme/app']?.managed).toBe(true);
  const relayHooks = () =>
    ['acme/app', 'acme/docs'].flatMap((path) =>
      github.hooks({ kind: 'repository', path }).filter((h) => h.config.url.startsWith('https://relay.example/')),
    );
  expect(relayHooks()).toHaveLength(2);

  const dry = await sync('--uninstall', '--dry-run');
  expect(dry.stdout).toMatch(/delete +github acme\/app: hook \d+ \(uninstall\)/);
  expect(dry.stdout).toMatch(/delete +github acme\/docs: hook \d+ \(uninstall\)/);
  expect(relayHooks()).toHaveLength(2);
  await sync('--uninstall');
  expect(relayHooks()).toEqual([]);
  expect(github.hooks({ kind: 'repository', path: 'acme/docs' }).map((h) => h.config.url)).toEqual([
    'https://ci.example/hook',
  ]);
  expect(JSON.parse(readFileSync(state, 'utf8')).registrations.gh).toEqual({});
  await expect(sync('--prune=maybe')).rejects.toMatchObject({
    stderr: expect.stringContaining('--prune must be true, false or force'),
  });
});
