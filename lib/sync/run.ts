import { withoutTrailingSlashes } from '../http/trailing-slashes';
import type { RegistrationConfig, RelayConfig } from '../config/schema';
import { describeError } from '../delivery/errors';
import type { ClusterClient } from '../kube/cluster-client';
import { minWebhookSecretBytes, type SecretStore } from '../secrets/store';
import { wantedTargets } from './desired';
import { apiUrlOf } from './desired';
import type { HookApi, HookList, HookSpec, HookTarget, SyncCredential } from './hook-api';
import { ApiError, BudgetExhausted, Deferred, WritesDeferred } from './http';
import { decidePrune, targetOfKey, type PruneMode } from './prune';
import {
  budgetKey,
  compactHooks,
  fairOrder,
  InMemorySyncMemory,
  ownershipScope,
  targetKey,
  type SyncMemory,
  type TargetMemory,
} from './memory';
import { githubLimits, RateBudget, type PacingLimits } from './pacing';
import {
  describeAction,
  isChange,
  planTarget,
  secretVersionParam,
  underRelayPrefix,
  type Ownership,
  type SyncAction,
} from './plan';

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
  /** Builds the provider's hook API client for one registration, on the run's rate budget for its API and credential. */
  hookApi: (
    registration: RegistrationConfig,
    credential: SyncCredential,
    deadline: number,
    extra?: { budget?: RateBudget },
  ) => HookApi;
  /**
   * What runs remember: when each target was checked (fair order across runs), its hook list's ETag, and the rate
   * budgets' state. Default: a memory of this run only.
   */
  memory?: SyncMemory;
  /** Overrides `sync.prune` for this run (`npm run sync -- --prune=false|true|force`). */
  prune?: PruneMode;
  /**
   * Removes every relay hook the sync manages or would manage (what to run before deleting the stack), and forgets
   * them; with `dryRun`, only reports. Nothing is created or repaired.
   */
  uninstall?: boolean;
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
  /** Targets not reached before the deadline, or left by the rate budget; the next run does them first. */
  deferred: number;
  /** Why targets were deferred by the budget (a planned stop, not a failure). */
  deferredReason?: string;
  calls: number;
  writes: number;
  /** Lists the provider answered 304 Not Modified (GitHub: free against the primary budget). */
  notModified: number;
  /** The primary budget as the provider last reported it (GitHub `X-RateLimit-*`). */
  rateLimit?: { limit: number; remaining: number; reset: string };
  /** Why managed targets that left the desired set were not counted toward pruning this run (lib/sync/prune.ts). */
  pruneHeld?: string;
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

  const memory = deps.memory ?? new InMemorySyncMemory();
  const budgets = new Map<string, RateBudget>();
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
      notModified: 0,
    };
    report.registrations.push(entry);
    try {
      await syncRegistration(name, registration, { ...deps, memory, budgets }, ownership, entry, report);
    } catch (error) {
      entry.failures.push({ target: '*', error: describeError(error) });
    }
  }
  // What the budgets spent, for the next run (a cold one too). A dry run leaves the record as it was: it changes nothing.
  for (const [key, budget] of deps.dryRun ? [] : budgets) {
    try {
      await memory.savePacing(key, budget.snapshot(deps.now()));
    } catch (error) {
      deps.log('warn', 'sync memory not saved', { budget: key.split(' ')[0], error: describeError(error) });
    }
  }
  return report;
}

/** The limits a provider's budget paces (GitHub's secondary limits); undefined where none are documented as such. */
function limitsOf(provider: RegistrationConfig['provider']): PacingLimits | undefined {
  return provider === 'github' ? githubLimits : undefined;
}

async function syncRegistration(
  name: string,
  registration: RegistrationConfig,
  deps: SyncDeps & { memory: SyncMemory; budgets: Map<string, RateBudget> },
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
  // One budget per API and credential for the whole run, taking in what earlier runs spent. A GitHub App's
  // installations share one: conservative, since each installation has a primary limit of its own.
  const limits = limitsOf(registration.provider);
  const key = budgetKey(
    apiUrlOf(registration),
    'token' in credential ? credential.token : `app:${credential.app.appId}`,
  );
  let budget = limits ? deps.budgets.get(key) : undefined;
  if (limits && !budget) {
    budget = new RateBudget(limits);
    budget.restore(await deps.memory.pacing(key));
    deps.budgets.set(key, budget);
  }
  const api = deps.hookApi(registration, credential, deps.deadline, budget ? { budget } : {});
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

  // Read before any call: an unreadable memory fails the registration here, before anything is changed.
  const remembered = await deps.memory.targets(name);
  const learnt = new Map<string, TargetMemory>();
  const prefixes = [ownership.hooksPrefix, ...(ownership.formerHooksPrefixes ?? [])];
  const scope = ownershipScope(prefixes);
  const ctx: RunContext = { api, prefixes, deps, name, registration, entry, report };

  if (deps.uninstall) {
    const keys = new Set([...discovery.targets.map(({ target }) => targetKey(target)), ...remembered.keys()]);
    await removeEverywhere(ctx, [...keys], () => 'uninstall');
    finishReport(api, entry, budget);
    return;
  }
  // The targets not checked longest first: a run the budget stops leaves the recently checked ones for later.
  const ordered = fairOrder(discovery.targets, ({ target }) => remembered.get(targetKey(target))?.checkedAt);

  const redeliverSince = deps.now() - (deps.config.sync?.redeliverMinutes ?? 0) * 60_000;
  for (const [index, { target }] of ordered.entries()) {
    const before = remembered.get(targetKey(target));
    try {
      await api.client.admitTarget();
      const list = await listHooks(api, target, before, scope);
      const actual = list.hooks;
      const actions = planTarget(target, spec, actual, ownership, {
        events: api.relayEvents,
        ...(api.contentType ? { contentType: api.contentType } : {}),
      });
      const changes = actions.some(isChange);
      // Plans only when its writes fit: a target whose writes must wait is left whole for the next run.
      if (changes && !deps.dryRun) api.client.admitWrites();
      for (const action of actions) await carryOut(ctx, action);
      // GitHub never retries a failed delivery: redo the ones an outage lost, for hooks the provider says just failed.
      const kept = actions.find((a) => a.kind === 'unchanged' || a.kind === 'update');
      const keptHook = kept && 'id' in kept ? actual.find((h) => h.id === kept.id) : undefined;
      if (!deps.dryRun && api.redeliverFailed && keptHook?.lastDeliveryFailed && deps.config.sync?.redeliverMinutes) {
        entry.redelivered += await api.redeliverFailed(target, keptHook.id, redeliverSince);
      }
      if (!deps.dryRun)
        learnt.set(targetKey(target), remember(deps.now(), list, before, changes, prefixes, scope, actions));
    } catch (error) {
      if (recordFailure(error, entry, target, ordered.length - index) === 'stop') break;
    }
  }

  // Targets that left the desired set: counted, and their relay hook removed once absent long enough.
  const desiredKeys = new Set(discovery.targets.map(({ target }) => targetKey(target)));
  const decision = decidePrune(remembered, desiredKeys, {
    mode: deps.prune ?? (deps.config.sync?.prune === false ? 'off' : 'on'),
    afterRuns: deps.config.sync?.pruneAfterRuns ?? 2,
    ...(discovery.failures.length > 0
      ? { discoveryFailed: `cluster ${discovery.failures.map((f) => f.cluster).join(', ')}` }
      : {}),
  });
  if (decision.held) entry.pruneHeld = decision.held;
  for (const absent of decision.absent)
    if (!absent.remove && !deps.dryRun)
      learnt.set(absent.key, { ...remembered.get(absent.key), absentRuns: absent.absentRuns });
  const removable = decision.absent.filter((a) => a.remove);
  const runs = new Map(removable.map((a) => [a.key, a.absentRuns]));
  await removeEverywhere(
    ctx,
    removable.map((a) => a.key),
    (key) => `not in the desired set for ${runs.get(key)} run(s)`,
  );
  // A target back in the desired set starts its count afresh, even when this run did not reach it.
  for (const key of desiredKeys) {
    const before = remembered.get(key);
    if (before?.absentRuns && !learnt.has(key) && !deps.dryRun) learnt.set(key, { ...before, absentRuns: 0 });
  }

  finishReport(api, entry, budget);
  if (learnt.size > 0) await deps.memory.saveTargets(name, learnt);
}

function finishReport(api: HookApi, entry: RegistrationReport, budget: RateBudget | undefined): void {
  entry.calls = api.client.stats.calls;
  entry.writes = api.client.stats.writes;
  entry.notModified = api.client.notModified;
  const primary = budget?.primary;
  if (primary)
    entry.rateLimit = {
      limit: primary.limit,
      remaining: primary.remaining,
      reset: new Date(primary.reset).toISOString(),
    };
}

/**
 * Books a target's failure on the report, and says whether the registration must stop here: the budget or the
 * deadline left `remaining` targets (this one included) for the next run. Only a target's writes waiting on the budget
 * skips just that target; a planned deferral is not a failure, running out of time is.
 */
function recordFailure(
  error: unknown,
  entry: RegistrationReport,
  target: HookTarget,
  remaining: number,
): 'next' | 'stop' {
  if (error instanceof WritesDeferred) {
    entry.deferred += 1;
    entry.deferredReason = error.message;
    return 'next';
  }
  if (error instanceof Deferred) {
    entry.deferred += remaining;
    entry.deferredReason = error.message;
    return 'stop';
  }
  if (error instanceof BudgetExhausted) {
    entry.deferred += remaining;
    entry.failures.push({
      target: target.path,
      error: `${error.message}; ${entry.deferred} target(s) left for the next run`,
    });
    return 'stop';
  }
  entry.failures.push({ target: target.path, error: describeError(error) });
  return 'next';
}

/** One action of a plan: counted, printed as a plan line, and (unless a dry run) applied and logged if a change. */
async function carryOut(ctx: RunContext, action: SyncAction): Promise<void> {
  const { deps, registration } = ctx;
  ctx.entry.actions[action.kind] += 1;
  const line = describeAction(registration.provider, action);
  ctx.report.plan.push({ registration: ctx.name, line, change: isChange(action) });
  if (deps.dryRun) return;
  await apply(ctx.api, action);
  if (isChange(action))
    deps.log('info', 'hook change', {
      registration: ctx.name,
      provider: registration.provider,
      target: action.target.path,
      action: action.kind,
      change: line,
    });
}

/** What a registration's run shares with the functions that carry out its plan and its removals. */
interface RunContext {
  api: HookApi;
  prefixes: readonly string[];
  deps: SyncDeps & { memory: SyncMemory };
  name: string;
  registration: RegistrationConfig;
  entry: RegistrationReport;
  report: SyncReport;
}

/**
 * Removes the relay's hooks (under the current or a former public URL) from each target and forgets the targets whose
 * hooks are gone. A target the provider no longer has (404) is forgotten: nothing of ours can be left there. A failure
 * keeps the target remembered, to be tried again; the budget running out leaves the rest for the next run.
 */
async function removeEverywhere(ctx: RunContext, keys: readonly string[], reason: (key: string) => string) {
  const { api, deps, entry } = ctx;
  const forget: string[] = [];
  for (const [index, key] of keys.entries()) {
    const target = targetOfKey(key);
    try {
      await api.client.admitTarget();
      const ours = (await api.listHooks(target)).filter((h) => underRelayPrefix(h.url, ctx.prefixes));
      if (ours.length > 0 && !deps.dryRun) api.client.admitWrites();
      for (const hook of ours) await carryOut(ctx, { kind: 'delete', target, id: hook.id, reason: reason(key) });
      forget.push(key);
    } catch (error) {
      if (error instanceof ApiError && error.status === 404) forget.push(key);
      else if (recordFailure(error, entry, target, keys.length - index) === 'stop') break;
    }
  }
  if (forget.length > 0 && !deps.dryRun) await deps.memory.forgetTargets(ctx.name, forget);
}

/** The target's hooks: conditionally (with the remembered ETag) where the provider can, else a plain list. */
async function listHooks(
  api: HookApi,
  target: HookTarget,
  before: TargetMemory | undefined,
  scope: string,
): Promise<HookList> {
  if (!api.listHooksConditional) return { hooks: await api.listHooks(target), notModified: false };
  const cached =
    before?.etag && before.hooks && before.scope === scope ? { etag: before.etag, hooks: before.hooks } : undefined;
  return api.listHooksConditional(target, cached);
}

/**
 * What to keep of a target checked to the end: when, and its list's ETag with the hooks it stands for, unless the run
 * changed the list (the ETag is then stale: the next run lists in full and keeps the new one).
 */
function remember(
  now: number,
  list: HookList,
  before: TargetMemory | undefined,
  changed: boolean,
  prefixes: readonly string[],
  scope: string,
  actions: readonly SyncAction[],
): TargetMemory {
  const checkedAt = new Date(now).toISOString();
  // After this run's actions the relay's hook is there: made, repaired or found (adopted on first sight).
  const ours = actions.find((a) => a.kind === 'unchanged' || a.kind === 'update' || a.kind === 'reenable');
  const managed = ours !== undefined || actions.some((a) => a.kind === 'create');
  const ownership: Pick<TargetMemory, 'managed' | 'hookId'> = {
    ...(managed ? { managed } : {}),
    ...(ours && 'id' in ours ? { hookId: ours.id } : {}),
  };
  const etag = list.etag ?? (list.notModified ? before?.etag : undefined);
  if (changed || !etag) return { checkedAt, ...ownership };
  return { checkedAt, etag, hooks: compactHooks(list.hooks, prefixes), scope, ...ownership };
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
