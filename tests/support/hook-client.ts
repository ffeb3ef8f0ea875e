/**
 * What the tests of one provider's hook API client share (tests/sync/*-hooks.test.ts): the client's options on a
 * frozen clock, the run's plan-and-apply for one target, and the error a call rejected with.
 */
import type { HookApi, HookSpec, HookTarget } from '../../lib/sync/hook-api';
import { planTarget, type Ownership, type SyncAction } from '../../lib/sync/plan';

/** A client's options: a clock that never moves (nothing waits), a minute's deadline, `http:` on loopback allowed. */
export function frozenClientOptions(apiUrl: string, token: string) {
  const now = () => 1_700_000_000_000;
  return { apiUrl, token, now, sleep: async () => {}, deadline: now() + 60_000, allowHttpLoopback: true };
}

/** Plans the target from what the server lists and applies the plan, as the run does; returns the plan. */
export async function planAndApply(
  hooks: HookApi,
  target: HookTarget,
  wanted: HookSpec,
  ownership: Ownership,
): Promise<SyncAction[]> {
  const actions = planTarget(target, wanted, await hooks.listHooks(target), ownership, {
    events: hooks.relayEvents,
    ...(hooks.contentType ? { contentType: hooks.contentType } : {}),
  });
  for (const action of actions) {
    if (action.kind === 'create') await hooks.createHook(target, action.spec);
    if (action.kind === 'update') await hooks.updateHook(target, action.id, action.spec);
    if (action.kind === 'delete') await hooks.deleteHook(target, action.id);
  }
  return actions;
}

/** The Error `p` rejected with; fails the test if it resolved or rejected with something else. */
export async function rejection(p: Promise<unknown>): Promise<Error> {
  try {
    await p;
  } catch (err) {
    if (err instanceof Error) return err;
    throw new Error(`rejected with a non-Error: ${String(err)}`, { cause: err });
  }
  throw new Error('expected the promise to reject');
}
