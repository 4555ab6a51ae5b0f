import { afterEach, describe, expect, it, vi } from 'vitest';
import { lastMissedFire, nextFire } from '../../src/util/cron.js';

const at = (iso: string) => new Date(iso);

describe('cron helpers', () => {
  afterEach(() => {
    vi.useRealTimers();
  });

  describe('nextFire', () => {
    it('gives the next fire time after now, in the given time zone', () => {
      vi.useFakeTimers({ toFake: ['Date'] });
      vi.setSystemTime(at('2026-03-10T01:59:30Z'));
      expect(nextFire('0 2 * * *', 'UTC')).toEqual(at('2026-03-10T02:00:00Z'));
      expect(nextFire('*/15 * * * *', 'UTC')).toEqual(at('2026-03-10T02:00:00Z'));
      expect(nextFire('0 2 * * *', 'Europe/Berlin')).toEqual(at('2026-03-11T01:00:00Z'));
    });

    it('skips to the next matching day', () => {
      vi.useFakeTimers({ toFake: ['Date'] });
      vi.setSystemTime(at('2026-03-10T12:00:00Z')); // a Tuesday
      expect(nextFire('30 6 * * 1', 'UTC')).toEqual(at('2026-03-16T06:30:00Z'));
    });

    it('supports a seconds field', () => {
      vi.useFakeTimers({ toFake: ['Date'] });
      vi.setSystemTime(at('2026-03-10T12:00:00.500Z'));
      expect(nextFire('*/10 * * * * *', 'UTC')).toEqual(at('2026-03-10T12:00:10Z'));
    });
  });

  describe('lastMissedFire', () => {
    it('finds the latest fire time in (after, now]', () => {
      expect(lastMissedFire('0 2 * * *', 'UTC', at('2026-03-08T12:00:00Z'), at('2026-03-10T09:17:00Z'))).toEqual(at('2026-03-10T02:00:00Z'));
    });

    it('includes a fire exactly at now, and excludes one exactly at after', () => {
      expect(lastMissedFire('0 2 * * *', 'UTC', at('2026-03-09T12:00:00Z'), at('2026-03-10T02:00:00Z'))).toEqual(at('2026-03-10T02:00:00Z'));
      expect(lastMissedFire('0 2 * * *', 'UTC', at('2026-03-10T02:00:00Z'), at('2026-03-10T09:00:00Z'))).toBeUndefined();
    });

    it('returns undefined when nothing fired in between', () => {
      expect(lastMissedFire('0 2 * * *', 'UTC', at('2026-03-10T02:30:00Z'), at('2026-03-10T23:59:00Z'))).toBeUndefined();
    });

    it('reads the expression in the given time zone', () => {
      // 02:00 in Berlin (UTC+1 in March before DST) is 01:00 UTC.
      expect(lastMissedFire('0 2 * * *', 'Europe/Berlin', at('2026-03-09T12:00:00Z'), at('2026-03-10T09:00:00Z'))).toEqual(at('2026-03-10T01:00:00Z'));
    });

    it('looks back at most maxSpanMs (default 31 days)', () => {
      const after = at('2026-01-01T00:00:00Z');
      const now = at('2026-03-10T09:00:00Z'); // a Tuesday
      expect(lastMissedFire('0 2 5 2 *', 'UTC', after, now)).toBeUndefined(); // Feb 5 is 33 days back
      expect(lastMissedFire('0 2 * * 1', 'UTC', after, now, 86_400_000)).toBeUndefined(); // Monday 02:00 is 31 hours back
      expect(lastMissedFire('0 2 * * 1', 'UTC', after, now, 2 * 86_400_000)).toEqual(at('2026-03-09T02:00:00Z'));
    });

    it('scans by the second for a six-field expression, at most one day back', () => {
      expect(lastMissedFire('*/20 * * * * *', 'UTC', at('2026-03-10T08:00:00Z'), at('2026-03-10T09:00:05Z'))).toEqual(at('2026-03-10T09:00:00Z'));
      expect(lastMissedFire('0 0 3 * * *', 'UTC', at('2026-03-01T00:00:00Z'), at('2026-03-10T09:00:00Z'))).toEqual(at('2026-03-10T03:00:00Z'));
      expect(lastMissedFire('0 0 3 1 * *', 'UTC', at('2026-02-01T00:00:00Z'), at('2026-03-10T09:00:00Z'))).toBeUndefined();
    });
  });
});
