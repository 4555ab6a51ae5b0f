/**
 * The scheduler's bookkeeping in importer.schedule_fires: one row per (job type, fire time). The
 * primary key is what lets several daemons on one database run each fire once: whoever inserts the
 * row first owns the fire.
 */
import type pg from 'pg';
import { withTransaction } from './transaction.js';

type Query = Pick<pg.ClientBase, 'query'>;

export interface Fire {
  readonly jobType: string;
  readonly fireAt: Date;
  readonly instance: string;
}

/** Claims a fire for this instance; false when another instance claimed it first. */
export async function claimFire(c: Query, f: Fire, reason: string): Promise<boolean> {
  const r = await c.query(
    `INSERT INTO importer.schedule_fires (job_type, fire_at, reason, instance) VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING RETURNING 1`,
    [f.jobType, f.fireAt, reason, f.instance],
  );
  return (r.rowCount ?? 0) > 0;
}

/** Records a fire that did not run (overlap), unless another instance recorded it. */
export async function recordUnrunFire(c: Query, f: Fire, reason: string, status: string): Promise<void> {
  await c.query(
    `INSERT INTO importer.schedule_fires (job_type, fire_at, reason, instance, status, finished_at) VALUES ($1, $2, $3, $4, $5, now())
     ON CONFLICT DO NOTHING`,
    [f.jobType, f.fireAt, reason, f.instance, status],
  );
}

export interface FireOutcome {
  readonly status: string;
  readonly restarts?: number;
  readonly exitCode?: number | null;
  readonly error?: string | null | undefined;
}

/** Closes a claimed fire with its outcome. */
export async function finishFire(c: Query, jobType: string, fireAt: Date, o: FireOutcome): Promise<void> {
  if (o.restarts === undefined) {
    await c.query(`UPDATE importer.schedule_fires SET status = $3, finished_at = now() WHERE job_type = $1 AND fire_at = $2`, [jobType, fireAt, o.status]);
    return;
  }
  await c.query(
    `UPDATE importer.schedule_fires SET status = $3, finished_at = now(), restarts = $4, exit_code = $5, error = $6 WHERE job_type = $1 AND fire_at = $2`,
    [jobType, fireAt, o.status, o.restarts, o.exitCode ?? null, o.error ?? null],
  );
}

/**
 * The catch-up decision for one job type, under a per-job-type transaction lock so that daemons
 * starting together decide once. `missedSince(last)` says which fire time after `last` (the latest
 * recorded fire) was missed, if any; it is asked only when no other instance claimed a fire of this
 * job type in the last minute (then a scheduler is running and nothing was missed). A missed fire is
 * recorded as `running` when `runOnce` (the caller then runs it) or as `missed_skipped`.
 * Returns the missed fire time this instance recorded, or undefined.
 */
export async function claimMissedFire(
  client: pg.ClientBase,
  opts: {
    jobType: string;
    instance: string;
    runOnce: boolean;
    /** When this instance began scheduling the job type: fires from then on are its live timer's. */
    scheduledFrom: Date;
    missedSince: (last: Date) => Date | undefined;
  },
): Promise<Date | undefined> {
  return withTransaction(client, async (c) => {
    await c.query(`SELECT pg_advisory_xact_lock(hashtext('importer.schedule_fires'), hashtext($1))`, [opts.jobType]);
    const { rows } = await c.query<{ last: Date | null; others_recently: boolean }>(
      // What happened before this instance began scheduling counts; after that, only another
      // instance's catch-up: a daemon starting at the same moment, whose live timer may already have
      // fired, must not talk this one out of the catch-up, but its own catch-up claim does.
      `SELECT max(fire_at) FILTER (WHERE fire_at < $3) AS last,
              coalesce(bool_or(instance <> $2 AND started_at > $3::timestamptz - interval '60 seconds'
                               AND (started_at < $3 OR reason = 'missed')), false) AS others_recently
         FROM importer.schedule_fires WHERE job_type = $1`,
      [opts.jobType, opts.instance, opts.scheduledFrom],
    );
    const last = rows[0]?.last;
    const missed = last && !rows[0]!.others_recently ? opts.missedSince(last) : undefined;
    if (!missed) return undefined;
    const r = await c.query(
      `INSERT INTO importer.schedule_fires (job_type, fire_at, reason, instance, status, finished_at)
       VALUES ($1, $2, 'missed', $3, $4, CASE WHEN $4 = 'running' THEN NULL ELSE now() END) ON CONFLICT DO NOTHING RETURNING 1`,
      [opts.jobType, missed, opts.instance, opts.runOnce ? 'running' : 'missed_skipped'],
    );
    return r.rowCount ? missed : undefined;
  });
}
