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
}

export async function committedRanges(c: pg.ClientBase, fileId: number): Promise<CommittedRange[]> {
  const { rows } = await c.query<{ first_record: string; record_count: number; rows: number; rejects: number }>(
    'SELECT first_record, record_count, rows, rejects FROM importer.checkpoints WHERE file_id = $1 ORDER BY first_record',
    [fileId],
  );
  return rows.map((r) => ({ first: Number(r.first_record), count: r.record_count, rows: r.rows, rejects: r.rejects }));
}

/** Whether the staging table holds exactly the rows the checkpoints say were committed. */
export async function stagingMatches(c: pg.ClientBase, fileId: number, checkpointedRows: number): Promise<boolean> {
  const staged = await stagedRowCount(c, fileId);
  return staged === undefined ? checkpointedRows === 0 : staged === checkpointedRows;
}

/** Forgets a file's progress (checkpoints, rejects, staging), so that it loads from the start. */
export async function resetFileProgress(c: pg.ClientBase, fileId: number): Promise<void> {
  await c.query('DELETE FROM importer.checkpoints WHERE file_id = $1', [fileId]);
  await c.query('DELETE FROM importer.rejects WHERE file_id = $1', [fileId]);
  await dropStaging(c, fileId);
  await c.query(
    `UPDATE importer.files SET rows_total = 0, rows_loaded = 0, rows_rejected = 0, rows_inserted = 0, rows_updated = 0,
       rows_duplicate = 0 WHERE id = $1`,
    [fileId],
  );
}
