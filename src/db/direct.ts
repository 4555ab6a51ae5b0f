/**
 * Strategy direct: one transaction per file, COPY straight into the target. The file's rows, its
 * rejects and its ledger row commit together: readers see the whole file or none of it, and a
 * crash (or any failure) leaves nothing, so the file loads again from the start. There are no
 * checkpoints and no staging table; a refused row is rejected under a savepoint (csvCopy.ts).
 */
import type pg from 'pg';
import { ImporterError } from '../errors.js';
import type { Batch, Reject } from './batch.js';
import { copyBatchRejects, markFileLoaded, type BatchTarget } from './copy.js';
import { copyCsvRows, setCsvSession } from './csvCopy.js';
import { targetName } from './target.js';

/** Opens the file's transaction on `client`, which the caller keeps for the whole file. */
export async function beginDirect(client: pg.ClientBase, t: BatchTarget): Promise<void> {
  await client.query('BEGIN');
  const { rows } = await client.query<{ status: string }>('SELECT status FROM importer.files WHERE id = $1 FOR NO KEY UPDATE', [t.fileId]);
  if (rows[0]?.status !== 'loading') {
    await client.query('ROLLBACK');
    throw new ImporterError('DB_CONFLICT', `${t.file}: another importer instance took over this file; this instance stops loading it`, { file: t.file });
  }
}

/** COPYs one batch into the target inside the file's transaction; returns the rows the target refused. */
export async function copyDirectBatch(client: pg.ClientBase, t: BatchTarget, batch: Batch, onRefused: (r: Reject) => void): Promise<readonly Reject[]> {
  if (batch.raw) await setCsvSession(client, batch.raw.copy);
  const refused = batch.raw ? await copyCsvRows(client, targetName(t.jobType), batch, t.jobType, onRefused) : [];
  await copyBatchRejects(client, t, batch, refused);
  return refused;
}

/** Marks the file loaded and commits its transaction. */
export async function commitDirect(client: pg.ClientBase, t: BatchTarget, totals: { records: number; rows: number; rejected: number }): Promise<void> {
  await markFileLoaded(client, t.fileId, totals.records, totals.rejected, { inserted: totals.rows, updated: 0, duplicates: 0 });
  await client.query('COMMIT');
}

/** Ends the file's transaction without a trace. */
export async function abortDirect(client: pg.ClientBase): Promise<void> {
  await client.query('ROLLBACK').catch(() => undefined);
}
