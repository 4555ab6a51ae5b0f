/** The dashboard's read-only queries. Every value goes out as JSON data; the page renders it as text. */
import type pg from 'pg';

const raw = { getTypeParser: () => (v: string) => v };

/** A pool or a single client: the queries here run on either. */
export type Queryable = Pick<pg.ClientBase, 'query'>;
const num = (v: string | null) => (v === null ? null : Number(v));

/** Job runs, newest first, optionally of one job type or one run. */
export async function runs(pool: Queryable, filter: { jobType?: string | undefined; runId?: number; limit: number }) {
  const { rows } = await pool.query<Record<string, string | null>>({
    text: `SELECT jr.id, jr.run_id, jr.job_type, jr.status, jr.trigger, jr.started_at, jr.finished_at,
             extract(epoch FROM jr.finished_at - jr.started_at) AS seconds, jr.rows_loaded, jr.rows_rejected,
             jr.files_loaded, jr.files_failed, jr.files_skipped, jr.restarts, jr.error
           FROM importer.job_runs jr WHERE ($1::text IS NULL OR jr.job_type = $1) AND ($2::bigint IS NULL OR jr.run_id = $2)
           ORDER BY jr.started_at DESC, jr.id DESC LIMIT $3`,
    values: [filter.jobType ?? null, filter.runId ?? null, filter.limit],
    types: raw,
  });
  return rows.map((r) => ({
    id: Number(r.id),
    run_id: Number(r.run_id),
    job_type: r.job_type,
    status: r.status,
    trigger: r.trigger,
    started_at: new Date(r.started_at!).toISOString(),
    finished_at: r.finished_at ? new Date(r.finished_at).toISOString() : null,
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

export async function run(pool: Queryable, runId: number) {
  const { rows } = await pool.query<Record<string, string | null>>({
    text: `SELECT id, command, hostname, status, started_at, finished_at, error FROM importer.runs WHERE id = $1`,
    values: [runId],
    types: raw,
  });
  if (rows.length === 0) return undefined;
  const r = rows[0]!;
  const jobs = await runs(pool, { runId, limit: 10_000 });
  const { rows: files } = await pool.query<Record<string, string | null>>({
    text: `SELECT id, job_type, path, size, status, rows_total, rows_loaded, rows_rejected, rows_inserted, rows_updated, rows_duplicate,
             started_at, finished_at, extract(epoch FROM finished_at - started_at) AS seconds, error_code, error
           FROM importer.files WHERE run_id = $1 ORDER BY job_type, path`,
    values: [runId],
    types: raw,
  });
  return {
    id: Number(r.id),
    command: r.command,
    hostname: r.hostname,
    status: r.status,
    started_at: new Date(r.started_at!).toISOString(),
    finished_at: r.finished_at ? new Date(r.finished_at).toISOString() : null,
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

/** A file's rejects grouped by reason, with a few sample lines each. */
export async function fileRejects(pool: Queryable, fileId: number, samples = 5) {
  const { rows: file } = await pool.query<Record<string, string | null>>({
    text: 'SELECT id, job_type, path, status, rows_rejected FROM importer.files WHERE id = $1',
    values: [fileId],
    types: raw,
  });
  if (file.length === 0) return undefined;
  const { rows: counts } = await pool.query<{ code: string; n: string }>(
    'SELECT code, count(*) AS n FROM importer.rejects WHERE file_id = $1 GROUP BY code ORDER BY count(*) DESC, code',
    [fileId],
  );
  const { rows: sample } = await pool.query<Record<string, string | null>>({
    text: `SELECT code, line, column_name, message, record FROM (
             SELECT *, row_number() OVER (PARTITION BY code ORDER BY line) AS k FROM importer.rejects WHERE file_id = $1) r
           WHERE k <= $2 ORDER BY code, line`,
    values: [fileId, samples],
    types: raw,
  });
  const groups = counts.map((c) => ({
    code: c.code,
    count: Number(c.n),
    samples: sample.filter((r) => r.code === c.code).map((r) => ({ line: Number(r.line), column: r.column_name, message: r.message!, record: r.record! })),
  }));
  const f = file[0]!;
  return {
    file: { id: Number(f.id), job_type: f.job_type, path: f.path, status: f.status, rows_rejected: Number(f.rows_rejected) },
    groups,
  };
}

export async function totals(pool: Queryable) {
  const { rows } = await pool.query<{ job_type: string; loaded: string; rejected: string }>(
    `SELECT job_type, sum(rows_loaded) AS loaded, sum(rows_rejected) AS rejected FROM importer.files GROUP BY job_type`,
  );
  return rows.map((r) => ({ job_type: r.job_type, loaded: Number(r.loaded), rejected: Number(r.rejected) }));
}
