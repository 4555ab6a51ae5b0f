/** `importer status` and `/api/jobtypes`: each job type's last run and next fire time. */
import type { JobType } from '../../jobtypes/normalize.js';
import { nextFire } from '../../util/cron.js';
import { iso, num, RAW_TYPES, type Queryable } from './queryable.js';

export interface StatusRow {
  name: string;
  /** null for a job type only the ledger knows (its definition is not in the folder). */
  table: string | null;
  /** Whether a definition in the folder describes it (false: known from the ledger only). */
  defined: boolean;
  schedule: string | null;
  next_fire: string | null;
  last_run: null | {
    run_id: number;
    started_at: string;
    finished_at: string | null;
    status: string;
    trigger: string;
    rows_loaded: number;
    rows_rejected: number;
    files_loaded: number;
    files_failed: number;
    files_skipped: number;
    seconds: number | null;
    error: string | null;
  };
}

/**
 * The last run and next fire of each job type; `c` is a connection or pool on a migrated database.
 * Job types the ledger knows but no definition describes (no ./jobtypes folder here, or a removed
 * definition) follow the defined ones, with their last run.
 */
export async function status(c: Queryable, jobTypes: readonly JobType[]): Promise<StatusRow[]> {
  const { rows } = await c.query<Record<string, string | null>>({
    text: `SELECT DISTINCT ON (job_type) job_type, run_id, started_at, finished_at, status, trigger, rows_loaded, rows_rejected,
             files_loaded, files_failed, files_skipped, extract(epoch FROM finished_at - started_at) AS seconds, error
           FROM importer.job_runs ORDER BY job_type, started_at DESC, id DESC`,
    types: RAW_TYPES,
  });
  const last = new Map(rows.map((r) => [r.job_type!, r]));
  const defined = new Set(jobTypes.map((j) => j.name));
  const ledgerOnly = [...last.keys()].filter((n) => !defined.has(n)).sort();
  return [
    ...jobTypes.map((jt) => ({
      name: jt.name,
      table: `${jt.target.schema}.${jt.target.table}`,
      defined: true,
      schedule: jt.schedule ?? null,
      next_fire: jt.schedule && jt.enabled ? (nextFire(jt.schedule, jt.timezone)?.toISOString() ?? null) : null,
      last_run: lastRun(last.get(jt.name)),
    })),
    ...ledgerOnly.map((name) => ({ name, table: null, defined: false, schedule: null, next_fire: null, last_run: lastRun(last.get(name)) })),
  ];
}

function lastRun(r: Record<string, string | null> | undefined): StatusRow['last_run'] {
  if (!r) return null;
  return {
    run_id: Number(r.run_id),
    started_at: iso(r.started_at)!,
    finished_at: iso(r.finished_at),
    status: r.status!,
    trigger: r.trigger!,
    rows_loaded: Number(r.rows_loaded),
    rows_rejected: Number(r.rows_rejected),
    files_loaded: Number(r.files_loaded),
    files_failed: Number(r.files_failed),
    files_skipped: Number(r.files_skipped),
    seconds: num(r.seconds),
    error: r.error,
  };
}

/** Rows loaded and rejected per job type, over the whole ledger (the dashboard's /metrics). */
export async function totals(c: Queryable): Promise<Array<{ job_type: string; loaded: number; rejected: number }>> {
  const { rows } = await c.query<{ job_type: string; loaded: string; rejected: string }>(
    `SELECT job_type, sum(rows_loaded) AS loaded, sum(rows_rejected) AS rejected FROM importer.files GROUP BY job_type`,
  );
  return rows.map((r) => ({ job_type: r.job_type, loaded: Number(r.loaded), rejected: Number(r.rejected) }));
}

/** Every job type the ledger knows (it ran, or has files), by name. */
export async function knownJobTypes(c: Queryable): Promise<string[]> {
  const { rows } = await c.query<{ job_type: string }>(
    `SELECT job_type FROM importer.job_runs UNION SELECT job_type FROM importer.files UNION SELECT job_type FROM importer.rejects ORDER BY 1`,
  );
  return rows.map((r) => r.job_type);
}
