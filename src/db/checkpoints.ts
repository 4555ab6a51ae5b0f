/**
 * A file's progress in the database: its checkpoints (one per committed batch) and the staged rows
 * they vouch for. The two must agree before a file may be moved into its target.
 */
import type pg from 'pg';
import { dropStaging, stagedRowCount } from './target.js';

export interface CommittedRange {
  readonly first: number;
  readonly count: number;
  readonly rows: number;
  readonly rejects: number;
  /** Decoded byte offset just after the range, and the line where the next record starts (null for checkpoints older than migration 3). */
  readonly endOffset: number;
  readonly nextLine: number | null;
}

export async function committedRanges(c: pg.ClientBase, fileId: number): Promise<CommittedRange[]> {
  const { rows } = await c.query<{ first_record: string; record_count: number; rows: number; rejects: number; end_offset: string; next_line: string | null }>(
    'SELECT first_record, record_count, rows, rejects, end_offset, next_line FROM importer.checkpoints WHERE file_id = $1 ORDER BY first_record',
    [fileId],
  );
  return rows.map((r) => ({
    first: Number(r.first_record),
    count: r.record_count,
    rows: r.rows,
    rejects: r.rejects,
    endOffset: Number(r.end_offset),
    nextLine: r.next_line === null ? null : Number(r.next_line),
  }));
}

/** Where a resumed load can start: after the committed ranges that run without a gap from record 0. */
export interface ResumePoint {
  readonly record: number;
  readonly offset: number;
  readonly line: number;
}

export function resumePoint(committed: readonly CommittedRange[]): ResumePoint | undefined {
  const sorted = [...committed].sort((a, b) => a.first - b.first);
  let last: CommittedRange | undefined;
  for (const r of sorted) {
    if (r.first !== (last ? last.first + last.count : 0)) break;
    last = r;
  }
  if (!last || last.nextLine === null) return undefined;
  return { record: last.first + last.count, offset: last.endOffset, line: last.nextLine };
}

/** Whether the staging table holds exactly the rows the checkpoints say were committed. */
export async function stagingMatches(c: pg.ClientBase, fileId: number, checkpointedRows: number): Promise<boolean> {
  const staged = await stagedRowCount(c, fileId);
  return staged === undefined ? checkpointedRows === 0 : staged === checkpointedRows;
}

/**
 * Forgets a file's progress (checkpoints, staging), so that it loads from the start. Its rejects are
 * kept, marked superseded: they say why an earlier attempt failed (migration 5).
 */
export async function resetFileProgress(c: pg.ClientBase, fileId: number): Promise<void> {
  await c.query('DELETE FROM importer.checkpoints WHERE file_id = $1', [fileId]);
  await c.query('UPDATE importer.rejects SET superseded_at = now() WHERE file_id = $1 AND superseded_at IS NULL', [fileId]);
  await dropStaging(c, fileId);
  await c.query(
    `UPDATE importer.files SET rows_total = 0, rows_loaded = 0, rows_rejected = 0, rows_inserted = 0, rows_updated = 0,
       rows_duplicate = 0, rows_refused = 0 WHERE id = $1`,
    [fileId],
  );
}
