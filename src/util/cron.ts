/**
 * One clock for the scheduler's live timer, its catch-up at start, and the read model's "next
 * fire": every answer comes from one predicate, `firesAt`, over instants. An expression is read in
 * its `timezone` (UTC when none is given, as for values), with daylight saving done as cron does:
 *
 * - A wall-clock time that a spring-forward jump skips (02:30 on the day 02:00 becomes 03:00) fires
 *   right after the jump, once, for schedules that fire at most once an hour (daily, hourly).
 * - A wall-clock time that a fall-back repeats (01:30 twice) fires once, the first time, for those
 *   schedules; sub-hourly schedules (several fires an hour, or a seconds field) keep firing through
 *   the repeated hour and skip nothing, as they simply follow elapsed time.
 *
 * Field matching is node-cron's own (`match` on a task in UTC fed with wall-clock components), so
 * the expressions mean what node-cron validates.
 */
import cron from 'node-cron';

export const DEFAULT_TIMEZONE = 'UTC';

interface Matcher {
  readonly seconds: boolean;
  readonly step: number;
  /** Fires more than once per hour: skips nothing and repeats nothing at DST changes. */
  readonly subHourly: boolean;
  /** Whether a wall-clock time (its components as a UTC instant) matches every field. */
  readonly wall: (wallMs: number) => boolean;
  /** Whether the wall-clock day matches (day of month, month, day of week). */
  readonly day: (wallMs: number) => boolean;
  /** Whether the wall-clock hour of a matching day matches. */
  readonly hour: (wallMs: number) => boolean;
}

const HOUR = 3_600_000;
const DAY = 86_400_000;
const matchers = new Map<string, Matcher>();

function utcMatcher(fields: readonly string[]): (ms: number) => boolean {
  const task = cron.createTask(fields.join(' '), () => undefined, { timezone: 'UTC' });
  void task.destroy();
  return (ms) => task.match(new Date(ms));
}

function matcherFor(expression: string): Matcher {
  const cached = matchers.get(expression);
  if (cached) return cached;
  const f = expression.trim().split(/\s+/);
  const seconds = f.length === 6;
  const [sec, min, hr, ...rest] = seconds ? f : ['0', ...f];
  const wall = utcMatcher([sec!, min!, hr!, ...rest]);
  const day = utcMatcher(['*', '*', '*', ...rest]);
  const hour = utcMatcher(['*', '*', hr!, ...rest]);
  // Fires within one hour: minute and second fields only (the hour and day fields set to any).
  const inHour = utcMatcher([sec!, min!, '*', '*', '*', '*']);
  const step = seconds ? 1000 : 60_000;
  let count = 0;
  for (let t = 0; t < HOUR && count < 2; t += step) if (inHour(t)) count++;
  const m: Matcher = { seconds, step, subHourly: count > 1, wall, day, hour };
  matchers.set(expression, m);
  return m;
}

const formatters = new Map<string, Intl.DateTimeFormat>();

const QUARTER = 900_000;
const offsets = new Map<string, number>();

/**
 * The zone's offset from UTC at instant `t`, in ms (wall = t + offset). Zones change offset only at
 * whole quarter hours, so one answer per quarter hour is kept (Intl is the slow part of a scan).
 */
export function zoneOffset(t: number, timezone: string): number {
  const key = `${timezone}@${Math.floor(t / QUARTER)}`;
  let off = offsets.get(key);
  if (off === undefined) {
    off = computeOffset(Math.floor(t / QUARTER) * QUARTER, timezone);
    if (offsets.size > 50_000) offsets.clear();
    offsets.set(key, off);
  }
  return off;
}

function computeOffset(t: number, timezone: string): number {
  let fmt = formatters.get(timezone);
  if (!fmt) {
    fmt = new Intl.DateTimeFormat('en-US', { timeZone: timezone, hourCycle: 'h23', year: 'numeric', month: 'numeric', day: 'numeric', hour: 'numeric', minute: 'numeric', second: 'numeric' });
    formatters.set(timezone, fmt);
  }
  const p: Record<string, number> = {};
  for (const part of fmt.formatToParts(new Date(t))) if (part.type !== 'literal') p[part.type] = Number(part.value);
  const wall = Date.UTC(p.year!, p.month! - 1, p.day!, p.hour!, p.minute!, p.second!);
  return wall - Math.floor(t / 1000) * 1000;
}

/** Whether `expression` fires at instant `t` (aligned to its step) in `timezone`, DST rules included. */
export function firesAt(expression: string, timezone: string | undefined, t: number): boolean {
  const tz = timezone ?? DEFAULT_TIMEZONE;
  const m = matcherFor(expression);
  const off = zoneOffset(t, tz);
  const wall = t + off;
  if (m.wall(wall)) return m.subHourly || !repeated(t, off, tz);
  if (m.subHourly) return false;
  // Right after a spring-forward jump: fire if a skipped wall-clock time would have.
  const before = zoneOffset(t - m.step, tz);
  if (before >= off) return false;
  for (let w = t - m.step + before + m.step; w < wall; w += m.step) if (m.wall(w)) return true;
  return false;
}

/** Whether the wall-clock time at `t` already happened earlier (the second pass of a fall-back). */
function repeated(t: number, off: number, tz: string): boolean {
  const earlier = zoneOffset(t - 3 * HOUR, tz);
  if (earlier <= off) return false;
  const twin = t - (earlier - off);
  return zoneOffset(twin, tz) === earlier;
}

/** How far ahead of `t` the next instant worth checking is: skips wall days and hours that cannot match. */
function skip(m: Matcher, t: number, tz: string): number {
  const off = zoneOffset(t, tz);
  const wall = t + off;
  let d: number;
  if (!m.day(wall)) d = DAY - (((wall % DAY) + DAY) % DAY);
  else if (!m.hour(wall)) d = HOUR - (((wall % HOUR) + HOUR) % HOUR);
  else return m.step;
  // The offset may change on the way (DST): land no later than the wall-clock boundary aimed at.
  const landed = zoneOffset(t + d, tz);
  if (landed !== off) d = Math.min(d, d - (landed - off));
  return Math.max(m.step, d);
}

/** Fire times in (from, to], in order, at most `limit`. */
export function fireTimes(expression: string, timezone: string | undefined, from: Date, to: Date, limit = Infinity): Date[] {
  const tz = timezone ?? DEFAULT_TIMEZONE;
  const m = matcherFor(expression);
  const out: Date[] = [];
  let t = Math.floor(from.getTime() / m.step) * m.step + m.step;
  while (t <= to.getTime() && out.length < limit) {
    if (firesAt(expression, tz, t)) {
      out.push(new Date(t));
      t += m.step;
      continue;
    }
    // A skip must not jump over the instant right after a spring-forward: land on wall-hour boundaries.
    t += Math.max(m.step, skip(m, t, tz));
    t = Math.floor(t / m.step) * m.step;
  }
  return out;
}

/** Next fire time after `from` (default now), within ten years, or null. */
export function nextFire(expression: string, timezone?: string, from: Date = new Date()): Date | null {
  return fireTimes(expression, timezone, from, new Date(from.getTime() + 10 * 366 * DAY), 1)[0] ?? null;
}

/** The latest fire time of `expression` in (after, now], scanning at most `maxSpanMs` back (one day for a seconds field). */
export function lastMissedFire(expression: string, timezone: string | undefined, after: Date, now: Date, maxSpanMs = 31 * DAY): Date | undefined {
  const m = matcherFor(expression);
  const floor = Math.max(after.getTime(), now.getTime() - (m.seconds ? DAY : maxSpanMs) - 1);
  // Scanned in windows back from the end, growing (a minute, an hour, then six), so that a recent
  // fire is found without scanning the whole span.
  let size = 60 * m.step;
  for (let end = now.getTime(); end > floor; end -= size, size = Math.min(6 * HOUR, size * 60)) {
    const start = Math.max(floor, end - size);
    const fires = fireTimes(expression, timezone, new Date(start), new Date(end));
    if (fires.length > 0) return fires[fires.length - 1];
  }
  return undefined;
}
