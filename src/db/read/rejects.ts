/** The quarantine in the read model: rejects by filter (`importer rejects`) and a file's rejects by reason (`/api/files/:id/rejects`). */
import type pg from 'pg';
import { RAW_TYPES, type Queryable } from './queryable.js';

export interface RejectFilter {
  readonly jobType?: string | undefined;
  readonly runId?: number | undefined;
  /** Only files whose path contains this. */
  readonly file?: string | undefined;
  readonly limit?: number | undefined;
  /** Only rejects of files that loaded (what `rejects --csv` exports unless `--all`). */
  readonly onlyLoaded?: boolean | undefined;
}

/** One reject as PostgreSQL prints it (bigints as text). */
export interface RejectRow {
  id: string;
  run_id: string | null;
  job_type: string;
  file: string;
  line: string;
  byte_offset: string;
  column_name: string | null;
  code: string;
  message: string;
  record: string;
  /**
   * Whether the rest of its file reached the target: false for the rejects of a file that failed
   * (on the threshold, say), or is still loading, and of an earlier attempt at a file claimed again.
   */
  loaded: boolean;
}

/** A reject whose file reached the target: its latest attempt, and the file loaded. */
const LOADED = `(r.superseded_at IS NULL AND f.status = 'loaded')`;

/** The rejects (alias r, their files f) that a filter selects. */
function filtered(f: RejectFilter): { where: string; params: unknown[] } {
  const where: string[] = [];
  const params: unknown[] = [];
  if (f.jobType) where.push(`r.job_type = $${params.push(f.jobType)}`);
  // One run's rejects include those of attempts superseded since; otherwise only the latest attempt's.
  if (f.runId) where.push(`r.run_id = $${params.push(f.runId)}`);
  else where.push('r.superseded_at IS NULL');
  if (f.file) where.push(`strpos(r.file, $${params.push(f.file)}) > 0`);
  if (f.onlyLoaded) where.push(`${LOADED}`);
  return { where: `FROM importer.rejects r LEFT JOIN importer.files f ON f.id = r.file_id WHERE ${where.join(' AND ')}`, params };
}

/** Rejects matching `f`, by file and line. */
export async function rejects(c: Queryable, f: RejectFilter): Promise<RejectRow[]> {
  const { where, params } = filtered(f);
  const limit = f.limit ? ` LIMIT $${params.push(f.limit)}` : '';
  const sql = `SELECT r.id, r.run_id, r.job_type, r.file, r.line, r.byte_offset, r.column_name, r.code, r.message, r.record, ${LOADED} AS loaded
    ${where} ORDER BY r.file, r.line, r.id${limit}`;
  const { rows } = await c.query<Omit<RejectRow, 'loaded'> & { loaded: string }>({ text: sql, values: params, types: RAW_TYPES });
  return rows.map((r) => ({ ...r, loaded: r.loaded === 't' }));
}

/** The files that rejects matching `f` come from. */
export async function rejectFiles(c: Queryable, f: RejectFilter): Promise<string[]> {
  const { where, params } = filtered(f);
  const { rows } = await c.query<{ file: string }>({ text: `SELECT DISTINCT r.file ${where} ORDER BY r.file`, values: params });
  return rows.map((r) => r.file);
}

/**
 * The raw records of the rejects matching `f`, by file and line, a page at a time through a cursor
 * (in a transaction of their own on this client), so that exporting a million rejects holds one
 * page in memory, not the million.
 */
export async function* rejectRecords(c: pg.ClientBase, f: RejectFilter, page = 10_000): AsyncGenerator<string[]> {
  const { where, params } = filtered(f);
  await c.query('BEGIN READ ONLY');
  try {
    await c.query({ text: `DECLARE rejects_out NO SCROLL CURSOR FOR SELECT r.record ${where} ORDER BY r.file, r.line, r.id`, values: params });
    for (;;) {
      const { rows } = await c.query<{ record: string }>(`FETCH ${page} FROM rejects_out`);
      if (rows.length === 0) break;
      yield rows.map((r) => r.record);
    }
  } finally {
    await c.query('ROLLBACK').catch(() => undefined);
  }
}

/** A file's rejects grouped by reason, with a few sample lines each; undefined when there is no such file. */
export async function fileRejects(c: Queryable, fileId: number, samples = 5) {
  const { rows: file } = await c.query<Record<string, string | null>>({
    text: 'SELECT id, job_type, path, status, rows_rejected FROM importer.files WHERE id = $1',
    values: [fileId],
    types: RAW_TYPES,
  });
  if (file.length === 0) return undefined;
  const { rows: counts } = await c.query<{ code: string; n: string }>(
    'SELECT code, count(*) AS n FROM importer.rejects WHERE file_id = $1 AND superseded_at IS NULL GROUP BY code ORDER BY count(*) DESC, code',
    [fileId],
  );
  const { rows: sample } = await c.query<Record<string, string | null>>({
    text: `SELECT code, line, column_name, message, record FROM (
             SELECT *, row_number() OVER (PARTITION BY code ORDER BY line) AS k FROM importer.rejects WHERE file_id = $1 AND superseded_at IS NULL) r
           WHERE k <= $2 ORDER BY code, line`,
    values: [fileId, samples],
    types: RAW_TYPES,
  });
  const groups = counts.map((g) => ({
    code: g.code,
    count: Number(g.n),
    samples: sample.filter((r) => r.code === g.code).map((r) => ({ line: Number(r.line), column: r.column_name, message: r.message!, record: r.record! })),
  }));
  const f = file[0]!;
  return {
    file: { id: Number(f.id), job_type: f.job_type, path: f.path, status: f.status, rows_rejected: Number(f.rows_rejected) },
    groups,
  };
}
