/**
 * `npm start`: builds the relay with relay.local.yaml and serves it with serverless-offline on
 * http://localhost:3000/hooks/<receiver>. With a kubeconfig at ~/.kube/config (what relay.local.yaml reads) the relay
 * patches that cluster, as a deployed relay would; without one it starts the demo cluster (dev/demo-cluster.ts) and
 * serves against it, so a first run shows a patch with no cluster at hand. Arguments after `--` go to
 * `osls offline start` (e.g. `npm start -- --httpPort 3100 --lambdaPort 3102`).
 */
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join, relative } from 'node:path';
import { parse, stringify } from 'yaml';
import { demoDir, demoKubeconfigPath, startDemoCluster, type DemoCluster } from '../dev/demo-cluster';

const root = join(__dirname, '..');
const localConfig = 'relay.local.yaml';

/** relay.local.yaml with its clusters replaced by the demo cluster, written beside the demo kubeconfig. */
function writeDemoConfig(): string {
  const config = parse(readFileSync(join(root, localConfig), 'utf8')) as Record<string, unknown>;
  config.clusters = { demo: { kubeconfig: `file:${relative(root, demoKubeconfigPath)}` } };
  const path = join(demoDir, 'relay.local.yaml');
  writeFileSync(
    path,
    `# Written by npm start for the demo cluster: ${localConfig} with clusters replaced.\n${stringify(config)}`,
  );
  return relative(root, path);
}

function banner(lines: string[]): void {
  const width = Math.max(...lines.map((l) => l.length));
  const rule = '-'.repeat(width + 4);
  console.log([rule, ...lines.map((l) => `| ${l.padEnd(width)} |`), rule].join('\n'));
}

async function main(): Promise<void> {
  const kubeconfig = join(homedir(), '.kube', 'config');
  let demo: DemoCluster | undefined;
  let configPath = localConfig;
  if (existsSync(kubeconfig)) {
    console.log(
      `npm start: the relay patches the cluster of ${kubeconfig} (its current-context), as relay.local.yaml says.`,
    );
  } else {
    demo = await startDemoCluster();
    configPath = writeDemoConfig();
    banner([
      `DEMO CLUSTER: no kubeconfig at ${kubeconfig}, so the relay patches an embedded demo`,
      `Kubernetes API server (${demo.server.url}), not a real cluster. It holds three`,
      'Flux GitRepositories in flux-system: hello-world, diaspora and podinfo.',
      '',
      'In another terminal:',
      '  npm run send -- github push              # patches hello-world',
      '  npm run demo -- get gitrepositories      # shows the requestedAt annotation',
      '',
      `With a kubeconfig at ${kubeconfig}, npm start uses that cluster instead.`,
    ]);
  }

  const env = { ...process.env, RELAY_CONFIG: configPath };
  const build = spawnSync('npm', ['run', 'build'], { cwd: root, env, stdio: 'inherit' });
  if (build.status !== 0) {
    await demo?.close();
    process.exit(build.status ?? 1);
  }
  const offline = spawn(
    join(root, 'node_modules/.bin/osls'),
    ['offline', 'start', '--param', `config=${configPath}`, '--param', 'local=true', ...process.argv.slice(2)],
    {
      cwd: root,
      env,
      stdio: 'inherit',
    },
  );
  const stop = (signal: NodeJS.Signals) => offline.kill(signal);
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
  offline.on('exit', (code, signal) => {
    void (demo?.close() ?? Promise.resolve()).then(() => process.exit(code ?? (signal ? 0 : 1)));
  });
}

main().catch((error: unknown) => {
  console.error(`npm start: ${(error as Error).message}`);
  process.exit(1);
});
