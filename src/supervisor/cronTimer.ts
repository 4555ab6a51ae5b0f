/**
 * The scheduler's live timer on the one clock of util/cron.ts: it sleeps until the next fire time
 * that `nextFire` gives, fires, and asks for the one after that fire time (not after "now"), so the
 * live timer, the catch-up at start and "next fire" in status and the dashboard always agree,
 * daylight saving included. node-cron's own timer is not used: it reads the machine's zone when no
 * zone is given, misses a skipped 02:30, and stops sub-hourly schedules for a repeated hour.
 */
import { nextFire } from '../util/cron.js';

/** setTimeout's limit is 2^31 − 1 ms (24.8 days): longer waits are cut and re-aimed. */
const MAX_WAIT_MS = 86_400_000;

export interface CronTimer {
  /** The fire time it waits for, or null when the expression never fires again. */
  readonly next: () => Date | null;
  stop(): void;
}

export function startCronTimer(expression: string, timezone: string | undefined, onFire: (at: Date) => void, now: () => number = Date.now): CronTimer {
  let timer: NodeJS.Timeout | undefined;
  let stopped = false;
  let next = nextFire(expression, timezone, new Date(now()));
  const arm = () => {
    if (stopped || !next) return;
    const wait = next.getTime() - now();
    if (wait > 0) {
      timer = setTimeout(arm, Math.min(wait, MAX_WAIT_MS));
      return;
    }
    const at = next;
    next = nextFire(expression, timezone, at);
    onFire(at);
    arm();
  };
  arm();
  return {
    next: () => next,
    stop: () => {
      stopped = true;
      clearTimeout(timer);
    },
  };
}
