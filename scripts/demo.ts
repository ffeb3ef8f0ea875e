/**
 * Looks into the demo cluster that `npm start` runs when no kubeconfig is at hand (dev/demo-cluster.ts), the way
 * kubectl would look into a real one:
 *
 *   npm run demo -- get gitrepositories     # each GitRepository with its reconcile.fluxcd.io/requestedAt
 *   npm run demo -- get events              # the WebhookReceived Events the relay recorded
 *
 * With a real cluster, use kubectl: `kubectl get gitrepositories -A -o custom-columns=...` (README).
 */
import { existsSync, readFileSync } from 'node:fs';
import { CoreV1Api, CustomObjectsApi, KubeConfig } from '@kubernetes/client-node';
import { demoAdminKubeconfigPath } from '../dev/demo-cluster';

const requestedAt = 'reconcile.fluxcd.io/requestedAt';

interface Listed {
  metadata?: { namespace?: string; name?: string; annotations?: Record<string, string> };
  spec?: { url?: string; ref?: Record<string, string> };
}

function table(rows: string[][]): string {
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => (r[i] ?? '').length)));
  return rows
    .map((r) =>
      r
        .map((cell, i) => cell.padEnd(widths[i]!))
        .join('   ')
        .trimEnd(),
    )
    .join('\n');
}

function usage(problem?: string): never {
  console.error(`${problem ? `demo: ${problem}\n\n` : ''}usage: npm run demo -- get gitrepositories|events`);
  process.exit(2);
}

async function main(): Promise<void> {
  const [verb, what, ...extra] = process.argv.slice(2);
  if (verb !== 'get' || !what || extra.length > 0) usage();
  if (!existsSync(demoAdminKubeconfigPath)) {
    console.error(
      'demo: no demo cluster is running. `npm start` runs one when ~/.kube/config does not exist; with a real cluster, use kubectl.',
    );
    process.exit(1);
  }
  const kc = new KubeConfig();
  kc.loadFromString(readFileSync(demoAdminKubeconfigPath, 'utf8'));
  if (['gitrepositories', 'gitrepository', 'gitrepo', 'gitrepos'].includes(what)) {
    const list = (await kc
      .makeApiClient(CustomObjectsApi)
      .listClusterCustomObject({ group: 'source.toolkit.fluxcd.io', version: 'v1', plural: 'gitrepositories' })) as {
      items: Listed[];
    };
    const rows = list.items.map((o) => {
      const ref = Object.entries(o.spec?.ref ?? {})
        .map(([k, v]) => `${k}=${v}`)
        .join(',');
      return [
        o.metadata?.namespace ?? '',
        o.metadata?.name ?? '',
        o.spec?.url ?? '',
        ref,
        o.metadata?.annotations?.[requestedAt] ?? '<none>',
      ];
    });
    console.log(table([['NAMESPACE', 'NAME', 'URL', 'REF', 'REQUESTED-AT'], ...rows]));
  } else if (['events', 'event', 'ev'].includes(what)) {
    const list = await kc.makeApiClient(CoreV1Api).listEventForAllNamespaces();
    const rows = list.items.map((e) => [
      e.metadata?.namespace ?? '',
      e.reason ?? '',
      `${e.involvedObject.kind}/${e.involvedObject.name}`,
      e.message ?? '',
    ]);
    console.log(
      rows.length === 0
        ? 'No events: send a push first (npm run send -- github push).'
        : table([['NAMESPACE', 'REASON', 'OBJECT', 'MESSAGE'], ...rows]),
    );
  } else {
    usage(`cannot get ${what}`);
  }
}

main().catch((error: unknown) => {
  console.error(`demo: ${(error as Error).message}`);
  process.exit(1);
});
