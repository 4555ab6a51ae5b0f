/**
 * The run history of the read model: job runs newest first (`importer history`, `/api/runs`), one
 * run with its job runs and files (`/api/runs/:id`), and a history with each run's files.
 */
import { iso, num, RAW_TYPES, type Queryable } from './queryable.js';

export interface JobRunRow {
  id: number;
  run_id: number;
  job_type: string;
  status: string;
  trigger: string;
  started_at: string;
  finished_at: string | null;
  seconds: number | null;
  rows_loaded: number;
  rows_rejected: number;
  files_loaded: number;
  files_failed: number;
  files_skipped: number;
  restarts: number;
  error: string | null;
}

export interface RunsFilter {
  readonly jobType?: string | undefined;
  readonly runId?: number | undefined;
  readonly limit: number;
}

/** Job runs, newest first, optionally of one job type or one run. */
export async function runs(c: Queryable, filter: RunsFilter): Promise<JobRunRow[]> {
  const { rows } = await c.query<Record<string, string | null>>({
    text: `SELECT jr.id, jr.run_id, jr.job_type, jr.status, jr.trigger, jr.started_at, jr.finished_at,
             extract(epoch FROM jr.finished_at - jr.started_at) AS seconds, jr.rows_loaded, jr.rows_rejected,
             jr.files_loaded, jr.files_failed, jr.files_skipped, jr.restarts, jr.error
           FROM importer.job_runs jr WHERE ($1::text IS NULL OR jr.job_type = $1) AND ($2::bigint IS NULL OR jr.run_id = $2)
           ORDER BY jr.started_at DESC, jr.id DESC LIMIT $3`,
    values: [filter.jobType ?? null, filter.runId ?? null, filter.limit],
    types: RAW_TYPES,
  });
  return rows.map((r) => ({
    id: Number(r.id),
    run_id: Number(r.run_id),
    job_type: r.job_type!,
    status: r.status!,
    trigger: r.trigger!,
    started_at: iso(r.started_at)!,
    finished_at: iso(r.finished_at),
    seconds: num(r.seconds),
    rows_loaded: Number(r.rows_loaded),
    rows_rejected: Number(r.rows_rejected),
    files_loaded: Number(r.files_loaded),
    files_failed: Number(r.files_failed),
    files_skipped: Number(r.files_skipped),
    restarts: Number(r.restarts),
    error: r.error,
  }));
}

/** One run with its job runs and files, or undefined. */
export async function run(c: Queryable, runId: number) {
  const { rows } = await c.query<Record<string, string | null>>({
    text: `SELECT id, command, hostname, status, started_at, finished_at, error FROM importer.runs WHERE id = $1`,
    values: [runId],
    types: RAW_TYPES,
  });
  if (rows.length === 0) return undefined;
  const r = rows[0]!;
  const jobs = await runs(c, { runId, limit: 10_000 });
  const { rows: files } = await c.query<Record<string, string | null>>({
    text: `SELECT id, job_type, path, size, status, rows_total, rows_loaded, rows_rejected, rows_inserted, rows_updated, rows_duplicate,
             started_at, finished_at, extract(epoch FROM finished_at - started_at) AS seconds, error_code, error
           FROM importer.files WHERE run_id = $1 ORDER BY job_type, path`,
    values: [runId],
    types: RAW_TYPES,
  });
  return {
    id: Number(r.id),
    command: r.command,
    hostname: r.hostname,
    status: r.status,
    started_at: iso(r.started_at)!,
    finished_at: iso(r.finished_at),
    error: r.error,
    jobs,
    files: files.map((f) => ({
      id: Number(f.id),
      job_type: f.job_type,
      path: f.path,
      size: Number(f.size),
      status: f.status,
      rows_total: Number(f.rows_total),
      rows_loaded: Number(f.rows_loaded),
      rows_rejected: Number(f.rows_rejected),
      rows_inserted: Number(f.rows_inserted),
      rows_updated: Number(f.rows_updated),
      rows_duplicate: Number(f.rows_duplicate),
      seconds: num(f.seconds),
      error_code: f.error_code,
      error: f.error,
    })),
  };
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

/** Job runs, newest first, each with its files (`importer history`). */
export async function history(c: Queryable, jobType: string | undefined, limit: number): Promise<HistoryRun[]> {
  const rows = await runs(c, { jobType, limit });
  const { rows: files } = await c.query<Record<string, string | null>>({
    text: `SELECT id, run_id, job_type, path, status, rows_loaded, rows_rejected, error_code, error FROM importer.files
           WHERE run_id = ANY($1::bigint[]) ORDER BY path`,
    values: [rows.map((r) => String(r.run_id))],
    types: RAW_TYPES,
  });
  return rows.map((r) => ({
    job_run_id: r.id,
    run_id: r.run_id,
    job_type: r.job_type,
    status: r.status,
    trigger: r.trigger,
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
}
