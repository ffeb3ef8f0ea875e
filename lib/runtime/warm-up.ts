import { inLambda } from './env';
import { withTimeout } from '../time/abort';
import type { RelayDeps } from '../delivery/relay';
import type { SecretRef } from '../secrets/ref';

/**
 * Starts, during a cold start's init phase, the reads the first delivery would otherwise wait for one after the
 * other: every receiver's webhook secret and every cluster's kubeconfig from Secrets Manager, or an EKS cluster's
 * DescribeCluster (and AssumeRole, for another account's) and first token, Google's keys where a gcr receiver checks
 * tokens with them (all in parallel), then one GitRepository
 * list per cluster, which opens the keep-alive TLS connection (the handshake is the slowest part of a
 * first call) and, where the client keeps an index, seeds it. Lambda runs init at full CPU and before the first
 * event is handed over, so this is time the first provider does not wait for.
 *
 * Best effort by design: a failure here is forgotten (failed secret reads are not cached; the delivery that needs
 * the value reads it again and reports what went wrong). Resolves when everything settled, for tests.
 */
export function warmUp(deps: Pick<RelayDeps, 'config' | 'secrets' | 'clusters' | 'idTokens'>): Promise<void> {
  const { config } = deps;
  const secrets = Object.values(config.receivers).map((r) => deps.secrets.current(r.secret));
  // gcr receivers: Google's public keys, which the first delivery's token is checked with.
  const keys = deps.idTokens ? [deps.idTokens.prefetch()] : [];
  const clusters = Object.keys(config.clusters).map((name) =>
    withTimeout(config.limits.clusterTimeoutMs, undefined, async (signal) => {
      const client = await deps.clusters.clientFor(name);
      await client.listGitRepositories(signal);
    }),
  );
  return Promise.allSettled([...secrets, ...keys, ...clusters]).then(() => undefined);
}

/**
 * For local runs (`npm start`; a deploy refuses `env:` and `file:` references): reads each receiver's local secret
 * once at start, as a delivery would, so that one the relay refuses (empty or shorter than 16 bytes) is reported by
 * the secret store's warning before the first delivery gets a 401 for it. Secrets Manager is not called.
 */
export function checkLocalSecrets(deps: Pick<RelayDeps, 'config' | 'secrets'>): Promise<void> {
  const local = Object.values(deps.config.receivers).filter((r) => r.secret.scheme !== 'aws-sm');
  const firstCandidate = async (ref: SecretRef) => {
    for await (const _ of deps.secrets.candidates(ref)) return;
  };
  return Promise.allSettled(local.map((r) => firstCandidate(r.secret))).then(() => undefined);
}

/** Running on Lambda (lib/runtime/env.ts `inLambda`), where the init phase is the time to warm up. */
export const inLambdaInit = inLambda;
