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
  /** Only job runs started at or after this time. */
  readonly since?: Date | undefined;
  /** Only job runs that failed, or in which a file failed. */
  readonly failed?: boolean | undefined;
  readonly limit: number;
}

/** Job runs, newest first, optionally of one job type or one run. */
export async function runs(c: Queryable, filter: RunsFilter): Promise<JobRunRow[]> {
  const { rows } = await c.query<Record<string, string | null>>({
    text: `SELECT jr.id, jr.run_id, jr.job_type, jr.status, jr.trigger, jr.started_at, jr.finished_at,
             extract(epoch FROM jr.finished_at - jr.started_at) AS seconds, jr.rows_loaded, jr.rows_rejected,
             jr.files_loaded, jr.files_failed, jr.files_skipped, jr.restarts, jr.error
           FROM importer.job_runs jr WHERE ($1::text IS NULL OR jr.job_type = $1) AND ($2::bigint IS NULL OR jr.run_id = $2)
             AND ($4::timestamptz IS NULL OR jr.started_at >= $4)
             AND (NOT $5::boolean OR jr.status IN ('failed', 'crashed') OR jr.files_failed > 0
                  OR EXISTS (SELECT 1 FROM importer.run_files rf WHERE rf.run_id = jr.run_id AND rf.job_type = jr.job_type AND rf.status = 'failed'))
           ORDER BY jr.started_at DESC, jr.id DESC LIMIT $3`,
    values: [filter.jobType ?? null, filter.runId ?? null, filter.limit, filter.since?.toISOString() ?? null, filter.failed ?? false],
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
    // This run's own record of each file (migration 5); the ledger's row where the run left none.
    text: `SELECT rf.file_id AS id, rf.job_type, rf.path, rf.bytes AS size, rf.status, rf.reason,
             CASE WHEN f.run_id = rf.run_id THEN f.rows_total ELSE rf.rows_loaded + rf.rows_rejected END AS rows_total,
             rf.rows_loaded, rf.rows_rejected,
             CASE WHEN f.run_id = rf.run_id THEN f.rows_inserted ELSE 0 END AS rows_inserted,
             CASE WHEN f.run_id = rf.run_id THEN f.rows_updated ELSE 0 END AS rows_updated,
             CASE WHEN f.run_id = rf.run_id THEN f.rows_duplicate ELSE 0 END AS rows_duplicate,
             rf.seconds, rf.error_code, rf.error
           FROM importer.run_files rf LEFT JOIN importer.files f ON f.id = rf.file_id WHERE rf.run_id = $1
           UNION ALL
           SELECT id, job_type, path, size, CASE WHEN status IN ('loading', 'pending') THEN 'interrupted' ELSE status END, NULL,
             rows_total, rows_loaded, rows_rejected, rows_inserted, rows_updated, rows_duplicate,
             extract(epoch FROM finished_at - started_at), error_code, error
           FROM importer.files f WHERE run_id = $1 AND NOT EXISTS (SELECT 1 FROM importer.run_files rf WHERE rf.run_id = f.run_id AND rf.file_id = f.id)
           ORDER BY job_type, path`,
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
      id: num(f.id),
      job_type: f.job_type,
      path: f.path,
      size: Number(f.size),
      status: f.status,
      reason: f.reason,
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

export interface HistoryFile {
  /** The ledger's file id (importer.files), null for a file skipped before it was hashed. */
  id: number | null;
  path: string;
  /** This run's outcome: loaded, failed, skipped, interrupted (or the ledger's status for a run that died). */
  status: string;
  /** Why it was skipped: already loaded, being loaded by another importer instance, changed while loading, ... */
  reason: string | null;
  resumed: boolean;
  rows_loaded: number;
  rows_rejected: number;
  error_code: string | null;
  error: string | null;
  line: number | null;
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
  files: HistoryFile[];
}

export interface HistoryFilter {
  readonly jobType?: string | undefined;
  readonly since?: Date | undefined;
  readonly failed?: boolean | undefined;
  readonly limit: number;
}

/**
 * Each run's files from its own record (importer.run_files), never overwritten by a later run. A
 * run that died before recording a file (kill -9), or ran before migration 5, shows the ledger's
 * row for the files it last claimed.
 */
async function filesOfRuns(c: Queryable, runIds: readonly number[]): Promise<Array<HistoryFile & { run_id: number; job_type: string }>> {
  const { rows } = await c.query<Record<string, string | null>>({
    text: `SELECT file_id AS id, run_id, job_type, path, status, reason, resumed, rows_loaded, rows_rejected, error_code, error, line, id AS k
             FROM importer.run_files WHERE run_id = ANY($1::bigint[])
           UNION ALL
           SELECT f.id, f.run_id, f.job_type, f.path, CASE WHEN f.status IN ('loading', 'pending') THEN 'interrupted' ELSE f.status END,
                  NULL, false, f.rows_loaded, f.rows_rejected, f.error_code, f.error, NULL, NULL
             FROM importer.files f
            WHERE f.run_id = ANY($1::bigint[])
              AND NOT EXISTS (SELECT 1 FROM importer.run_files rf WHERE rf.run_id = f.run_id AND rf.file_id = f.id)
           ORDER BY path, k`,
    values: [runIds.map(String)],
    types: RAW_TYPES,
  });
  return rows.map((f) => ({
    id: num(f.id),
    run_id: Number(f.run_id),
    job_type: f.job_type!,
    path: f.path!,
    status: f.status!,
    reason: f.reason,
    resumed: f.resumed === 't',
    rows_loaded: Number(f.rows_loaded),
    rows_rejected: Number(f.rows_rejected),
    error_code: f.error_code,
    error: f.error,
    line: num(f.line),
  }));
}

/** Job runs, newest first, each with its files (`importer history`). */
export async function history(c: Queryable, filter: HistoryFilter | string | undefined, limit?: number): Promise<HistoryRun[]> {
  const f: HistoryFilter = typeof filter === 'object' ? filter : { jobType: filter, limit: limit ?? 20 };
  const rows = await runs(c, f);
  const files = await filesOfRuns(c, rows.map((r) => r.run_id));
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
    files: files.filter((x) => x.run_id === r.run_id && x.job_type === r.job_type).map(({ run_id: _r, job_type: _j, ...rest }) => rest),
  }));
}
