/** Cron arithmetic on node-cron expressions, shared by the scheduler and the read model's "next fire". */
import cron from 'node-cron';

/** Next fire time of a cron expression, or null. */
export function nextFire(expression: string, timezone?: string): Date | null {
  const task = cron.createTask(expression, () => undefined, timezone ? { timezone } : {});
  try {
    return task.getNextRuns(1)[0] ?? null;
  } finally {
    void task.destroy();
  }
}

/** The latest fire time of `expression` in (after, now], scanning at most `maxSpanMs` back. */
export function lastMissedFire(expression: string, timezone: string | undefined, after: Date, now: Date, maxSpanMs = 31 * 86_400_000): Date | undefined {
  const task = cron.createTask(expression, () => undefined, timezone ? { timezone } : {});
  try {
    const seconds = expression.trim().split(/\s+/).length === 6;
    const step = seconds ? 1000 : 60_000;
    const floor = Math.max(after.getTime() + 1, now.getTime() - (seconds ? 86_400_000 : maxSpanMs));
    let t = Math.floor(now.getTime() / step) * step;
    for (; t >= floor; t -= step) if (task.match(new Date(t))) return new Date(t);
    return undefined;
  } finally {
    void task.destroy();
  }
}
