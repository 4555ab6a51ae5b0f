/** `importer status` and `importer history`: what ran, when, and how it went, from the ledger. */
import { withSession } from '../db/session.js';
import type { JobType } from '../jobtypes/normalize.js';
import { nextFire } from '../supervisor/scheduler.js';
import { runs, type Queryable } from '../dashboard/api.js';

const raw = { getTypeParser: () => (v: string) => v };

export interface StatusRow {
  name: string;
  table: string;
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

/** The last run and next fire of each job type; `c` is a connection or pool on a migrated database. */
export async function status(c: Queryable, jobTypes: readonly JobType[]): Promise<StatusRow[]> {
  const { rows } = await c.query<Record<string, string | null>>({
    text: `SELECT DISTINCT ON (job_type) job_type, run_id, started_at, finished_at, status, trigger, rows_loaded, rows_rejected,
             files_loaded, files_failed, files_skipped, extract(epoch FROM finished_at - started_at) AS seconds, error
           FROM importer.job_runs ORDER BY job_type, started_at DESC, id DESC`,
    types: raw,
  });
  const last = new Map(rows.map((r) => [r.job_type!, r]));
  return jobTypes.map((jt) => {
    const r = last.get(jt.name);
    return {
      name: jt.name,
      table: `${jt.target.schema}.${jt.target.table}`,
      schedule: jt.schedule ?? null,
      next_fire: jt.schedule && jt.enabled ? (nextFire(jt.schedule, jt.timezone)?.toISOString() ?? null) : null,
      last_run: r
        ? {
            run_id: Number(r.run_id),
            started_at: new Date(r.started_at!).toISOString(),
            finished_at: r.finished_at ? new Date(r.finished_at).toISOString() : null,
            status: r.status!,
            trigger: r.trigger!,
            rows_loaded: Number(r.rows_loaded),
            rows_rejected: Number(r.rows_rejected),
            files_loaded: Number(r.files_loaded),
            files_failed: Number(r.files_failed),
            files_skipped: Number(r.files_skipped),
            seconds: r.seconds === null ? null : Number(r.seconds),
            error: r.error,
          }
        : null,
    };
  });
}

export interface HistoryRun {
  job_run_id: number;
  run_id: number;
  job_type: string;
  status: string;
  trigger: string;
  started_at: string;
  seconds: number | null;
  rows_loaded: number;
  rows_rejected: number;
  restarts: number;
  error: string | null;
  files: Array<{ id: number; path: string; status: string; rows_loaded: number; rows_rejected: number; error_code: string | null; error: string | null }>;
}

export async function history(url: string, jobType: string | undefined, limit: number): Promise<HistoryRun[]> {
  return withSession(url, async (c) => {
    const rows = await runs(c, { jobType, limit });
    const { rows: files } = await c.query<Record<string, string | null>>({
      text: `SELECT id, run_id, job_type, path, status, rows_loaded, rows_rejected, error_code, error FROM importer.files
             WHERE run_id = ANY($1::bigint[]) ORDER BY path`,
      values: [rows.map((r) => String(r.run_id))],
      types: raw,
    });
    return rows.map((r) => ({
      job_run_id: r.id,
      run_id: r.run_id,
      job_type: r.job_type!,
      status: r.status!,
      trigger: r.trigger!,
      started_at: r.started_at,
      seconds: r.seconds,
      rows_loaded: r.rows_loaded,
      rows_rejected: r.rows_rejected,
      restarts: r.restarts,
      error: r.error,
      files: files
        .filter((f) => Number(f.run_id) === r.run_id && f.job_type === r.job_type)
        .map((f) => ({
          id: Number(f.id),
          path: f.path!,
          status: f.status!,
          rows_loaded: Number(f.rows_loaded),
          rows_rejected: Number(f.rows_rejected),
          error_code: f.error_code,
          error: f.error,
        })),
    }));
  });
}
