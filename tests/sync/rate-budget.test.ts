/**
 * Rate limits as a budget (lib/sync/pacing.ts, lib/sync/memory.ts) against the loopback GitHub API, which enforces
 * GitHub's documented secondary limits per token over sliding windows (900 points a minute, 80 writes a minute, 500
 * an hour: 403 + retry-after, not served) and answers conditional GETs with 304 without counting them against the
 * primary budget. Runs share what they remember (InMemorySyncMemory, as the warm function does), on one fake clock
 * that the clients and the server both read: pacing is waited for by moving it.
 */
import { InMemorySyncMemory, fairOrder } from '../../lib/sync/memory';
import { githubLimits, RateBudget } from '../../lib/sync/pacing';
import type { RegistrationReport, SyncReport } from '../../lib/sync/run';
import { recordFigure } from '../support/figures';
import { startGitHubEstate, type GitHubEstate } from '../support/github-estate';
import { runSyncOnce } from '../support/sync-run';

const MINUTE = 60_000;
const START = Date.parse('2026-12-04T04:00:00Z');

describe('RateBudget: the windows a client paces itself by', () => {
  test('reads: 900 points in any minute (plus the margin), then the next waits for the oldest to leave', () => {
    const budget = new RateBudget(githubLimits);
    for (let i = 0; i < 900; i += 1) {
      expect(budget.earliest('GET', START + i)).toBe(START + i);
      budget.record('GET', START + i);
    }
    expect(budget.earliest('GET', START + 900)).toBe(START + MINUTE + githubLimits.marginMs);
    expect(budget.peakPoints).toBe(900);
  });

  test('writes: 5 points each, 80 a minute and 500 an hour', () => {
    const budget = new RateBudget(githubLimits);
    let at = START;
    let writes = 0;
    // As a client would: each write at the earliest moment the budget allows.
    while (writes < 500) {
      at = budget.earliest('POST', at);
      budget.record('POST', at);
      writes += 1;
    }
    expect(at - START).toBeGreaterThanOrEqual(6 * MINUTE); // 80 a minute: 500 writes need more than six minutes
    const next = budget.earliest('POST', at);
    expect(next).toBeGreaterThanOrEqual(START + 60 * MINUTE); // the 501st waits for the hour
    // Reads are not writes: they need only points.
    expect(budget.earliest('GET', at)).toBeLessThan(next);
  });

  test('a snapshot carries the windows to the next run (a cold start does not burst)', () => {
    const first = new RateBudget(githubLimits);
    for (let i = 0; i < 80; i += 1) first.record('POST', START + i * 100);
    const second = new RateBudget(githubLimits);
    second.restore(JSON.parse(JSON.stringify(first.snapshot(START + 8000))) as ReturnType<RateBudget['snapshot']>);
    expect(second.earliest('POST', START + 8000)).toBeGreaterThanOrEqual(START + MINUTE);
    // What left the windows is not kept.
    expect(new RateBudget(githubLimits).snapshot(START).points).toEqual([]);
    expect(first.snapshot(START + 2 * 60 * MINUTE)).toMatchObject({ points: [], writes: [] });
  });

  test('the primary budget: a new target waits for the reset once remaining is down to the 10% reserve', () => {
    const budget = new RateBudget(githubLimits);
    const headers = (remaining: number) =>
      new Headers({
        'x-ratelimit-limit': '5000',
        'x-ratelimit-remaining': String(remaining),
        'x-ratelimit-reset': String((START + 30 * MINUTE) / 1000),
      });
    budget.notePrimary(headers(501));
    expect(budget.primaryAllows(START)).toBe(START);
    budget.notePrimary(headers(500));
    expect(budget.primaryAllows(START)).toBe(START + 30 * MINUTE);
    expect(budget.primaryAllows(START + 30 * MINUTE)).toBe(START + 30 * MINUTE);
  });

  test('fair order: never checked first, then the longest unchecked; stable otherwise', () => {
    const checked: Record<string, string | undefined> = {
      a: '2026-12-04T03:00:00Z',
      b: undefined,
      c: '2026-12-04T01:00:00Z',
      d: '2026-12-04T03:00:00Z',
      e: undefined,
    };
    expect(fairOrder(Object.keys(checked), (k) => checked[k])).toEqual(['b', 'e', 'c', 'a', 'd']);
  });
});

describe('a GitHub estate synced run after run, inside the limits', () => {
  const repos = Array.from({ length: 600 }, (_, i) => `acme/r${String(i).padStart(4, '0')}`);
  let estate: GitHubEstate;
  const memory = new InMemorySyncMemory();
  const reports: RegistrationReport[] = [];

  beforeAll(async () => {
    estate = await startGitHubEstate({ repositories: repos, startAt: START });
  });
  afterAll(() => estate.close());

  /** One scheduled run (the default schedule is every 15 minutes), remembering what earlier runs learnt. */
  async function scheduledRun(): Promise<RegistrationReport> {
    const report: SyncReport = await runSyncOnce(estate.config, estate.clock, { memory });
    const entry = report.registrations.find((r) => r.registration === 'gh')!;
    reports.push(entry);
    return entry;
  }
  const relayHooks = () =>
    repos.filter((r) =>
      estate.github
        .hooks({ kind: 'repository', path: r })
        .some((h) => h.config.url.startsWith('https://relay.example/')),
    ).length;

  test('the first full sync spreads over runs: no secondary limit is ever hit, and each run defers what does not fit', async () => {
    let runs = 0;
    while (relayHooks() < repos.length && runs < 12) {
      const entry = await scheduledRun();
      runs += 1;
      expect(entry.failures).toEqual([]);
      if (relayHooks() < repos.length) {
        expect(entry.deferred).toBeGreaterThan(0);
        expect(entry.deferredReason).toMatch(/rate limit|write budget|pacing/);
      }
      estate.clock.set(Math.max(estate.clock.now(), START + runs * 15 * MINUTE));
    }
    expect(relayHooks()).toBe(repos.length);
    const use = estate.github.secondaryUse(estate.token);
    expect(use.refusals).toBe(0);
    expect(use.peakPointsPerMinute).toBeLessThanOrEqual(900);
    expect(use.peakWritesPerMinute).toBeLessThanOrEqual(80);
    expect(use.peakWritesPerHour).toBeLessThanOrEqual(500);
    // 600 creates at 500 an hour cannot be one hour's work: the budget made the sync take more than one.
    expect(runs).toBeGreaterThan(4);
    expect(estate.github.violations).toEqual([]);
  });

  test('then one list per repository, and once the ETags are known every list is a 304 that costs no primary budget', async () => {
    await estate.clock.sleep(15 * MINUTE);
    const full = await scheduledRun();
    expect(full.failures).toEqual([]);
    expect(full.actions).toMatchObject({ create: 0, update: 0, delete: 0, unchanged: repos.length });
    expect(full.calls).toBe(repos.length);
    await estate.clock.sleep(15 * MINUTE);
    const before = estate.github.rateLimit(estate.token).used;
    const conditional = await scheduledRun();
    expect(conditional).toMatchObject({ calls: repos.length, notModified: repos.length, writes: 0, deferred: 0 });
    expect(conditional.actions).toMatchObject({ unchanged: repos.length });
    expect(estate.github.rateLimit(estate.token).used - before).toBe(0);
    expect(estate.github.secondaryUse(estate.token).refusals).toBe(0);
  });

  test('a hook changed on GitHub since the last run: its ETag no longer matches, the list comes whole and the drift is repaired', async () => {
    const target = { kind: 'repository' as const, path: repos[7]! };
    const hook = estate.github.hooks(target)[0]!;
    // Someone switches the hook off in GitHub's settings (through the API, as the UI does).
    const off = await fetch(`${estate.github.url}/repos/${target.path}/hooks/${hook.id}`, {
      method: 'PATCH',
      headers: {
        authorization: `Bearer ${estate.token}`,
        accept: 'application/vnd.github+json',
        'content-type': 'application/json',
        'user-agent': 'a-person',
      },
      body: JSON.stringify({ active: false }),
    });
    expect(off.status).toBe(200);
    await estate.clock.sleep(15 * MINUTE);
    const entry = await scheduledRun();
    expect(entry.actions).toMatchObject({ update: 1, unchanged: repos.length - 1 });
    expect(entry.notModified).toBe(repos.length - 1);
    expect(estate.github.hooks(target).find((h) => h.id === hook.id)?.active).toBe(true);
  });
});

describe('10,000 repositories already synced (hooks made before the record: adopted by URL)', () => {
  const repos = Array.from({ length: 10_000 }, (_, i) => `acme/t${String(i).padStart(5, '0')}`);
  let estate: GitHubEstate;
  const memory = new InMemorySyncMemory();

  beforeAll(async () => {
    estate = await startGitHubEstate({
      repositories: repos,
      startAt: Date.parse('2026-12-05T00:00:00Z'),
      synced: true,
    });
  }, 60_000);
  afterAll(() => estate.close());

  test('every run stays inside the limits with at most one call per repository; once every list is known, runs are all 304s at no primary cost', async () => {
    const runs: RegistrationReport[] = [];
    for (let i = 0; i < 12; i += 1) {
      estate.github.clearRequests();
      const before = estate.github.rateLimit(estate.token);
      const report = await runSyncOnce(estate.config, estate.clock, { memory });
      const entry = report.registrations[0]!;
      runs.push(entry);
      expect(entry).toMatchObject({ failures: [], writes: 0, actions: { create: 0, update: 0, delete: 0 } });
      expect(entry.calls).toBeLessThanOrEqual(repos.length);
      // With every list known, nothing counts against the primary budget.
      // (The primary window is an hour: when it rolled over during the run, the new one must be untouched.)
      const after = estate.github.rateLimit(estate.token);
      if (entry.notModified === entry.calls) expect(after.used).toBe(after.reset === before.reset ? before.used : 0);
      await estate.clock.sleep(15 * MINUTE);
    }
    const use = estate.github.secondaryUse(estate.token);
    expect(use).toMatchObject({ refusals: 0 });
    expect(use.peakPointsPerMinute).toBeLessThanOrEqual(900);
    // Every repository was checked (its memory has a time), and the last runs were 304s only.
    const remembered = await memory.targets('gh');
    expect([...remembered.values()].filter((m) => m.checkedAt && m.managed)).toHaveLength(repos.length);
    const last = runs[runs.length - 1]!;
    expect(last.calls).toBeGreaterThan(0);
    expect(last.notModified).toBe(last.calls);
    recordFigure('sync 10,000 repositories', {
      runs: runs.length,
      'calls a run (first, last)': `${runs[0]!.calls}, ${last.calls}`,
      '304s last run': last.notModified,
      'peak points/min': use.peakPointsPerMinute,
      refusals: use.refusals,
    });
  }, 120_000);
});
