import { withoutTrailingSlashes } from '../http/trailing-slashes';
import type { RegistrationConfig, RelayConfig } from '../config/schema';
import { describeError } from '../delivery/errors';
import type { ClusterClient } from '../kube/cluster-client';
import { minWebhookSecretBytes, type SecretStore } from '../secrets/store';
import { wantedTargets } from './desired';
import type { HookApi, HookSpec, SyncCredential } from './hook-api';
import { BudgetExhausted } from './http';
import { describeAction, isChange, planTarget, secretVersionParam, type Ownership, type SyncAction } from './plan';

/** What a hook's name/description says where the provider has one. */
export const hookName = 'flux-webhook-relay';

export interface SyncDeps {
  config: RelayConfig;
  /** The relay's public base URL: hooks point at `<publicUrl>/hooks/<receiver>`. */
  publicUrl: string;
  /** Base URLs the relay was public under before: its hooks there are moved to `publicUrl` (plan.ts, Ownership). */
  formerPublicUrls?: readonly string[];
  secrets: Pick<SecretStore, 'current'>;
  clusterClient: (name: string) => Promise<ClusterClient>;
  /** Builds the provider's hook API client for one registration. */
  hookApi: (registration: RegistrationConfig, credential: SyncCredential, deadline: number) => HookApi;
  now: () => number;
  /** Epoch ms by which the run must stop calling providers (the Lambda timeout minus a margin). */
  deadline: number;
  dryRun: boolean;
  log: (level: 'info' | 'warn' | 'error', message: string, fields: Record<string, unknown>) => void;
}

export interface RegistrationReport {
  registration: string;
  provider: string;
  targets: number;
  actions: Record<SyncAction['kind'], number>;
  redelivered: number;
  failures: Array<{ target: string; error: string }>;
  /** Targets not reached before the deadline; the next run does them. */
  deferred: number;
  calls: number;
  writes: number;
}

export interface SyncReport {
  dryRun: boolean;
  registrations: RegistrationReport[];
  /** Every planned action, with its printable line (what `--dry-run` prints). */
  plan: Array<{ registration: string; line: string; change: boolean }>;
}

const noActions = (): Record<SyncAction['kind'], number> => ({
  create: 0,
  update: 0,
  reenable: 0,
  delete: 0,
  unchanged: 0,
  foreign: 0,
});

/**
 * One sync run: for every registration, work out the wanted hooks, read the actual ones target by target, plan, and
 * (unless a dry run) apply. Targets are handled one after another (providers ask for serial writes) until the
 * deadline; whatever is left is reported as deferred and done by the next run. Idempotent: a second run over a synced
 * estate plans and writes nothing.
 */
export async function runSync(deps: SyncDeps): Promise<SyncReport> {
  const report: SyncReport = { dryRun: deps.dryRun, registrations: [], plan: [] };
  const registrations = Object.entries(deps.config.sync?.registrations ?? {});
  const prefixOf = (url: string) => `${withoutTrailingSlashes(url)}/hooks/`;
  const hooksPrefix = prefixOf(deps.publicUrl);
  const ownership: Ownership = {
    hooksPrefix,
    formerHooksPrefixes: (deps.formerPublicUrls ?? []).map(prefixOf),
    receivers: new Set(Object.keys(deps.config.receivers)),
  };

  for (const [name, registration] of registrations) {
    const entry: RegistrationReport = {
      registration: name,
      provider: registration.provider,
      targets: 0,
      actions: noActions(),
      redelivered: 0,
      failures: [],
      deferred: 0,
      calls: 0,
      writes: 0,
    };
    report.registrations.push(entry);
    try {
      await syncRegistration(name, registration, deps, ownership, entry, report);
    } catch (error) {
      entry.failures.push({ target: '*', error: describeError(error) });
    }
  }
  return report;
}

async function syncRegistration(
  name: string,
  registration: RegistrationConfig,
  deps: SyncDeps,
  ownership: Ownership,
  entry: RegistrationReport,
  report: SyncReport,
): Promise<void> {
  const receiver = deps.config.receivers[registration.receiver]!;
  const credential = await credentialOf(registration, deps.secrets);
  const webhookSecret = await deps.secrets.current(receiver.secret);
  // The relay refuses such a secret (lib/secrets/store.ts): a hook registered with it could never be verified.
  if (Buffer.byteLength(webhookSecret.value, 'utf8') < minWebhookSecretBytes) {
    throw new Error(
      `webhook secret ${receiver.secret.text} is shorter than ${minWebhookSecretBytes} bytes, which the relay refuses; no hook is registered with it`,
    );
  }
  const api = deps.hookApi(registration, credential, deps.deadline);
  // A provider's cap on the secret (Bitbucket Cloud: 128 characters) would fail every create and update, every run.
  const secretLength = [...webhookSecret.value].length;
  if (api.maxSecretLength !== undefined && secretLength > api.maxSecretLength) {
    throw new Error(
      `webhook secret ${receiver.secret.text} is ${secretLength} characters; ${api.provider} takes at most ${api.maxSecretLength}, so no hook is registered with it`,
    );
  }
  const marker = webhookSecret.versionId ? `?${secretVersionParam}=${encodeURIComponent(webhookSecret.versionId)}` : '';
  const spec: HookSpec = {
    url: `${ownership.hooksPrefix}${encodeURIComponent(registration.receiver)}${marker}`,
    events: api.relayEvents,
    secret: webhookSecret.value,
    name: hookName,
  };

  const clusterNames = receiver.clusters ?? Object.keys(deps.config.clusters);
  const clusters = clusterNames.map((cluster) => ({
    name: cluster,
    config: deps.config.clusters[cluster]!,
    client: () => deps.clusterClient(cluster),
  }));
  const discovery = await wantedTargets(
    registration,
    api,
    clusters,
    AbortSignal.timeout(Math.max(1, deps.deadline - deps.now())),
  );
  for (const failure of discovery.failures)
    entry.failures.push({ target: `cluster ${failure.cluster}`, error: failure.error });
  entry.targets = discovery.targets.length;

  const redeliverSince = deps.now() - (deps.config.sync?.redeliverMinutes ?? 0) * 60_000;
  for (const [index, { target }] of discovery.targets.entries()) {
    try {
      const actual = await api.listHooks(target);
      const actions = planTarget(target, spec, actual, ownership, {
        events: api.relayEvents,
        ...(api.contentType ? { contentType: api.contentType } : {}),
      });
      for (const action of actions) {
        entry.actions[action.kind] += 1;
        const line = describeAction(registration.provider, action);
        report.plan.push({ registration: name, line, change: isChange(action) });
        if (deps.dryRun) continue;
        await apply(api, action);
        if (isChange(action))
          deps.log('info', 'hook change', {
            registration: name,
            provider: registration.provider,
            target: target.path,
            action: action.kind,
            change: line,
          });
      }
      // GitHub never retries a failed delivery: redo the ones an outage lost, for hooks the provider says just failed.
      const kept = actions.find((a) => a.kind === 'unchanged' || a.kind === 'update');
      const keptHook = kept && 'id' in kept ? actual.find((h) => h.id === kept.id) : undefined;
      if (!deps.dryRun && api.redeliverFailed && keptHook?.lastDeliveryFailed && deps.config.sync?.redeliverMinutes) {
        entry.redelivered += await api.redeliverFailed(target, keptHook.id, redeliverSince);
      }
    } catch (error) {
      if (error instanceof BudgetExhausted) {
        entry.deferred = discovery.targets.length - index;
        entry.failures.push({
          target: target.path,
          error: `${error.message}; ${entry.deferred} target(s) left for the next run`,
        });
        break;
      }
      entry.failures.push({ target: target.path, error: describeError(error) });
    }
  }
  entry.calls = api.client.stats.calls;
  entry.writes = api.client.stats.writes;
}

/** The registration's token, or its GitHub App with the private key read (the config holds exactly one). */
async function credentialOf(registration: RegistrationConfig, secrets: SyncDeps['secrets']): Promise<SyncCredential> {
  if (registration.app) {
    const { appId, privateKey, installationId } = registration.app;
    return {
      app: {
        appId,
        privateKey: (await secrets.current(privateKey)).value,
        ...(installationId !== undefined ? { installationId } : {}),
        keySource: `app.privateKey (secret ${privateKey.text})`,
      },
    };
  }
  if (!registration.token) throw new Error('the registration has neither token nor app');
  return { token: (await secrets.current(registration.token)).value };
}

async function apply(api: HookApi, action: SyncAction): Promise<void> {
  switch (action.kind) {
    case 'create':
      return api.createHook(action.target, action.spec);
    case 'update':
      return api.updateHook(action.target, action.id, action.spec);
    case 'delete':
      return api.deleteHook(action.target, action.id);
    case 'reenable':
      if (!api.reenableHook) throw new Error(`${api.provider} cannot re-enable a hook through its API`);
      return api.reenableHook(action.target, action.id);
    case 'unchanged':
    case 'foreign':
      return;
  }
}
