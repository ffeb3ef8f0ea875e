/**
 * The herd: N cold containers (separate relay deps: their own secret cache and cluster clients, as separate Lambda
 * instances have) each warming up and answering one push at the same moment, against one cluster of many
 * GitRepositories. Reports what the cluster served (requests, response bytes) and the slowest answer.
 *
 *   npm run bench:herd -- [containers=50] [repositories=10000] [atOnce=5]
 *
 * All containers share this process's one thread, so the slowest answer includes waiting for the others' CPU (on
 * Lambda each has its own); the requests and bytes are what a real API server would serve.
 */
import { spawn, spawnSync } from 'node:child_process';
import { createHmac } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { KubeApiTestServer } from '../tests/support/kube-api-server';
import {
  apiGatewayEvent,
  gitRepository,
  relayRulesWithWatch,
  relayUser,
  useSecretsManager,
} from '../tests/support/relay-harness';
import { SecretsManagerTestServer } from '../tests/support/secrets-manager-server';

const containers = Number(process.argv[2] ?? 50);
const repositories = Number(process.argv[3] ?? 10_000);
const atOnce = Number(process.argv[4] ?? 5);
const secret = 'herd-webhook-secret-0123456789ab';
const token = 'herd-sa-token-0123456789abcdef';
const root = join(__dirname, '..');

/**
 * A GitRepository as a cluster holds it after source-controller has reconciled it: status with an artifact and
 * conditions, and the managedFields server-side apply records (what a list returns, ~3 KB an object).
 */
function realistic(i: number) {
  const obj = gitRepository(`team-${i % 100}`, `repo-${i}`, `https://github.com/acme/repo-${i}`, { branch: 'main' });
  const at = '2026-12-01T10:00:00Z';
  const revision = `main@sha1:${createHmac('sha1', 'x').update(String(i)).digest('hex')}`;
  Object.assign(obj.metadata, {
    labels: { 'kustomize.toolkit.fluxcd.io/name': 'tenants', 'kustomize.toolkit.fluxcd.io/namespace': 'flux-system' },
    managedFields: [
      {
        manager: 'kustomize-controller',
        operation: 'Apply',
        apiVersion: 'source.toolkit.fluxcd.io/v1',
        time: at,
        fieldsType: 'FieldsV1',
        fieldsV1: {
          'f:metadata': {
            'f:labels': { 'f:kustomize.toolkit.fluxcd.io/name': {}, 'f:kustomize.toolkit.fluxcd.io/namespace': {} },
          },
          'f:spec': { 'f:interval': {}, 'f:ref': { 'f:branch': {} }, 'f:url': {}, 'f:secretRef': { 'f:name': {} } },
        },
      },
      {
        manager: 'source-controller',
        operation: 'Update',
        apiVersion: 'source.toolkit.fluxcd.io/v1',
        time: at,
        fieldsType: 'FieldsV1',
        subresource: 'status',
        fieldsV1: {
          'f:status': {
            'f:artifact': {
              '.': {},
              'f:digest': {},
              'f:lastUpdateTime': {},
              'f:path': {},
              'f:revision': {},
              'f:size': {},
              'f:url': {},
            },
            'f:conditions': {},
            'f:observedGeneration': {},
          },
        },
      },
    ],
  });
  Object.assign(obj, {
    status: {
      observedGeneration: 1,
      artifact: {
        digest: `sha256:${createHmac('sha256', 'x').update(String(i)).digest('hex')}`,
        lastUpdateTime: at,
        path: `gitrepository/team-${i % 100}/repo-${i}/${revision.slice(-40)}.tar.gz`,
        revision,
        size: 48_213,
        url: `http://source-controller.flux-system.svc.cluster.local./gitrepository/team-${i % 100}/repo-${i}/${revision.slice(-40)}.tar.gz`,
      },
      conditions: [
        {
          type: 'Ready',
          status: 'True',
          reason: 'Succeeded',
          message: `stored artifact for revision '${revision}'`,
          lastTransitionTime: at,
          observedGeneration: 1,
        },
        {
          type: 'ArtifactInStorage',
          status: 'True',
          reason: 'Succeeded',
          message: `stored artifact for revision '${revision}'`,
          lastTransitionTime: at,
          observedGeneration: 1,
        },
      ],
    },
  });
  return obj;
}

async function main(): Promise<void> {
  const [kube, sm] = await Promise.all([KubeApiTestServer.start(), SecretsManagerTestServer.start()]);
  try {
    kube.addServiceAccount(token, relayUser, relayRulesWithWatch);
    for (let i = 0; i < repositories; i++) kube.put(realistic(i));
    sm.put('herd/github', JSON.stringify({ secret }));
    sm.put('herd/kubeconfig', JSON.stringify(parseYaml(kube.kubeconfig(token))));
    useSecretsManager(sm);
    process.env.POWERTOOLS_LOG_LEVEL = 'WARN';
    const dir = mkdtempSync(join(tmpdir(), 'relay-herd-'));
    const configPath = join(dir, 'relay.config.yaml');
    // The delivery budget at its maximum, so that the figures count what a container asks of the cluster, not where
    // this machine's two cores ran out of time.
    writeFileSync(
      configPath,
      'clusters:\n  c:\n    kubeconfig: aws-sm:herd/kubeconfig\nreceivers:\n  github:\n    provider: github\n' +
        '    secret: aws-sm:herd/github#secret\nlimits:\n  clusterTimeoutMs: 25000\n  deliveryBudgetMs: 25000\n',
    );
    const build = spawnSync(process.execPath, [join(root, 'node_modules/tsx/dist/cli.mjs'), 'scripts/build.mjs'], {
      cwd: root,
      env: { ...process.env, RELAY_CONFIG: configPath },
      encoding: 'utf8',
    });
    if (build.status !== 0) throw new Error(`build failed: ${build.stderr}${build.stdout}`);
    const body = JSON.stringify({
      ref: 'refs/heads/main',
      before: '0'.repeat(40),
      after: '1'.repeat(40),
      deleted: false,
      repository: { clone_url: 'https://github.com/acme/repo-7.git', html_url: 'https://github.com/acme/repo-7' },
    });
    const eventPath = join(dir, 'event.json');
    writeFileSync(
      eventPath,
      JSON.stringify(
        apiGatewayEvent({
          receiver: 'github',
          headers: {
            'content-type': 'application/json',
            'x-github-event': 'push',
            'x-github-delivery': 'herd',
            'x-hub-signature-256': `sha256=${createHmac('sha256', secret).update(body).digest('hex')}`,
          },
          body,
        }),
      ),
    );
    // As Lambda runs a cold container: cwd the bundle's directory, the init phase flagged, the push right after.
    const env: NodeJS.ProcessEnv = { ...process.env, AWS_LAMBDA_INITIALIZATION_TYPE: 'on-demand' };
    delete env.RELAY_CONFIG;
    const script = `const t0 = Date.now(); require('./index.js').handler(require(${JSON.stringify(eventPath)})).then((r) => process.stdout.write('STATUS ' + r.statusCode + ' ' + (Date.now() - t0) + ' ' + (r.statusCode === 200 ? '' : r.body) + '\\n'), (e) => { console.error(e); process.exit(1); })`;
    const cold = () =>
      new Promise<{ status: string; ms: number }>((resolve, reject) => {
        const child = spawn(process.execPath, ['-e', script], { env, cwd: join(root, 'dist', 'relay') });
        let out = '';
        child.stdout.on('data', (d: Buffer) => (out += d.toString()));
        child.stderr.on('data', (d: Buffer) => (out += d.toString()));
        child.on('error', reject);
        child.on('close', () => {
          const m = /STATUS (\d+) (\d+)/.exec(out);
          if (process.env.HERD_DEBUG && !/STATUS 200/.test(out)) process.stderr.write(out.slice(0, 3000));
          resolve(m ? { status: m[1]!, ms: Number(m[2]) } : { status: out.slice(0, 300), ms: Number.NaN });
        });
      });
    kube.clearRequests();
    // Waves of `atOnce` containers started together: this machine's cores cannot run 50 cold inits at once within
    // the relay's Secrets Manager timeout, where Lambda gives each container its own. Containers share nothing, so
    // what the cluster serves is the same in waves as all at once.
    const answers: Array<{ status: string; ms: number }> = [];
    for (let started = 0; started < containers; started += atOnce)
      answers.push(...(await Promise.all(Array.from({ length: Math.min(atOnce, containers - started) }, cold))));
    const byVerb = new Map<string, number>();
    for (const r of kube.requests) byVerb.set(r.verb ?? r.method, (byVerb.get(r.verb ?? r.method) ?? 0) + 1);
    const bytes = kube.requests.reduce((sum, r) => sum + (r.bytesSent ?? 0), 0);
    const figures = {
      containers,
      atOnce,
      repositories,
      statuses: [...new Set(answers.map((a) => a.status))],
      requests: kube.requests.length,
      byVerb: Object.fromEntries(byVerb),
      responseMB: Math.round(bytes / 1e5) / 10,
      perContainerMB: Math.round(bytes / containers / 1e4) / 100,
      slowestMs: Math.max(...answers.map((a) => a.ms)),
    };
    process.stdout.write(`BENCH_HERD ${JSON.stringify(figures)}\n`);
  } finally {
    await Promise.all([kube.close(), sm.close()]);
  }
}

main().then(
  () => process.exit(0),
  (error: unknown) => {
    console.error(error);
    process.exit(1);
  },
);
