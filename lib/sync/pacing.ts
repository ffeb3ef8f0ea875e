/**
 * Rate limits as a budget the sync spends, not a wall it runs into: a provider's documented limits (GitHub's secondary
 * limits) paced on the client, and its primary budget (`X-RateLimit-*`) kept above a reserve. One `RateBudget` per API
 * and token, shared by every client of a run that uses that token, and carried to the next run through its snapshot.
 *
 * Hand-written sliding windows rather than a limiter library: the sync needs three windows at once (points per minute,
 * writes per minute, writes per hour), an injected clock (tests and the bench move a fake clock instead of waiting),
 * and an answer to "when may this go?" so it can defer instead of sleeping past the deadline. docs/decisions.md says
 * why not bottleneck or limiter.
 */
/** One provider's documented request limits, as the client paces them. */
export interface PacingLimits {
  /** Points any window of `pointsWindowMs` may hold (GitHub: 900 a minute). */
  pointsPerWindow: number;
  pointsWindowMs: number;
  /** Points of a read (GET, HEAD, OPTIONS) and of a write (POST, PATCH, PUT, DELETE). */
  readPoints: number;
  writePoints: number;
  /** Writes per minute and per hour (GitHub's "content-generating requests": 80 and 500). */
  writesPerMinute: number;
  writesPerHour: number;
  /**
   * Added to every window: a request counts on our clock when it leaves and on the provider's when it arrives, so a
   * window a little longer than the provider's keeps their count within the limit when latency varies.
   */
  marginMs: number;
  /** Share of the primary limit a run leaves unspent, for the token's other users and the next runs. */
  primaryReserve: number;
}

/**
 * GitHub's secondary limits for the REST API, as documented at
 * https://docs.github.com/en/rest/using-the-rest-api/rate-limits-for-the-rest-api#about-secondary-rate-limits :
 * no more than 900 points per minute (GET, HEAD, OPTIONS 1 point; POST, PATCH, PUT, DELETE 5), no more than 80
 * content-generating requests per minute and 500 per hour. Every write of the sync (create, update, delete, redelivery)
 * is counted as content-generating: the documentation does not list which are.
 */
export const githubLimits: PacingLimits = {
  pointsPerWindow: 900,
  pointsWindowMs: 60_000,
  readPoints: 1,
  writePoints: 5,
  writesPerMinute: 80,
  writesPerHour: 500,
  marginMs: 1000,
  primaryReserve: 0.1,
};

/** What the provider last said of its primary budget (`X-RateLimit-Limit/Remaining/Used/Reset`). */
export interface PrimaryBudget {
  limit: number;
  remaining: number;
  used: number;
  /** Epoch ms when the window resets. */
  reset: number;
}

/** A budget's state, small enough to keep between runs (a cold Lambda still knows what the last run spent). */
export interface PacingSnapshot {
  /** `[epoch ms, points]` of the requests in the last points window. */
  points: Array<[number, number]>;
  /** Epoch ms of the writes in the last hour. */
  writes: number[];
  primary?: PrimaryBudget;
}

const HOUR_MS = 3_600_000;
const MINUTE_MS = 60_000;
const writeMethods = new Set(['POST', 'PUT', 'PATCH', 'DELETE']);

export function isWrite(method: string): boolean {
  return writeMethods.has(method.toUpperCase());
}

export class RateBudget {
  private points: Array<[number, number]> = [];
  private writes: number[] = [];
  private primaryState: PrimaryBudget | undefined;
  /** The most points any window held, as the client counted them (what the bench reports). */
  peakPoints = 0;

  constructor(readonly limits: PacingLimits) {}

  get primary(): PrimaryBudget | undefined {
    return this.primaryState;
  }

  /** Epoch ms at or after `now` when a request of this method may go without passing any window. */
  earliest(method: string, now: number): number {
    this.prune(now);
    const write = isWrite(method);
    const cost = write ? this.limits.writePoints : this.limits.readPoints;
    let at = now;
    at = Math.max(at, whenRoomFor(this.points, this.limits.pointsPerWindow - cost, this.window(), now));
    if (write) {
      const perWrite: Array<[number, number]> = this.writes.map((t) => [t, 1]);
      at = Math.max(at, whenRoomFor(perWrite, this.limits.writesPerMinute - 1, MINUTE_MS + this.limits.marginMs, now));
      at = Math.max(at, whenRoomFor(perWrite, this.limits.writesPerHour - 1, HOUR_MS + this.limits.marginMs, now));
    }
    return at;
  }

  /** Counts a request sent at `at`. */
  record(method: string, at: number): void {
    const write = isWrite(method);
    this.points.push([at, write ? this.limits.writePoints : this.limits.readPoints]);
    if (write) this.writes.push(at);
    this.prune(at);
    const inWindow = this.points.reduce((sum, [t, p]) => (t > at - this.limits.pointsWindowMs ? sum + p : sum), 0);
    this.peakPoints = Math.max(this.peakPoints, inWindow);
  }

  /** Notes what a response's `X-RateLimit-*` headers say (GitHub sends them on every authenticated answer, 304s too). */
  notePrimary(headers: Headers): void {
    const number = (name: string) => {
      const value = headers.get(name);
      return value !== null && value.trim() !== '' && Number.isFinite(Number(value)) ? Number(value) : undefined;
    };
    const limit = number('x-ratelimit-limit');
    const remaining = number('x-ratelimit-remaining');
    const reset = number('x-ratelimit-reset');
    if (limit === undefined || remaining === undefined || reset === undefined) return;
    this.primaryState = {
      limit,
      remaining,
      used: number('x-ratelimit-used') ?? limit - remaining,
      reset: reset * 1000,
    };
  }

  /**
   * When a new target may start as far as the primary budget goes: now, or its reset when it is down to the reserve.
   * Now when nothing is known yet (the first answer tells).
   */
  primaryAllows(now: number): number {
    const p = this.primaryState;
    if (!p || now >= p.reset) return now;
    const reserve = Math.ceil(p.limit * this.limits.primaryReserve);
    return p.remaining > reserve ? now : p.reset;
  }

  /** When a new target may start: the primary budget above its reserve, and room in the windows for its list. */
  nextTargetAt(now: number): number {
    return Math.max(this.primaryAllows(now), this.earliest('GET', now));
  }

  snapshot(now: number): PacingSnapshot {
    this.prune(now);
    return {
      points: this.points.map(([t, p]) => [t, p]),
      writes: [...this.writes],
      ...(this.primaryState ? { primary: { ...this.primaryState } } : {}),
    };
  }

  /** Takes in a snapshot from an earlier run (kept out of the current window counts only by time). */
  restore(snapshot: PacingSnapshot | undefined): void {
    if (!snapshot) return;
    this.points = [...this.points, ...snapshot.points.map(([t, p]): [number, number] => [t, p])].sort(
      (a, b) => a[0] - b[0],
    );
    this.writes = [...this.writes, ...snapshot.writes].sort((a, b) => a - b);
    if (snapshot.primary && (!this.primaryState || snapshot.primary.reset > this.primaryState.reset))
      this.primaryState = { ...snapshot.primary };
  }

  private window(): number {
    return this.limits.pointsWindowMs + this.limits.marginMs;
  }

  private prune(now: number): void {
    const pointsFrom = now - this.window();
    while (this.points.length > 0 && this.points[0]![0] <= pointsFrom) this.points.shift();
    const writesFrom = now - HOUR_MS - this.limits.marginMs;
    while (this.writes.length > 0 && this.writes[0]! <= writesFrom) this.writes.shift();
  }
}

/**
 * The earliest time ≥ now at which the events (sorted by time) still inside a window of `windowMs` weigh at most
 * `room`: events leave the window `windowMs` after they happened.
 */
function whenRoomFor(events: ReadonlyArray<[number, number]>, room: number, windowMs: number, now: number): number {
  if (room < 0) return Number.POSITIVE_INFINITY;
  let inWindow = 0;
  for (const [t, w] of events) if (t > now - windowMs) inWindow += w;
  if (inWindow <= room) return now;
  for (const [t, w] of events) {
    if (t <= now - windowMs) continue;
    inWindow -= w;
    if (inWindow <= room) return t + windowMs;
  }
  return now;
}
