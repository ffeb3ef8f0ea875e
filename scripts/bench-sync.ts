/**
 * The sync at scale against the loopback GitHub API, which enforces GitHub's documented secondary limits (900 points a
 * minute, 80 writes a minute, 500 an hour) and answers conditional lists with 304:
 *
 *   npm run bench:sync -- [repositories=10000]
 *
 * 1. A first full sync of an estate with no hooks, as the schedule runs it (every 15 minutes, 280 s a run, remembering
 *    between runs as the warm function does): how many runs and hours it takes within the limits.
 * 2. The estate synced: one run listing every repository in full (the run after the last creates), then a run with the
 *    ETags known: calls, 304s, primary budget used, the peak points in any minute, and the run's time on the paced clock
 *    and on the wall.
 *
 * One fake clock drives the clients and the server, so pacing waits cost no real time; the wall times are what this
 * machine spent on the requests and the planning.
 */
import { InMemorySyncMemory } from '../lib/sync/memory';
import type { RegistrationReport } from '../lib/sync/run';
import { startGitHubEstate } from '../tests/support/github-estate';
import { runSyncOnce } from '../tests/support/sync-run';

const repositories = Number(process.argv[2] ?? 10_000);
const scheduleMs = 15 * 60_000;
const MINUTE = 60_000;

async function main(): Promise<void> {
  const started = Date.parse('2026-12-04T00:00:00Z');
  const repos = Array.from({ length: repositories }, (_, i) => `acme/repo-${i}`);
  const { github, config, token, clock, close } = await startGitHubEstate({ repositories: repos, startAt: started });
  try {
    process.env.POWERTOOLS_LOG_LEVEL = 'SILENT';
    const memory = new InMemorySyncMemory();
    let runs = 0;
    const run = async (): Promise<{
      entry: RegistrationReport;
      pacedMs: number;
      wallMs: number;
      primaryUsed: number;
    }> => {
      // On the schedule: a run starts every 15 minutes, or when the last one ended if that took longer.
      clock.set(Math.max(clock.now(), started + runs * scheduleMs));
      runs += 1;
      const from = clock.now();
      const usedBefore = github.rateLimit(token).used;
      const wall = performance.now();
      const report = await runSyncOnce(config, clock, { memory });
      const entry = report.registrations.find((r) => r.registration === 'gh')!;
      if (entry.failures.length > 0) throw new Error(`sync failures: ${JSON.stringify(entry.failures.slice(0, 3))}`);
      // The primary window may have rolled over during the run; a negative difference means it did.
      const usedAfter = github.rateLimit(token).used;
      return {
        entry,
        pacedMs: clock.now() - from,
        wallMs: performance.now() - wall,
        primaryUsed: usedAfter >= usedBefore ? usedAfter - usedBefore : usedAfter,
      };
    };

    const hooked = () => github.hooksCount();
    const firstWall = performance.now();
    while (hooked() < repositories) {
      github.clearRequests();
      const { entry } = await run();
      if (runs % 10 === 0) console.error(`  ... run ${runs}: ${hooked()} of ${repositories} hooks`);
      if (runs > 2000) throw new Error(`no full sync after ${runs} runs (${hooked()} hooks): ${JSON.stringify(entry)}`);
    }
    const firstRuns = runs;
    const firstHours = (clock.now() - started) / 3_600_000;
    const firstWallS = (performance.now() - firstWall) / 1000;
    // Then the estate synced: the lists after the creates come whole (and cost primary budget), later ones are 304s.
    // A run can list only as many repositories as the points-a-minute limit lets through before its deadline (a 304 is
    // a point too), so a large estate is covered over several runs, the least recently checked first.
    const settling: Array<Awaited<ReturnType<typeof run>>> = [];
    for (;;) {
      github.clearRequests();
      const r = await run();
      settling.push(r);
      const steady = r.entry.calls > 0 && r.entry.writes === 0 && r.entry.notModified === r.entry.calls;
      if (steady && settling.length >= 2) break;
      if (settling.length > 50)
        throw new Error(`not settled after ${settling.length} runs: ${JSON.stringify(r.entry)}`);
    }
    const full = settling[0]!;
    const conditional = settling[settling.length - 1]!;
    const perRun = conditional.entry.calls;
    const use = github.secondaryUse(token);
    if (use.refusals > 0) throw new Error(`the sync was refused ${use.refusals} times by a secondary limit`);

    const row = (name: string, fields: Record<string, string | number>) =>
      console.log(
        `  ${name.padEnd(28)} ${Object.entries(fields)
          .map(([k, v]) => `${k} ${v}`)
          .join(', ')}`,
      );
    console.log(
      `\nSync at ${repositories.toLocaleString('en')} GitHub repositories (GitHub's secondary limits enforced):`,
    );
    row('first full sync', {
      runs: firstRuns,
      hours: firstHours.toFixed(1),
      'wall s': firstWallS.toFixed(1),
    });
    row('then until lists are all 304s', { runs: settling.length });
    for (const [name, r] of [
      ['first run after the creates', full],
      ['synced, ETags known', conditional],
    ] as const)
      row(name, {
        calls: r.entry.calls,
        '304s': r.entry.notModified,
        writes: r.entry.writes,
        deferred: r.entry.deferred,
        'primary used': r.primaryUsed,
        'paced min': (r.pacedMs / MINUTE).toFixed(1),
        'wall s': (r.wallMs / 1000).toFixed(1),
      });
    row('coverage when synced', {
      'repositories a run': perRun,
      'each checked every (runs)': Math.ceil(repositories / perRun),
      'every (min)': Math.ceil(repositories / perRun) * (scheduleMs / MINUTE),
    });
    row('whole bench vs limits', {
      'peak points/min': use.peakPointsPerMinute,
      'peak writes/min': use.peakWritesPerMinute,
      'peak writes/h': use.peakWritesPerHour,
      refusals: use.refusals,
    });
  } finally {
    await close();
  }
}

main().catch((error: unknown) => {
  console.error(error);
  process.exitCode = 1;
});
