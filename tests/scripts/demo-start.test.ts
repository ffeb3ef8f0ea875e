/**
 * The first five minutes of a newcomer with no cluster: `npm start` serves the relay against its demo cluster,
 * `npm run send -- github push` is answered `patched`, and `npm run demo -- get gitrepositories` shows the annotation.
 * The real scripts run in a scratch copy of the repository (they build dist/, which the deploy tests also rewrite), with
 * a HOME that has no ~/.kube/config and ports of their own.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, rmSync, symlinkSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { root, runTool } from '../support/run-tool';

const copied = [
  'functions',
  'lib',
  'dev',
  'scripts',
  'infra',
  'local',
  'serverless.yml',
  'package.json',
  'relay.local.yaml',
  'tsconfig.json',
  '.npmrc',
];

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer().listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
    server.on('error', reject);
  });
}

function waitFor(child: ChildProcess, text: string, output: () => string): Promise<void> {
  return new Promise((resolve, reject) => {
    const check = () => {
      if (output().includes(text)) resolve();
    };
    child.stdout!.on('data', check);
    child.stderr!.on('data', check);
    child.on('exit', (code) => reject(new Error(`npm start exited (${code}) before "${text}":\n${output()}`)));
  });
}

let dir: string;
let home: string;
let start: ChildProcess | undefined;
let startOutput = '';

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'relay-first-run-'));
  for (const entry of copied) cpSync(join(root, entry), join(dir, entry), { recursive: true });
  symlinkSync(join(root, 'node_modules'), join(dir, 'node_modules'), 'dir');
  home = join(dir, 'home');
  mkdirSync(home);
});

afterAll(async () => {
  if (start && start.exitCode === null) {
    start.kill('SIGINT');
    await new Promise((resolve) => start!.once('exit', resolve));
  }
  rmSync(dir, { recursive: true, force: true });
});

test('without a kubeconfig, npm start serves against the demo cluster and a sample push patches it', async () => {
  const [httpPort, lambdaPort] = [await freePort(), await freePort()];
  const env = Object.fromEntries(
    Object.entries(process.env).filter(([k]) => !k.startsWith('AWS_') && k !== 'RELAY_CONFIG'),
  );
  start = spawn(
    join(dir, 'node_modules', '.bin', 'tsx'),
    ['scripts/start.ts', '--httpPort', String(httpPort), '--lambdaPort', String(lambdaPort)],
    {
      cwd: dir,
      env: { ...env, HOME: home, CI: 'true', SLS_TELEMETRY_DISABLED: '1', SLS_NOTIFICATIONS_MODE: 'off' },
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  start.stdout!.setEncoding('utf8').on('data', (c: string) => (startOutput += c));
  start.stderr!.setEncoding('utf8').on('data', (c: string) => (startOutput += c));
  await waitFor(start, 'Server ready', () => startOutput);
  expect(startOutput).toContain('DEMO CLUSTER: no kubeconfig at');
  expect(existsSync(join(dir, '.demo', 'kubeconfig'))).toBe(true);

  const send = await runTool(
    'tsx',
    ['scripts/send.ts', 'github', 'push', '--url', `http://localhost:${httpPort}/hooks/github`],
    { cwd: dir, env: { HOME: home } },
  );
  expect(send.status).toBe(0);
  const answer = JSON.parse(send.output.slice(send.output.indexOf('{'), send.output.lastIndexOf('}') + 1)) as Record<
    string,
    unknown
  >;
  expect(answer).toMatchObject({ outcome: 'patched', patched: ['demo/flux-system/GitRepository/hello-world'] });
  expect(send.output).toContain('embedded DEMO cluster');

  const get = await runTool('tsx', ['scripts/demo.ts', 'get', 'gitrepositories'], { cwd: dir, env: { HOME: home } });
  expect(get.status).toBe(0);
  const rows = Object.fromEntries(
    get.output
      .trim()
      .split('\n')
      .slice(1)
      .map((line) => {
        const cells = line.split(/ {3,}/);
        return [cells[1], cells[4]];
      }),
  );
  expect(rows).toEqual({ 'hello-world': answer.requestedAt, diaspora: '<none>', podinfo: '<none>' });

  start.kill('SIGINT');
  await new Promise((resolve) => start!.once('exit', resolve));
  expect(existsSync(join(dir, '.demo', 'kubeconfig'))).toBe(false);
}, 180_000);
