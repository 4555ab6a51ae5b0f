/**
 * One clock, and daylight saving as cron does it (America/New_York, 2026: 02:00 EST becomes 03:00
 * EDT on March 8; 02:00 EDT becomes 01:00 EST on November 1), checked on the helpers and on the
 * live timer under a fake clock.
 */
import { afterEach, describe, expect, it, vi } from 'vitest';
import { fireTimes, lastMissedFire, nextFire } from '../../src/util/cron.js';
import { startCronTimer } from '../../src/supervisor/cronTimer.js';

const at = (iso: string) => new Date(iso);
const NY = 'America/New_York';
const iso = (ds: Date[]) => ds.map((d) => d.toISOString());

describe('daylight saving, as cron does it', () => {
  it('a daily 02:30 fires right after the spring-forward jump (03:00 EDT), once, then at 02:30 again', () => {
    expect(iso(fireTimes('30 2 * * *', NY, at('2026-03-06T12:00:00Z'), at('2026-03-10T12:00:00Z')))).toEqual([
      '2026-03-07T07:30:00.000Z', // 02:30 EST
      '2026-03-08T07:00:00.000Z', // 03:00 EDT: 02:30 did not exist
      '2026-03-09T06:30:00.000Z', // 02:30 EDT
      '2026-03-10T06:30:00.000Z',
    ]);
  });

  it('an hourly schedule fires once for the skipped hour, right after the jump', () => {
    expect(iso(fireTimes('15 * * * *', NY, at('2026-03-08T05:00:00Z'), at('2026-03-08T08:00:00Z')))).toEqual([
      '2026-03-08T05:15:00.000Z', // 00:15 EST
      '2026-03-08T06:15:00.000Z', // 01:15 EST
      '2026-03-08T07:00:00.000Z', // 03:00 EDT, for 02:15
      '2026-03-08T07:15:00.000Z', // 03:15 EDT
    ]);
  });

  it('a daily 01:30 fires once on the fall-back day (not again in the repeated hour)', () => {
    expect(iso(fireTimes('30 1 * * *', NY, at('2026-10-31T12:00:00Z'), at('2026-11-02T12:00:00Z')))).toEqual([
      '2026-11-01T05:30:00.000Z', // 01:30 EDT; 01:30 EST (06:30Z) is the same wall time again
      '2026-11-02T06:30:00.000Z',
    ]);
  });

  it('a sub-hourly schedule keeps firing through the repeated hour, and skips nothing in the jump', () => {
    const back = fireTimes('*/10 * * * * *', NY, at('2026-11-01T05:00:00Z'), at('2026-11-01T07:00:00Z'));
    expect(back).toHaveLength(720); // two real hours, every 10 s, with no gap
    const forward = fireTimes('*/20 * * * *', NY, at('2026-03-08T06:30:00Z'), at('2026-03-08T07:30:00Z'));
    expect(iso(forward)).toEqual(['2026-03-08T06:40:00.000Z', '2026-03-08T07:00:00.000Z', '2026-03-08T07:20:00.000Z']);
  });

  it('the catch-up agrees with the live timer: a daemon started in the repeated hour finds the 01:30 already fired', () => {
    // 01:40 EST on Nov 1 (06:40Z): the last fire was 01:30 EDT (05:30Z); no second 01:30 is missed.
    expect(lastMissedFire('30 1 * * *', NY, at('2026-11-01T05:30:00Z'), at('2026-11-01T06:40:00Z'))).toBeUndefined();
    expect(lastMissedFire('30 2 * * *', NY, at('2026-03-07T07:30:00Z'), at('2026-03-08T07:05:00Z'))).toEqual(at('2026-03-08T07:00:00Z'));
    expect(nextFire('30 1 * * *', NY, at('2026-11-01T06:00:00Z'))).toEqual(at('2026-11-02T06:30:00Z'));
  });

  it('without a timezone, a schedule is read in UTC whatever the machine zone', () => {
    expect(nextFire('0 2 * * *', undefined, at('2026-06-01T00:00:00Z'))).toEqual(at('2026-06-01T02:00:00Z'));
  });
});

describe('the live timer under a fake clock', () => {
  afterEach(() => {
    vi.useRealTimers();
  });

  it('fires on the one clock through both changes of 2026', () => {
    vi.useFakeTimers();
    vi.setSystemTime(at('2026-03-07T12:00:00Z'));
    const fired: string[] = [];
    const timer = startCronTimer('30 2 * * *', NY, (t) => fired.push(t.toISOString()));
    vi.advanceTimersByTime(3 * 86_400_000);
    timer.stop();
    expect(fired).toEqual(['2026-03-08T07:00:00.000Z', '2026-03-09T06:30:00.000Z', '2026-03-10T06:30:00.000Z']);

    vi.setSystemTime(at('2026-11-01T04:00:00Z'));
    const back: string[] = [];
    const t2 = startCronTimer('30 1 * * *', NY, (t) => back.push(t.toISOString()));
    vi.advanceTimersByTime(30 * 3_600_000);
    t2.stop();
    expect(back).toEqual(['2026-11-01T05:30:00.000Z', '2026-11-02T06:30:00.000Z']);
  });

  it('keeps firing every 10 s through the repeated hour', () => {
    vi.useFakeTimers();
    vi.setSystemTime(at('2026-11-01T05:00:00Z'));
    let n = 0;
    const timer = startCronTimer('*/10 * * * * *', NY, () => n++);
    vi.advanceTimersByTime(2 * 3_600_000);
    timer.stop();
    expect(n).toBe(720);
  });
});
