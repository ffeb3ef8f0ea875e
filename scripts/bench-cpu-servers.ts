/**
 * The loopback Kubernetes API and Secrets Manager servers of `bench:cpu`, in a process of their own, so that the
 * relay's CPU time is measured without theirs. Prints one line `SERVERS {json}` (where they listen, the CA, the
 * token) and runs until its stdin closes.
 */
import { parse as parseYaml } from 'yaml';
import { KubeApiTestServer } from '../tests/support/kube-api-server';
import { gitRepository, relayRulesWithWatch, relayUser } from '../tests/support/relay-harness';
import { SecretsManagerTestServer } from '../tests/support/secrets-manager-server';

async function main(): Promise<void> {
  const secret = process.argv[2] ?? '';
  const token = process.argv[3] ?? '';
  const [kube, sm] = await Promise.all([KubeApiTestServer.start(), SecretsManagerTestServer.start()]);
  kube.addServiceAccount(token, relayUser, relayRulesWithWatch);
  kube.put(gitRepository('flux-system', 'hello', 'https://github.com/Codertocat/Hello-World', { branch: 'master' }));
  sm.put('cpu/github', JSON.stringify({ secret }));
  sm.put('cpu/kubeconfig', JSON.stringify(parseYaml(kube.kubeconfig(token))));
  // What a real API server does on its own (compaction, Event expiry); here it costs this process, not the relay's.
  setInterval(() => kube.housekeeping(), 500).unref();
  process.stdout.write(
    `SERVERS ${JSON.stringify({ kubeUrl: kube.url, caPem: kube.caPem, smEndpoint: sm.endpoint, smRegion: sm.region })}\n`,
  );
  process.stdin.resume();
  process.stdin.on('end', () => {
    const verbs = new Map<string, number>();
    for (const r of kube.requests) verbs.set(r.verb ?? r.path, (verbs.get(r.verb ?? r.path) ?? 0) + 1);
    process.stderr.write(
      `bench:cpu servers: requests since the last housekeeping ${JSON.stringify([...verbs])}, Secrets Manager calls ${sm.calls.length}\n`,
    );
    void Promise.all([kube.close(), sm.close()]).then(() => process.exit(0));
  });
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
