import type { HookSpec, HookState, HookTarget } from '../../lib/sync/hook-api';
import { describeAction, isChange, planTarget, type Ownership } from '../../lib/sync/plan';

const target: HookTarget = { kind: 'repository', path: 'org/repo' };
const ownership: Ownership = {
  hooksPrefix: 'https://relay.example/hooks/',
  receivers: new Set(['github', 'github-b']),
};
const expectations = { events: ['push'], contentType: 'json' };
const wanted: HookSpec = {
  url: 'https://relay.example/hooks/github?relay-secret-version=v2',
  events: ['push'],
  secret: 's2',
  name: 'flux-webhook-relay',
};
const hook = (over: Partial<HookState> = {}): HookState => ({
  id: '1',
  url: wanted.url,
  events: ['push'],
  active: true,
  contentType: 'json',
  ...over,
});
const kinds = (actual: HookState[]) =>
  planTarget(target, wanted, actual, ownership, expectations).map((a) =>
    a.kind === 'update'
      ? `update:${a.reasons.join('|')}`
      : a.kind === 'delete'
        ? `delete:${a.id}:${a.reason}`
        : `${a.kind}${'id' in a ? `:${a.id}` : ''}`,
  );

test.each<[string, HookState[], string[]]>([
  ['empty estate: create', [], ['create']],
  ['already synced: nothing to do', [hook()], ['unchanged:1']],
  ['drifted events', [hook({ events: ['push', 'issues'] })], ['update:events issues,push → push']],
  [
    'drifted URL (a trailing slash, same receiver)',
    [hook({ url: 'https://relay.example/hooks/github/?relay-secret-version=v2' })],
    ['update:url'],
  ],
  ['inactive', [hook({ active: false })], ['update:inactive']],
  ['form content type', [hook({ contentType: 'form' })], ['update:content type form → json']],
  [
    'rotated secret: re-key',
    [hook({ url: 'https://relay.example/hooks/github?relay-secret-version=v1' })],
    ['update:secret rotated'],
  ],
  ['no marker yet: re-key', [hook({ url: 'https://relay.example/hooks/github' })], ['update:secret version unknown']],
  ['disabled by the provider: re-enable', [hook({ disabled: true })], ['reenable:1']],
  [
    'drifted and disabled: update, then re-enable',
    [hook({ active: false, disabled: true })],
    ['update:inactive', 'reenable:1'],
  ],
  [
    'a setting the provider reports as breaking deliveries (a branch filter)',
    [hook({ drift: ['branch filter main → *'] })],
    ['update:branch filter main → *'],
  ],
  [
    'several such settings, after the common reasons',
    [hook({ active: false, drift: ['no secret set', 'TLS verification off'] })],
    ['update:inactive|no secret set|TLS verification off'],
  ],
  ['no provider-reported drift is no change', [hook({ drift: [] })], ['unchanged:1']],
  ['a name someone changed', [hook({ name: 'mine now' })], ['update:name mine now → flux-webhook-relay']],
  ['foreign hooks are left alone', [hook({ id: '7', url: 'https://ci.example/hook' })], ['foreign:7', 'create']],
  [
    'foreign hook beside ours',
    [hook({ id: '7', url: 'https://ci.example/hook' }), hook()],
    ['foreign:7', 'unchanged:1'],
  ],
  [
    'duplicates of ours: keep the exact one',
    [hook({ id: '1', url: 'https://relay.example/hooks/github?relay-secret-version=v1' }), hook({ id: '2' })],
    ['delete:1:duplicate relay hook', 'unchanged:2'],
  ],
  [
    'stale hook for a receiver that no longer exists',
    [hook({ id: '9', url: 'https://relay.example/hooks/old-receiver' }), hook()],
    ['delete:9:receiver old-receiver no longer exists', 'unchanged:1'],
  ],
  [
    'hook of another registration is not ours to touch',
    [hook({ id: '5', url: 'https://relay.example/hooks/github-b?relay-secret-version=x' }), hook()],
    ['unchanged:1'],
  ],
  [
    'a hook under /hooks/ with a bad percent-escape is foreign, and ours is still created',
    [hook({ id: '8', url: 'https://relay.example/hooks/%E0%A4%A' })],
    ['foreign:8', 'create'],
  ],
  [
    'a bad percent-escape beside ours: ours is kept',
    [hook({ id: '8', url: 'https://relay.example/hooks/%?relay-secret-version=v2' }), hook()],
    ['foreign:8', 'unchanged:1'],
  ],
  [
    'another relay deployment is foreign',
    [hook({ id: '6', url: 'https://other-relay.example/hooks/github' }), hook()],
    ['foreign:6', 'unchanged:1'],
  ],
])('%s', (_name, actual, expected) => {
  expect(kinds(actual)).toEqual(expected);
});

test('an already synced estate plans no change', () => {
  expect(
    planTarget(
      target,
      wanted,
      [hook(), hook({ id: '7', url: 'https://ci.example/x' })],
      ownership,
      expectations,
    ).filter(isChange),
  ).toEqual([]);
});

test('the printed plan shows a foreign hook by host only (its URL may be a credential)', () => {
  const [foreign] = planTarget(
    target,
    wanted,
    [
      hook({
        id: '7',
        url: 'https://flux.example/hook/605dbd4976c3504a20afec155a68122702621389b3b29f71feb118008a1696a1',
      }),
    ],
    ownership,
    expectations,
  );
  const line = describeAction('github', foreign!);
  expect(line).toBe("foreign  github org/repo: hook 7 → flux.example (not the relay's; left alone)");
  expect(describeAction('github', { kind: 'create', target, spec: wanted })).not.toContain('s2');
});
