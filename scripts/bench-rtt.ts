/**
 * `npm run bench:rtt [-- --rtt=50]`: deliveries counted in round trips. Two loopback Kubernetes API servers and the
 * Secrets Manager server sit behind delaying TCP proxies (tests/support/delay-proxy.ts: every chunk RTT/2 each way,
 * a new connection's first bytes one more RTT for its handshake), so what a delivery waits for on the network is what
 * the figures show. Reports, for two clusters:
 *
 *   cold   a fresh `node` requiring dist/relay/index.js as Lambda does (AWS_LAMBDA_INITIALIZATION_TYPE set, warm-up
 *          in the init phase) and answering one push at once: RTTs from the end of `require` to the answer, the
 *          require time, and the timeline of what went over the network (per connection, in RTT)
 *   warm   then ≥ 30 pushes through an in-process handler whose connections and index are warm: median and p99 in RTT
 *
 * Prints a table and one line `BENCH_RTT {json}`. The Secrets Manager test server speaks plain HTTP, so its calls
 * here cost one RTT less than Secrets Manager's HTTPS would (no TLS handshake); said again beside the figures.
 */
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { parse as parseYaml } from 'yaml';
import { DelayProxy, type ProxyEvent } from '../tests/support/delay-proxy';
import { KubeApiTestServer } from '../tests/support/kube-api-server';
import {
  apiGatewayEvent,
  gitRepository,
  relayRulesWithWatch,
  relayUser,
  signGitHub,
  useSecretsManager,
  type Handler,
} from '../tests/support/relay-harness';
import { SecretsManagerTestServer } from '../tests/support/secrets-manager-server';
import { percentile } from './bench-stats';

const root = join(__dirname, '..');
const rttArg = process.argv.find((a) => a.startsWith('--rtt='));
const rtt = rttArg ? Number(rttArg.slice('--rtt='.length)) : 50;
if (!(rtt > 0)) throw new Error(`--rtt must be a positive number of milliseconds, not ${rttArg}`);
const WARM_DELIVERIES = 30;
const stdoutWrite = process.stdout.write.bind(process.stdout);
const COLD_RUNS = 3;

const secret = 'bench-rtt-webhook-secret-0123456789';
const token = 'bench-rtt-sa-token-0123456789abcdef';
const url = 'https://github.com/acme/app';
const body = JSON.stringify({
  ref: 'refs/heads/main',
  before: '0'.repeat(40),
  after: '1'.repeat(40),
  deleted: false,
  repository: { clone_url: `${url}.git`, html_url: url },
});
const event = () =>
  apiGatewayEvent({
    receiver: 'github',
    body,
    headers: {
      'content-type': 'application/json',
      'x-github-event': 'push',
      'x-github-delivery': `rtt-${performance.now()}`,
      'x-hub-signature-256': signGitHub(secret, body),
    },
  });

const inRtt = (ms: number) => Math.round((ms / rtt) * 100) / 100;

/** What crossed the proxies from `from` on, per connection: when it opened and when each burst went out, in RTT. */
function timeline(proxies: Record<string, DelayProxy>, from: number): string[] {
  const lines: Array<{ at: number; text: string }> = [];
  for (const [name, proxy] of Object.entries(proxies)) {
    const byConnection = new Map<number, ProxyEvent[]>();
    for (const e of proxy.events.filter((e) => e.at >= from - 1)) {
      const list = byConnection.get(e.connection) ?? [];
      list.push(e);
      byConnection.set(e.connection, list);
    }
    for (const [id, events] of byConnection) {
      // A burst: the chunks of one direction with no gap over RTT/4 (a TLS flight, a request, an answer).
      const bursts: string[] = [];
      let last: ProxyEvent | undefined;
      for (const e of events) {
        if (e.direction === 'accept') bursts.push(`connect@${inRtt(e.at - from)}`);
        else if (!last || last.direction !== e.direction || e.at - last.at > rtt / 4)
          bursts.push(`${e.direction === 'up' ? '→' : '←'}${inRtt(e.at - from)}`);
        last = e.direction === 'accept' ? undefined : e;
      }
      lines.push({ at: events[0]!.at, text: `${name}#${id}: ${bursts.join(' ')}` });
    }
  }
  return lines.sort((a, b) => a.at - b.at).map((l) => l.text);
}

async function main(): Promise<void> {
  const [a, b, sm] = await Promise.all([
    KubeApiTestServer.start(),
    KubeApiTestServer.start(),
    SecretsManagerTestServer.start(),
  ]);
  const smPort = Number(new URL(sm.endpoint).port);
  const [pa, pb, psm] = await Promise.all([
    DelayProxy.start(Number(new URL(a.url).port), rtt),
    DelayProxy.start(Number(new URL(b.url).port), rtt),
    DelayProxy.start(smPort, rtt),
  ]);
  try {
    for (const [server, proxy, name] of [
      [a, pa, 'a'],
      [b, pb, 'b'],
    ] as const) {
      server.addServiceAccount(token, relayUser, relayRulesWithWatch);
      server.put(gitRepository('flux-system', 'app', url, { branch: 'main' }));
      const kubeconfig = parseYaml(server.kubeconfig(token)) as { clusters: Array<{ cluster: { server: string } }> };
      for (const c of kubeconfig.clusters) c.cluster.server = `https://127.0.0.1:${proxy.port}`;
      sm.put(`rtt/kubeconfig-${name}`, JSON.stringify(kubeconfig));
    }
    sm.put('rtt/github', JSON.stringify({ secret }));
    useSecretsManager(sm);
    process.env.AWS_ENDPOINT_URL_SECRETS_MANAGER = `http://127.0.0.1:${psm.port}`;
    process.env.POWERTOOLS_LOG_LEVEL = 'SILENT';
    const dir = mkdtempSync(join(tmpdir(), 'relay-bench-rtt-'));
    const configPath = join(dir, 'relay.config.yaml');
    writeFileSync(
      configPath,
      `clusters:
  a: { kubeconfig: aws-sm:rtt/kubeconfig-a }
  b: { kubeconfig: aws-sm:rtt/kubeconfig-b }
receivers:
  github: { provider: github, secret: aws-sm:rtt/github#secret }
`,
    );
    const build = spawnSync(process.execPath, [join(root, 'node_modules/tsx/dist/cli.mjs'), 'scripts/build.mjs'], {
      cwd: root,
      env: { ...process.env, RELAY_CONFIG: configPath },
      encoding: 'utf8',
    });
    if (build.status !== 0) throw new Error(`build failed: ${build.stderr}${build.stdout}`);
    const log = (s: string) => process.stderr.write(`bench:rtt: ${s}\n`);

    // Cold: as Lambda runs a new container (cwd the bundle's directory, the configuration beside it).
    const eventPath = join(dir, 'event.json');
    writeFileSync(eventPath, JSON.stringify(event()));
    const env: NodeJS.ProcessEnv = { ...process.env, AWS_LAMBDA_INITIALIZATION_TYPE: 'on-demand' };
    delete env.RELAY_CONFIG;
    const script = `const now = () => performance.timeOrigin + performance.now(); const t0 = now();
const m = require('./index.js'); const loaded = now();
m.handler(require(${JSON.stringify(eventPath)})).then((r) => { process.stdout.write('COLD ' + JSON.stringify({ t0, loaded, done: now(), status: r.statusCode }) + '\\n'); process.exit(0); });`;
    const colds: Array<{ t0: number; loaded: number; done: number; status: number; timeline: string[] }> = [];
    for (let i = 0; i < COLD_RUNS; i++) {
      log(`cold start ${i + 1}/${COLD_RUNS} at ${rtt} ms RTT`);
      const out = await new Promise<string>((resolve, reject) => {
        const child = spawn(process.execPath, ['-e', script], { env, cwd: join(root, 'dist', 'relay') });
        let text = '';
        child.stdout.on('data', (d: Buffer) => (text += d.toString()));
        child.stderr.on('data', (d: Buffer) => (text += d.toString()));
        child.on('error', reject);
        child.on('close', () => resolve(text));
      });
      const line = /COLD (\{.*\})/.exec(out);
      if (!line) throw new Error(`cold run failed:\n${out.slice(0, 2000)}`);
      const cold = JSON.parse(line[1]!) as { t0: number; loaded: number; done: number; status: number };
      if (cold.status !== 200) throw new Error(`cold delivery answered ${cold.status}`);
      colds.push({ ...cold, timeline: timeline({ sm: psm, a: pa, b: pb }, cold.loaded) });
    }
    const coldRtts = colds.map((c) => (c.done - c.loaded) / rtt);
    const median = colds[coldRtts.indexOf(percentile(coldRtts, 50))]!;

    // Warm: the in-process handler, its connections and indexes warm (watch live) after a few deliveries.
    log(`warm deliveries at ${rtt} ms RTT`);
    process.env.RELAY_CONFIG = configPath;
    const { handler } = (await import('../functions/relay')) as { handler: Handler };
    process.stdout.write = (() => true) as typeof process.stdout.write;
    for (let i = 0; i < 3; i++) await handler(event());
    process.stdout.write = stdoutWrite;
    await new Promise((resolve) => setTimeout(resolve, 4 * rtt));
    const warm: number[] = [];
    // Powertools writes an EMF metrics line per delivery to stdout even at SILENT: not this bench's output.
    const write = process.stdout.write;
    process.stdout.write = (() => true) as typeof process.stdout.write;
    try {
      for (let i = 0; i < WARM_DELIVERIES; i++) {
        const t = performance.now();
        const r = await handler(event());
        warm.push(performance.now() - t);
        if (r.statusCode !== 200) throw new Error(`warm delivery answered ${r.statusCode}`);
      }
    } finally {
      process.stdout.write = write;
    }

    const figures = {
      rttMs: rtt,
      clusters: 2,
      cold: {
        runs: COLD_RUNS,
        answerAfterLoadRtt: coldRtts.map((r) => Math.round(r * 100) / 100),
        medianAfterLoadRtt: inRtt(median.done - median.loaded),
        requireMs: Math.round(median.loaded - median.t0),
        timeline: median.timeline,
      },
      warm: {
        deliveries: WARM_DELIVERIES,
        medianRtt: inRtt(percentile(warm, 50)),
        p99Rtt: inRtt(percentile(warm, 99)),
      },
    };
    const rows: Array<[string, string]> = [
      [
        `cold: answer after require (median of ${COLD_RUNS})`,
        `${figures.cold.medianAfterLoadRtt} RTT (${figures.cold.answerAfterLoadRtt.join(', ')}); require ${figures.cold.requireMs} ms`,
      ],
      [`warm: ${WARM_DELIVERIES} deliveries`, `median ${figures.warm.medianRtt} RTT, p99 ${figures.warm.p99Rtt} RTT`],
    ];
    process.stdout.write(`\nround trips at ${rtt} ms RTT, two clusters (Secrets Manager over plain HTTP here)\n`);
    for (const [k, v] of rows) process.stdout.write(`  ${k.padEnd(48)} ${v}\n`);
    process.stdout.write(`  cold timeline (RTT after require; → request bytes out, ← answer bytes in):\n`);
    for (const line of median.timeline) process.stdout.write(`    ${line}\n`);
    process.stdout.write(`BENCH_RTT ${JSON.stringify(figures)}\n`);
  } finally {
    await Promise.all([pa.close(), pb.close(), psm.close()]);
    await Promise.all([a.close(), b.close(), sm.close()]);
  }
}

main().then(
  () => process.exit(0),
  (error: unknown) => {
    console.error(error);
    process.exit(1);
  },
);
