/**
 * `npm run bench`: where a delivery's time goes, measured against loopback servers in one run (no network, no AWS).
 *
 *   floor       HMAC-SHA256 of the payload + one keep-alive HTTPS merge patch with plain node:https (the least a
 *               delivery can cost)
 *   warm        signed GitHub pushes through functions/relay.ts in-process (Secrets Manager and Kubernetes on loopback)
 *   cold start  a fresh `node` requiring dist/relay/index.js and answering one delivery, vs a bare `node -e ''`
 *   routing     matching a push against 10,000 GitRepositories over 10 clusters from the clients' watch-fed
 *               indexes, and what one list of 1,000 GitRepositories costs (a delivery's price without the index)
 *   sync        the second sync run over an already-synced estate of 1,000 GitHub repositories
 *
 * Prints a table, then one line `BENCH {json}` with every figure. Not part of `npm test`.
 */
import { spawn } from 'node:child_process';
import { createHmac } from 'node:crypto';
import { mkdtempSync, statSync, writeFileSync } from 'node:fs';
import https from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import examples from '@octokit/webhooks-examples/api.github.com/index.json';
import type { APIGatewayProxyEventV2 } from 'aws-lambda';
import { parse as parseYaml } from 'yaml';
import { parseConfig } from '../lib/config/load';
import { HttpsCluster } from '../lib/kube/https-cluster';
import { refMatches } from '../lib/matching/git-ref';
import { repoKey } from '../lib/matching/repo-url';
import { createRelayDeps } from '../lib/runtime/relay-deps';
import { runSync, type SyncReport } from '../lib/sync/run';
import { createSyncDeps } from '../lib/sync/runtime';
import { GitHubApiServer } from '../tests/support/github-api-server';
import { KubeApiTestServer } from '../tests/support/kube-api-server';
import {
  apiGatewayEvent,
  gitRepository,
  relayRules,
  relayRulesWithWatch,
  relayUser,
  signGitHub,
  useSecretsManager,
  type Handler,
} from '../tests/support/relay-harness';
import { SecretsManagerTestServer } from '../tests/support/secrets-manager-server';
import { percentile } from './bench-stats';

const root = join(__dirname, '..');

// Iteration counts (sized so the whole bench stays well under two minutes on 2 cores).
const FLOOR_WARMUP = 200;
const FLOOR_ITERATIONS = 2000;
const WARM_WARMUP = 200;
/** Deliveries timed on a fresh handler before any warm row: V8 has not optimised the relay's code yet. */
const FIRST_DELIVERIES = 500;
const WARM_DELIVERIES = 2000;
const INFO_DELIVERIES = 500;
const COLD_RUNS = 10;
const ROUTING_REPOS = 10_000;
const ROUTING_CLUSTERS = 10;
const ROUTING_PUSHES = 2000;
const LIST_REPOS = 1000;
const LIST_RUNS = 5;
const SYNC_REPOS = 1000;
/** Deliveries between two runs of the API server's housekeeping (compaction, Event expiry). */
const HOUSEKEEPING_EVERY = 100;

// ---------------------------------------------------------------------------------------------------------------------
// Helpers

type Example = { name: string; examples: Array<Record<string, unknown>> };
const pushes = (examples as unknown as Example[]).find((e) => e.name === 'push')?.examples ?? [];
const branchPush = pushes.find((p) => p.ref === 'refs/heads/master' && p.deleted === false);
if (!branchPush) throw new Error('no refs/heads/master push in @octokit/webhooks-examples');
const body = JSON.stringify(branchPush);

const webhookSecret = 'bench-webhook-secret-0123456789';
const kubeToken = 'bench-sa-token-0123456789abcdef';
const helloUrl = 'https://github.com/Codertocat/Hello-World';

const round = (n: number, digits = 3) => Number(n.toFixed(digits));

function pushEvent(): APIGatewayProxyEventV2 {
  return apiGatewayEvent({
    receiver: 'github',
    body,
    headers: {
      'Content-Type': 'application/json',
      'X-GitHub-Event': 'push',
      'X-GitHub-Delivery': '72d3162e-cc78-11e3-81ab-4c9367dc0958',
      'X-Hub-Signature-256': signGitHub(webhookSecret, body),
    },
  });
}

/** Runs `node` with args and env; resolves to wall time (ms) and stdout. Async so the loopback servers keep serving. */
function runNode(
  args: string[],
  env: NodeJS.ProcessEnv,
  cwd: string,
): Promise<{ ms: number; stdout: string; stderr: string; code: number | null }> {
  return new Promise((resolve, reject) => {
    const start = performance.now();
    const child = spawn(process.execPath, args, { env, cwd, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('error', reject);
    child.on('close', (code) => resolve({ ms: performance.now() - start, stdout, stderr, code }));
  });
}

function loadHandler(): Handler {
  const path = require.resolve('../functions/relay');
  delete require.cache[path];
  return (require(path) as { handler: Handler }).handler;
}

// ---------------------------------------------------------------------------------------------------------------------
// Benchmarks

async function floor(kube: KubeApiTestServer): Promise<number> {
  const agent = new https.Agent({ keepAlive: true, ca: kube.caPem });
  const url = new URL(`${kube.url}/apis/source.toolkit.fluxcd.io/v1/namespaces/flux-system/gitrepositories/hello`);
  const once = (i: number) =>
    new Promise<void>((resolve, reject) => {
      createHmac('sha256', webhookSecret).update(body).digest('hex');
      const patch = JSON.stringify({ metadata: { annotations: { 'reconcile.fluxcd.io/requestedAt': `floor-${i}` } } });
      const req = https.request(
        url,
        {
          method: 'PATCH',
          agent,
          headers: {
            authorization: `Bearer ${kubeToken}`,
            'content-type': 'application/merge-patch+json',
            'content-length': Buffer.byteLength(patch),
          },
        },
        (res) => {
          res.resume();
          res.on('end', () =>
            res.statusCode === 200 ? resolve() : reject(new Error(`floor patch answered ${res.statusCode}`)),
          );
        },
      );
      req.on('error', reject);
      req.end(patch);
    });
  for (let i = 0; i < FLOOR_WARMUP; i++) await once(i);
  const samples: number[] = [];
  for (let i = 0; i < FLOOR_ITERATIONS; i++) {
    const t = performance.now();
    await once(i);
    samples.push(performance.now() - t);
  }
  agent.destroy();
  return percentile(samples, 50);
}

/**
 * `housekeeping` runs between deliveries, outside the timed part: the in-process API server's compaction and Event
 * expiry, which a real API server does on its own (without it, 2,000 deliveries leave ~4,000 object versions, 2,000
 * Events and a request log in this process's heap, and the garbage collector's pauses bill them to the relay).
 */
async function deliveries(
  handler: Handler,
  warmup: number,
  count: number,
  event: APIGatewayProxyEventV2,
  housekeeping: () => void = () => undefined,
): Promise<number[]> {
  for (let i = 0; i < warmup; i++) {
    const r = await handler(event);
    if (r.statusCode !== 200) throw new Error(`warm-up delivery answered ${r.statusCode}: ${String(r.body)}`);
  }
  housekeeping();
  const samples: number[] = [];
  for (let i = 0; i < count; i++) {
    if (i % HOUSEKEEPING_EVERY === 0) housekeeping();
    const t = performance.now();
    const r = await handler(event);
    samples.push(performance.now() - t);
    if (r.statusCode !== 200) throw new Error(`delivery answered ${r.statusCode}: ${String(r.body)}`);
  }
  return samples;
}

/**
 * Discards stdout while `fn` runs: Powertools writes its log lines and its EMF metric lines there (one EMF line per
 * delivery even at SILENT), so logging and metrics cost their formatting but not the write to the terminal.
 */
async function withStdoutDiscarded<T>(fn: () => Promise<T>): Promise<{ result: T; writes: number }> {
  const write = process.stdout.write;
  let writes = 0;
  process.stdout.write = (() => ++writes > 0) as typeof process.stdout.write;
  try {
    return { result: await fn(), writes };
  } finally {
    process.stdout.write = write;
  }
}

async function coldStart(configPath: string, env: NodeJS.ProcessEnv) {
  const build = await runNode(
    [join(root, 'node_modules/tsx/dist/cli.mjs'), 'scripts/build.mjs'],
    { ...env, RELAY_CONFIG: configPath },
    root,
  );
  if (build.code !== 0) throw new Error(`build failed: ${build.stderr}${build.stdout}`);
  const outdir = join(root, 'dist', 'relay');
  const bundleBytes = statSync(join(outdir, 'index.js')).size;
  const eventPath = join(mkdtempSync(join(tmpdir(), 'relay-bench-')), 'event.json');
  writeFileSync(eventPath, JSON.stringify(pushEvent()));
  // As Lambda does: cwd is the bundle's directory, the configuration shipped beside it (RELAY_CONFIG unset).
  // AWS_LAMBDA_INITIALIZATION_TYPE: what Lambda sets during init, so the relay warms up as it does there.
  const childEnv: NodeJS.ProcessEnv = { ...env, AWS_LAMBDA_INITIALIZATION_TYPE: 'on-demand' };
  delete childEnv.RELAY_CONFIG;
  const script = `require('./index.js').handler(require(${JSON.stringify(eventPath)})).then((r) => process.stdout.write('STATUS ' + r.statusCode + '\\n'), (e) => { console.error(e); process.exit(1); })`;
  const relay: number[] = [];
  const bare: number[] = [];
  const statuses = new Set<string>();
  for (let i = 0; i < COLD_RUNS; i++) {
    const b = await runNode(['-e', ''], childEnv, outdir);
    bare.push(b.ms);
    const r = await runNode(['-e', script], childEnv, outdir);
    const status = /STATUS (\d+)/.exec(r.stdout)?.[1] ?? `exit ${r.code}: ${r.stderr.slice(0, 300)}`;
    statuses.add(status);
    relay.push(r.ms);
  }
  if (statuses.size !== 1 || !statuses.has('200'))
    throw new Error(`cold deliveries answered ${[...statuses].join(', ')}`);
  return { relayMs: percentile(relay, 50), bareMs: percentile(bare, 50), bundleBytes, status: 200 };
}

/**
 * Routing as a delivery does it: each of ROUTING_CLUSTERS clients (HttpsCluster, its watch-fed index warm) is asked
 * for the GitRepositories whose repository key the push names, and those are checked against the pushed ref. The
 * "clusters" are namespaces of one loopback API server, one client restricted to each.
 */
async function routing(
  server: KubeApiTestServer,
): Promise<{ msPerPush: number; matchedPerPush: number; listedPerCluster: number }> {
  const perCluster = ROUTING_REPOS / ROUTING_CLUSTERS;
  for (let c = 0; c < ROUTING_CLUSTERS; c++) {
    for (let i = 0; i < perCluster; i++) {
      // One repository in a hundred is the pushed one (in URL forms Flux users write); refs vary.
      const url =
        i % 100 === 0
          ? [helloUrl, `${helloUrl}.git`, 'ssh://git@github.com/codertocat/hello-world.git'][i % 3]!
          : i % 2 === 0
            ? `https://github.com/org-${c}/repo-${i}`
            : `ssh://git@github.com/org-${c}/repo-${i}.git`;
      const ref: Record<string, string> =
        i % 7 === 0
          ? { tag: `v${i}` }
          : i % 11 === 0
            ? { semver: '^1.0.0' }
            : { branch: i % 3 === 0 ? 'main' : 'master' };
      server.put(gitRepository(`cluster-${c}`, `repo-${i}`, url, ref));
    }
  }
  const signal = new AbortController().signal;
  const clients = Array.from(
    { length: ROUTING_CLUSTERS },
    (_, c) =>
      new HttpsCluster({
        name: `cluster-${c}`,
        kubeconfigYaml: server.kubeconfig(kubeToken),
        namespaces: [`cluster-${c}`],
      }),
  );
  try {
    // Seed every index (one list each) and wait for every watch to be live, as in a warm container.
    const listed = await Promise.all(clients.map((client) => client.listGitRepositories(signal)));
    while (!clients.every((client) => client.gitRepositoryIndexIsFresh()))
      await new Promise((resolve) => setTimeout(resolve, 5));
    const repository = branchPush!.repository as Record<string, unknown>;
    const urls = ['html_url', 'clone_url', 'ssh_url', 'git_url']
      .map((k) => repository[k])
      .filter((u): u is string => typeof u === 'string');
    const refs = [String(branchPush!.ref)];
    const listsBefore = server.requests.filter((r) => r.verb === 'list').length;
    const matchOnce = async () => {
      const keys = new Set(urls.map(repoKey).filter((k): k is string => k !== undefined));
      let n = 0;
      for (const client of clients) {
        for (const repo of await client.gitRepositoriesFor(keys, signal))
          if (refs.some((ref) => refMatches(repo.ref, ref))) n++;
      }
      return n;
    };
    let matched = 0;
    for (let i = 0; i < 20; i++) matched = await matchOnce();
    const t = performance.now();
    for (let i = 0; i < ROUTING_PUSHES; i++) {
      if ((await matchOnce()) !== matched) throw new Error('routing is not deterministic');
    }
    const msPerPush = (performance.now() - t) / ROUTING_PUSHES;
    if (server.requests.filter((r) => r.verb === 'list').length !== listsBefore)
      throw new Error('routing listed: the index was not used');
    return { msPerPush, matchedPerPush: matched, listedPerCluster: listed[0]!.length };
  } finally {
    for (const client of clients) client.destroy();
  }
}

async function listCost(estate: KubeApiTestServer): Promise<number> {
  // index: false, so every call is a real list (what a delivery costs when the index cannot vouch for itself).
  const cluster = new HttpsCluster({ name: 'estate', kubeconfigYaml: estate.kubeconfig(kubeToken), index: false });
  const signal = new AbortController().signal;
  const first = await cluster.listGitRepositories(signal); // warm-up (TLS handshake)
  if (first.length !== LIST_REPOS) throw new Error(`listed ${first.length} GitRepositories, expected ${LIST_REPOS}`);
  const samples: number[] = [];
  for (let i = 0; i < LIST_RUNS; i++) {
    const t = performance.now();
    await cluster.listGitRepositories(signal);
    samples.push(performance.now() - t);
  }
  cluster.destroy();
  return percentile(samples, 50);
}

async function sync(estate: KubeApiTestServer, sm: SecretsManagerTestServer) {
  let clock = Date.parse('2026-11-24T12:00:00Z');
  const now = () => clock;
  const sleep = async (ms: number) => {
    clock += ms;
  };
  const github = await GitHubApiServer.start({ now, minWriteIntervalMs: 0 });
  const ghToken = 'ghp_bench_token_0123456789';
  const repos = Array.from({ length: SYNC_REPOS }, (_, i) => `acme/repo-${i}`);
  github.addToken(ghToken, { repos });
  sm.put('bench/sync-tokens', JSON.stringify({ github: ghToken }));
  sm.put('bench/estate-kubeconfig', estate.kubeconfig(kubeToken));
  const config = parseConfig(
    `
clusters:
  estate: { kubeconfig: bench/estate-kubeconfig }
receivers:
  github: { provider: github, secret: 'bench/github#secret' }
sync:
  publicUrl: https://relay.example
  allowHttpLoopback: true
  registrations:
    gh: { provider: github, apiUrl: '${github.url}', host: github.com, token: 'bench/sync-tokens#github', receiver: github }
`,
    'bench-sync.yaml',
  );
  const run = async (): Promise<{ report: SyncReport; ms: number }> => {
    const relay = createRelayDeps({ config, log: () => undefined });
    const t = performance.now();
    const report = await runSync(
      createSyncDeps({
        config,
        relay,
        deadline: clock + 100_000_000,
        dryRun: false,
        now,
        log: () => undefined,
        http: { now, sleep },
      }),
    );
    const ms = performance.now() - t;
    const failures = report.registrations.flatMap((r) => r.failures);
    if (failures.length > 0) throw new Error(`sync failures: ${JSON.stringify(failures.slice(0, 3))}`);
    return { report, ms };
  };
  const first = await run();
  const second = await run();
  await github.close();
  const gh = (r: SyncReport) => r.registrations.find((x) => x.registration === 'gh');
  const g1 = gh(first.report);
  const g2 = gh(second.report);
  if (!g1 || !g2 || g1.actions.create !== SYNC_REPOS)
    throw new Error(`first sync run did not create ${SYNC_REPOS} hooks: ${JSON.stringify(g1)}`);
  return {
    repositories: g2.targets,
    firstRun: { calls: g1.calls, writes: g1.writes, ms: Math.round(first.ms) },
    secondRun: { calls: g2.calls, writes: g2.writes, unchanged: g2.actions.unchanged, ms: Math.round(second.ms) },
  };
}

// ---------------------------------------------------------------------------------------------------------------------

async function main(): Promise<void> {
  const started = performance.now();
  const [kube, estate, routingServer, sm] = await Promise.all([
    KubeApiTestServer.start(),
    KubeApiTestServer.start(),
    KubeApiTestServer.start(),
    SecretsManagerTestServer.start(),
  ]);
  try {
    // What infra/kubernetes grants, watch included: warm deliveries are answered from the GitRepository index.
    kube.addServiceAccount(kubeToken, relayUser, relayRulesWithWatch);
    estate.addServiceAccount(kubeToken, relayUser, relayRules);
    routingServer.addServiceAccount(kubeToken, relayUser, relayRulesWithWatch);
    kube.put(gitRepository('flux-system', 'hello', helloUrl, { branch: 'master' }));
    for (let i = 0; i < LIST_REPOS; i++) {
      estate.put(
        gitRepository(
          `ns-${i % 20}`,
          `repo-${i}`,
          i % 2 === 0 ? `https://github.com/acme/repo-${i}` : `ssh://git@github.com/acme/repo-${i}.git`,
          { branch: 'main' },
        ),
      );
    }
    sm.put('bench/github', JSON.stringify({ secret: webhookSecret }));
    // As `npm run kubeconfig` stores it: JSON (lib/kube/scoped-kubeconfig.ts), which needs no YAML parser at a cold start.
    sm.put('bench/kubeconfig', JSON.stringify(parseYaml(kube.kubeconfig(kubeToken))));
    useSecretsManager(sm);
    process.env.POWERTOOLS_LOG_LEVEL = 'SILENT';

    const relayConfig = `
clusters:
  bench:
    kubeconfig: aws-sm:bench/kubeconfig
receivers:
  github:
    provider: github
    secret: aws-sm:bench/github#secret
`;
    const configPath = join(mkdtempSync(join(tmpdir(), 'relay-bench-config-')), 'relay.config.yaml');
    writeFileSync(configPath, relayConfig);
    process.env.RELAY_CONFIG = configPath;

    const log = (s: string) => process.stderr.write(`bench: ${s}\n`);
    log('floor');
    const floorP50 = await floor(kube);

    log('warm deliveries (POWERTOOLS_LOG_LEVEL=SILENT)');
    const event = pushEvent();
    // Calls are counted by the server's request log, which housekeeping empties: keep a running total.
    let kubeCalls = 0;
    const housekeeping = () => {
      kubeCalls += kube.requests.length;
      kube.housekeeping();
    };
    kube.housekeeping();
    log(`first ${FIRST_DELIVERIES} deliveries of a fresh container (SILENT)`);
    const { result: first } = await withStdoutDiscarded(() =>
      deliveries(loadHandler(), 0, FIRST_DELIVERIES, event, () => kube.housekeeping()),
    );
    kube.housekeeping();
    const smBefore = sm.calls.length;
    const { result: silent, writes: silentWrites } = await withStdoutDiscarded(() =>
      deliveries(loadHandler(), WARM_WARMUP, WARM_DELIVERIES, event, housekeeping),
    );
    housekeeping();
    const perDelivery = (n: number) => round(n / (WARM_WARMUP + WARM_DELIVERIES), 2);
    const kubeCallsPerDelivery = perDelivery(kubeCalls);
    const smCallsPerDelivery = perDelivery(sm.calls.length - smBefore);
    const silentLinesPerDelivery = perDelivery(silentWrites);
    log('warm deliveries (INFO, stdout discarded)');
    process.env.POWERTOOLS_LOG_LEVEL = 'INFO';
    const { result: info, writes: infoWrites } = await withStdoutDiscarded(() =>
      deliveries(loadHandler(), WARM_WARMUP, INFO_DELIVERIES, event, () => kube.housekeeping()),
    );
    process.env.POWERTOOLS_LOG_LEVEL = 'SILENT';

    log('warm deliveries, recordEvents: false (SILENT)');
    const quietPath = join(mkdtempSync(join(tmpdir(), 'relay-bench-config-')), 'relay.config.yaml');
    writeFileSync(quietPath, `${relayConfig}recordEvents: false\n`);
    process.env.RELAY_CONFIG = quietPath;
    const { result: noEvents } = await withStdoutDiscarded(() =>
      deliveries(loadHandler(), WARM_WARMUP, WARM_DELIVERIES, event, () => kube.housekeeping()),
    );
    process.env.RELAY_CONFIG = configPath;

    log('cold start (build, then fresh node processes)');
    const cold = await coldStart(configPath, { ...process.env });

    log('routing');
    const routed = await routing(routingServer);
    const listMs = await listCost(estate);

    log('sync (1,000 repositories, two runs)');
    const syncFigures = await sync(estate, sm);

    const figures = {
      floor: {
        p50Ms: round(floorP50),
        iterations: FLOOR_ITERATIONS,
        what: 'HMAC-SHA256 + 1 keep-alive HTTPS merge patch (node:https)',
      },
      warm: {
        logLevel: 'SILENT',
        deliveries: WARM_DELIVERIES,
        p50Ms: round(percentile(silent, 50)),
        p99Ms: round(percentile(silent, 99)),
        p50OverFloor: round(percentile(silent, 50) / floorP50, 2),
        p99OverFloor: round(percentile(silent, 99) / floorP50, 2),
        kubeCallsPerDelivery,
        secretsManagerCallsPerDelivery: smCallsPerDelivery,
        stdoutLinesPerDelivery: silentLinesPerDelivery,
        firstDeliveries: {
          deliveries: FIRST_DELIVERIES,
          p50Ms: round(percentile(first, 50)),
          p99Ms: round(percentile(first, 99)),
          note: 'a fresh handler in a process whose V8 has not optimised the relay yet (the warm rows follow it)',
        },
        withoutEvents: {
          deliveries: WARM_DELIVERIES,
          p50Ms: round(percentile(noEvents, 50)),
          p99Ms: round(percentile(noEvents, 99)),
          p50OverFloor: round(percentile(noEvents, 50) / floorP50, 2),
          p99OverFloor: round(percentile(noEvents, 99) / floorP50, 2),
          note: 'recordEvents: false (one PATCH per delivery, as the floor)',
        },
        info: {
          deliveries: INFO_DELIVERIES,
          p50Ms: round(percentile(info, 50)),
          p99Ms: round(percentile(info, 99)),
          stdoutLinesPerDelivery: round(infoWrites / (WARM_WARMUP + INFO_DELIVERIES), 2),
          note: 'INFO, stdout writes discarded',
        },
      },
      coldStart: {
        runs: COLD_RUNS,
        relayMedianMs: round(cold.relayMs, 1),
        bareNodeMedianMs: round(cold.bareMs, 1),
        ratio: round(cold.relayMs / cold.bareMs, 2),
        bundleBytes: cold.bundleBytes,
        status: cold.status,
      },
      routing: {
        repositories: ROUTING_REPOS,
        clusters: ROUTING_CLUSTERS,
        fromIndexMsPerPush: round(routed.msPerPush, 4),
        matchedPerPush: routed.matchedPerPush,
        listOf1000Ms: round(listMs, 2),
      },
      sync: syncFigures,
      totalMs: 0,
    };
    figures.totalMs = Math.round(performance.now() - started);

    const rows: Array<[string, string]> = [
      ['floor: HMAC + 1 keep-alive HTTPS patch, p50', `${figures.floor.p50Ms} ms (${FLOOR_ITERATIONS} iterations)`],
      [
        `first ${FIRST_DELIVERIES} deliveries p50 / p99 (V8 not yet optimised)`,
        `${figures.warm.firstDeliveries.p50Ms} / ${figures.warm.firstDeliveries.p99Ms} ms`,
      ],
      [
        `warm delivery p50 / p99 (${WARM_DELIVERIES}, log SILENT)`,
        `${figures.warm.p50Ms} / ${figures.warm.p99Ms} ms = ${figures.warm.p50OverFloor}x / ${figures.warm.p99OverFloor}x floor`,
      ],
      [
        '  calls per warm delivery: Kubernetes / Secrets Manager',
        `${kubeCallsPerDelivery} / ${smCallsPerDelivery} (PATCH + Event, in parallel)`,
      ],
      [
        `warm delivery p50 / p99, recordEvents: false`,
        `${figures.warm.withoutEvents.p50Ms} / ${figures.warm.withoutEvents.p99Ms} ms = ${figures.warm.withoutEvents.p50OverFloor}x / ${figures.warm.withoutEvents.p99OverFloor}x floor`,
      ],
      [
        `warm delivery p50 / p99 (${INFO_DELIVERIES}, log INFO*)`,
        `${figures.warm.info.p50Ms} / ${figures.warm.info.p99Ms} ms`,
      ],
      [
        `cold start median (${COLD_RUNS} runs): relay / bare node`,
        `${figures.coldStart.relayMedianMs} / ${figures.coldStart.bareNodeMedianMs} ms = ${figures.coldStart.ratio}x`,
      ],
      ['bundle dist/relay/index.js', `${(cold.bundleBytes / 1024).toFixed(1)} KB (${cold.bundleBytes} bytes)`],
      [
        `routing from the indexes: ${ROUTING_REPOS} repos / ${ROUTING_CLUSTERS} clusters`,
        `${figures.routing.fromIndexMsPerPush} ms per push (${routed.matchedPerPush} matched, 0 lists)`,
      ],
      [`list ${LIST_REPOS} GitRepositories (no index), p50`, `${figures.routing.listOf1000Ms} ms`],
      [
        `sync run 2 over ${syncFigures.repositories} synced repos`,
        `${syncFigures.secondRun.calls} API calls, ${syncFigures.secondRun.writes} writes, ${Math.round(syncFigures.secondRun.ms)} ms`,
      ],
      [
        'sync run 1 (creates the hooks, fake clock)',
        `${syncFigures.firstRun.calls} API calls, ${syncFigures.firstRun.writes} writes, ${Math.round(syncFigures.firstRun.ms)} ms`,
      ],
      ['total bench wall time', `${(figures.totalMs / 1000).toFixed(1)} s`],
    ];
    const width = Math.max(...rows.map(([k]) => k.length));
    console.log('\nflux-webhook-relay bench (loopback servers, in one run)');
    for (const [k, v] of rows) console.log(`  ${k.padEnd(width)}  ${v}`);
    console.log(
      '  * production logs at INFO. Warm rows: SILENT sets POWERTOOLS_LOG_LEVEL=SILENT; INFO formats every line. Both',
    );
    console.log(
      `    discard the stdout write (lines per delivery: SILENT ${silentLinesPerDelivery} = EMF metrics, INFO ${figures.warm.info.stdoutLinesPerDelivery}).`,
    );
    console.log(`BENCH ${JSON.stringify(figures)}`);
  } finally {
    await Promise.all([kube.close(), estate.close(), routingServer.close(), sm.close()]);
  }
}

main().catch((error: unknown) => {
  console.error(error);
  process.exitCode = 1;
});
