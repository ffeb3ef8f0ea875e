/**
 * `npm run bench:cpu`: the relay's own CPU per warm delivery, with the loopback API server and Secrets Manager in
 * another process (scripts/bench-cpu-servers.ts), beside the floor's: an HMAC-SHA256 of the payload and one
 * keep-alive HTTPS merge patch with plain node:https to the same server. `process.cpuUsage()` (user + system) over
 * the timed deliveries, divided by their number; event-loop utilisation over the same window. Prints a table and one
 * line `BENCH_CPU {json}`.
 */
import { spawn } from 'node:child_process';
import { createHmac } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import https from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import examples from '@octokit/webhooks-examples/api.github.com/index.json';
import { apiGatewayEvent, signGitHub, type Handler } from '../tests/support/relay-harness';
import { percentile } from './bench-stats';

const WARMUP = 500;
const DELIVERIES = 3000;
const secret = 'bench-cpu-webhook-secret-0123456789';
const token = 'bench-cpu-sa-token-0123456789abcdef';
const root = join(__dirname, '..');

type Example = { name: string; examples: Array<Record<string, unknown>> };
const push = (examples as unknown as Example[])
  .find((e) => e.name === 'push')
  ?.examples.find((p) => p.ref === 'refs/heads/master' && p.deleted === false);
if (!push) throw new Error('no refs/heads/master push in @octokit/webhooks-examples');
const body = JSON.stringify(push);
const event = apiGatewayEvent({
  receiver: 'github',
  body,
  headers: {
    'content-type': 'application/json',
    'x-github-event': 'push',
    'x-github-delivery': '72d3162e-cc78-11e3-81ab-4c9367dc0958',
    'x-hub-signature-256': signGitHub(secret, body),
  },
});

interface Window {
  cpuUsPerOp: number;
  elu: number;
  wallP50Ms: number;
}

/** Runs `op` `count` times after `warmup`, measuring this process's CPU and event-loop utilisation over the timed part. */
async function measure(warmup: number, count: number, op: (i: number) => Promise<void>): Promise<Window> {
  for (let i = 0; i < warmup; i++) await op(i);
  const wall: number[] = [];
  const elu0 = performance.eventLoopUtilization();
  const cpu0 = process.cpuUsage();
  for (let i = 0; i < count; i++) {
    const t = performance.now();
    await op(warmup + i);
    wall.push(performance.now() - t);
  }
  const cpu = process.cpuUsage(cpu0);
  const elu = performance.eventLoopUtilization(elu0);
  return {
    cpuUsPerOp: Math.round(((cpu.user + cpu.system) / count) * 10) / 10,
    elu: Math.round(elu.utilization * 100) / 100,
    wallP50Ms: Math.round(percentile(wall, 50) * 100) / 100,
  };
}

async function main(): Promise<void> {
  const servers = spawn(
    process.execPath,
    [join(root, 'node_modules/tsx/dist/cli.mjs'), 'scripts/bench-cpu-servers.ts', secret, token],
    { cwd: root, stdio: ['pipe', 'pipe', 'inherit'] },
  );
  const info = await new Promise<{ kubeUrl: string; caPem: string; smEndpoint: string; smRegion: string }>(
    (resolve, reject) => {
      let out = '';
      servers.stdout.on('data', (d: Buffer) => {
        out += d.toString();
        const line = /SERVERS (\{.*\})\n/.exec(out);
        if (line) resolve(JSON.parse(line[1]!));
      });
      servers.on('exit', (code) => reject(new Error(`the servers exited (${code})`)));
    },
  );
  try {
    Object.assign(process.env, {
      AWS_ENDPOINT_URL_SECRETS_MANAGER: info.smEndpoint,
      AWS_REGION: info.smRegion,
      AWS_ACCESS_KEY_ID: 'AKIDEXAMPLE',
      AWS_SECRET_ACCESS_KEY: 'wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY',
      POWERTOOLS_LOG_LEVEL: 'SILENT',
    });
    const configPath = join(mkdtempSync(join(tmpdir(), 'relay-bench-cpu-')), 'relay.config.yaml');
    writeFileSync(
      configPath,
      'clusters:\n  c: { kubeconfig: aws-sm:cpu/kubeconfig }\nreceivers:\n  github: { provider: github, secret: aws-sm:cpu/github#secret }\n',
    );
    process.env.RELAY_CONFIG = configPath;

    // Floor: what any relay must do per delivery, with the same server and TLS.
    const agent = new https.Agent({ keepAlive: true, ca: info.caPem });
    const url = new URL(
      `${info.kubeUrl}/apis/source.toolkit.fluxcd.io/v1/namespaces/flux-system/gitrepositories/hello`,
    );
    const floor = await measure(WARMUP, DELIVERIES, (i) => {
      createHmac('sha256', secret).update(body).digest('hex');
      const patch = JSON.stringify({ metadata: { annotations: { 'reconcile.fluxcd.io/requestedAt': `floor-${i}` } } });
      return new Promise<void>((resolve, reject) => {
        const req = https.request(url, {
          agent,
          method: 'PATCH',
          headers: {
            authorization: `Bearer ${token}`,
            'content-type': 'application/merge-patch+json',
            'content-length': Buffer.byteLength(patch),
          },
        });
        req.on('response', (res) => {
          res.resume();
          res.on('end', () => (res.statusCode === 200 ? resolve() : reject(new Error(`floor: ${res.statusCode}`))));
        });
        req.on('error', reject);
        req.end(patch);
      });
    });
    agent.destroy();

    // The relay: the real handler, warm (index fed by its watch, secrets cached, connections kept alive).
    const { handler } = (await import('../functions/relay')) as { handler: Handler };
    const write = process.stdout.write;
    process.stdout.write = (() => true) as typeof process.stdout.write; // Powertools' EMF line per delivery
    let relay: Window;
    try {
      relay = await measure(WARMUP, DELIVERIES, async () => {
        const r = await handler(event);
        if (r.statusCode !== 200) throw new Error(`delivery answered ${r.statusCode}`);
      });
    } finally {
      process.stdout.write = write;
    }
    const figures = {
      deliveries: DELIVERIES,
      relay,
      floor,
      cpuRatio: Math.round((relay.cpuUsPerOp / floor.cpuUsPerOp) * 100) / 100,
    };
    process.stdout.write('\nrelay CPU per warm delivery (API server and Secrets Manager in another process)\n');
    process.stdout.write(
      `  relay  ${relay.cpuUsPerOp} µs CPU, event loop ${relay.elu * 100}% busy, wall p50 ${relay.wallP50Ms} ms\n`,
    );
    process.stdout.write(
      `  floor  ${floor.cpuUsPerOp} µs CPU, event loop ${floor.elu * 100}% busy, wall p50 ${floor.wallP50Ms} ms (HMAC + one keep-alive PATCH)\n`,
    );
    process.stdout.write(`  ratio  ${figures.cpuRatio}× the floor's CPU\n`);
    process.stdout.write(`BENCH_CPU ${JSON.stringify(figures)}\n`);
  } finally {
    servers.stdin.end();
  }
}

main().then(
  () => setTimeout(() => process.exit(0), 100),
  (error: unknown) => {
    console.error(error);
    process.exit(1);
  },
);
