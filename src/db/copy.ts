/**
 * COPY of one batch into a file's staging table, committed in one transaction together with the
 * batch's rejects and its checkpoint; and the final move of a file's staged rows into the target.
 *
 * pg-copy-streams semantics carry this: the COPY's `finish` fires once the server has the data,
 * and a failed or destroyed COPY rolls back with its transaction.
 */
import type pg from 'pg';
import { ImporterError } from '../errors.js';
import type { JobType } from '../jobtypes/normalize.js';
import type { Batch, Reject } from './batch.js';
import { copyIn, encodeReject, REJECT_COLUMNS } from './copyText.js';
import { copyCsvRows, setCsvSession } from './csvCopy.js';
import { copyRows, TextRows } from './rowCopy.js';
import { ident } from './sql.js';
import { resetFileProgress } from './checkpoints.js';
import { findRefusedRows, isRowError, type RefusedRow } from './rowErrors.js';
import { moveStagedRows, stagingName, dropStaging, stagedRowCount, targetName, type MoveCounts } from './target.js';
import { rollback, withTransaction } from './transaction.js';

export interface BatchTarget {
  readonly jobType: JobType;
  readonly fileId: number;
  readonly file: string;
  readonly runId: number;
}

/**
 * COPYs rejects encoded by encodeReject into the quarantine, in the caller's transaction: their own
 * columns from the data, the file's from the defaults that read these settings (migration 6).
 */
export async function copyRejects(client: pg.ClientBase, t: BatchTarget, data: readonly Uint8Array[]): Promise<void> {
  await client.query(
    `SELECT set_config('importer.run_id', $1, true), set_config('importer.job_type', $2, true), set_config('importer.file_id', $3, true),
       set_config('importer.file', $4, true)`,
    [String(t.runId), t.jobType.name, String(t.fileId), t.file],
  );
  await copyIn(client, `COPY importer.rejects (${REJECT_COLUMNS.join(', ')}) FROM STDIN`, data);
}

/** A batch's rejects, and the rows the server refused in its COPY, into the quarantine (caller's transaction). */
export async function copyBatchRejects(client: pg.ClientBase, t: BatchTarget, batch: Batch, refused: readonly Reject[]): Promise<void> {
  if (batch.rejects.count === 0 && refused.length === 0) return;
  await copyRejects(client, t, refused.length > 0 ? [...batch.rejects.data, Buffer.from(refused.map(encodeReject).join(''))] : batch.rejects.data);
}

/** The file's ledger row says loaded, with its counts (caller's transaction). */
export async function markFileLoaded(client: pg.ClientBase, fileId: number, records: number, rejected: number, moved: MoveCounts): Promise<void> {
  await client.query(
    `UPDATE importer.files SET status = 'loaded', finished_at = now(), rows_total = $2, rows_loaded = $3, rows_rejected = $4,
       rows_inserted = $5, rows_updated = $6, rows_duplicate = $7, error = NULL, error_code = NULL WHERE id = $1`,
    [fileId, records, moved.inserted + moved.updated, rejected, moved.inserted, moved.updated, moved.duplicates],
  );
}

/**
 * Commits one batch. Idempotent: if this exact batch was committed by an earlier attempt whose
 * acknowledgement was lost, it returns 'already'. A batch that overlaps one committed by someone
 * else fails with DB_CONFLICT and changes nothing.
 */
export async function commitBatch(
  client: pg.ClientBase,
  t: BatchTarget,
  batch: Batch,
  /** Server-parsed batches: told of each row the COPY refuses (may throw to stop the file). */
  onRefused: (r: Reject) => void = () => undefined,
): Promise<{ status: 'committed' | 'already'; refused: readonly Reject[] }> {
  await client.query('BEGIN');
  try {
    const dup = await client.query('SELECT 1 FROM importer.checkpoints WHERE file_id = $1 AND first_record = $2 AND record_count = $3', [
      t.fileId,
      batch.firstRecord,
      batch.recordCount,
    ]);
    if (dup.rowCount) {
      await client.query('ROLLBACK');
      return { status: 'already', refused: [] };
    }
    let refused: readonly Reject[] = [];
    if (batch.raw) {
      await setCsvSession(client, batch.raw.copy);
      // Strategy batches COPYs straight into the target: the batch is visible with its checkpoint.
      const into = t.jobType.target.strategy === 'batches' ? targetName(t.jobType) : stagingName(t.fileId);
      refused = await copyCsvRows(client, into, batch, t.jobType, onRefused);
    } else {
      // The client cast it, but the server may still refuse a value (a double that underflows): one-row rejects too.
      const cols = ['_rec', '_line', ...t.jobType.columns.map((c) => c.name)].map(ident).join(', ');
      refused = await copyRows(client, `COPY ${stagingName(t.fileId)} (${cols}) FROM STDIN`, new TextRows(batch, t.jobType.csv.delimiter), t.jobType, onRefused);
    }
    await copyBatchRejects(client, t, batch, refused);
    // Serialize checkpoint writers of this file, then make sure nobody committed these records.
    const { rows } = await client.query<{ status: string }>('SELECT status FROM importer.files WHERE id = $1 FOR NO KEY UPDATE', [t.fileId]);
    const overlap = await client.query(
      'SELECT 1 FROM importer.checkpoints WHERE file_id = $1 AND first_record < $2 AND first_record + record_count > $3',
      [t.fileId, batch.firstRecord + batch.recordCount, batch.firstRecord],
    );
    if (rows[0]?.status !== 'loading' || overlap.rowCount) {
      throw new ImporterError('DB_CONFLICT', `${t.file}: another importer instance took over this file; this instance stops loading it`, {
        file: t.file,
      });
    }
    await client.query(
      `INSERT INTO importer.checkpoints (file_id, first_record, record_count, rows, rejects, last_line, end_offset, next_line, run_id)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)`,
      [t.fileId, batch.firstRecord, batch.recordCount, batch.rows - refused.length, batch.rejects.count + refused.length, batch.lastLine, batch.endOffset, batch.nextLine, t.runId],
    );
    await client.query('COMMIT');
    return { status: 'committed', refused };
  } catch (err) {
    await client.query('ROLLBACK').catch(() => undefined);
    throw err;
  }
}

export interface FinalizeInput {
  /** Records the file has (loaded + rejected), as counted by the producer. */
  readonly records: number;
  /** Whether the rejects exceed errors.max_rejects (decided by the caller from the checkpoint sums). */
  readonly overThreshold: (rejected: number, total: number) => boolean;
  /** Most rows the target may refuse before the threshold fails the file anyway (stops the search for them). */
  readonly refuseLimit: (rejected: number) => number;
  /** Replace mode: check coverage and threshold, but leave the rows staged for the job's swap. */
  readonly keepStaged: boolean;
}

export type FinalizeResult =
  | { readonly status: 'loaded'; readonly rows: number; readonly rejected: number; readonly moved: MoveCounts }
  | { readonly status: 'staged'; readonly rows: number; readonly rejected: number }
  | { readonly status: 'threshold'; readonly rows: number; readonly rejected: number }
  /** The staged rows did not match the checkpoints (staging lost in a crash): the file's progress was reset. */
  | { readonly status: 'reset'; readonly staged: number | undefined; readonly expected: number }
  /** The target refused these rows (constraints, values too long): nothing moved; reject them, then finalize again. */
  | { readonly status: 'refused'; readonly refused: readonly RefusedRow[] };

interface FileTotals {
  readonly records: number;
  /** Rows staged (checkpointed rows less the rows the target refused and that were taken out). */
  readonly rows: number;
  readonly rejected: number;
}

/** The file's totals from its checkpoints, and its row locked (serializing finalizers of one file). */
async function lockedTotals(client: pg.ClientBase, fileId: number): Promise<{ loaded?: FinalizeResult; totals: FileTotals }> {
  const { rows: fileRows } = await client.query<{ status: string; rows_loaded: string; rows_rejected: string; rows_inserted: string; rows_updated: string; rows_duplicate: string; rows_refused: string }>(
    'SELECT status, rows_loaded, rows_rejected, rows_inserted, rows_updated, rows_duplicate, rows_refused FROM importer.files WHERE id = $1 FOR UPDATE',
    [fileId],
  );
  const f = fileRows[0]!;
  const { rows: sums } = await client.query<{ records: string | null; rows: string | null; rejects: string | null }>(
    'SELECT sum(record_count) AS records, sum(rows) AS rows, sum(rejects) AS rejects FROM importer.checkpoints WHERE file_id = $1',
    [fileId],
  );
  const refused = Number(f.rows_refused);
  const totals = { records: Number(sums[0]!.records ?? 0), rows: Number(sums[0]!.rows ?? 0) - refused, rejected: Number(sums[0]!.rejects ?? 0) + refused };
  if (f.status !== 'loaded') return { totals };
  // An earlier attempt committed but its acknowledgement was lost.
  const moved = { inserted: Number(f.rows_inserted), updated: Number(f.rows_updated), duplicates: Number(f.rows_duplicate) };
  return { totals, loaded: { status: 'loaded', rows: Number(f.rows_loaded), rejected: Number(f.rows_rejected), moved } };
}

/**
 * In one transaction: checks that the checkpoints cover every record and that the staging table
 * holds every row they vouch for, applies the reject threshold, moves the staged rows into the
 * target, drops the staging table and marks the file loaded. Readers of the target see all of a
 * file or none of it. When the target refuses some rows, nothing moves and they are returned.
 */
export async function finalizeFile(client: pg.ClientBase, t: BatchTarget, input: FinalizeInput): Promise<FinalizeResult> {
  return withTransaction(client, async () => {
    const { loaded, totals } = await lockedTotals(client, t.fileId);
    if (loaded) return rollback(loaded);
    const { records, rows, rejected } = totals;
    if (records !== input.records) {
      throw new ImporterError('INTERNAL', `${t.file}: checkpoints cover ${records} records but the file has ${input.records}`, { file: t.file });
    }
    if (t.jobType.target.strategy === 'batches') return endBatchesFile(client, t, input, totals);
    // The checkpoints vouch for `rows` staged rows: never move a file unless they are all there.
    const staged = await stagedRowCount(client, t.fileId);
    if ((staged ?? 0) !== rows) {
      await resetFileProgress(client, t.fileId);
      return { status: 'reset', staged, expected: rows };
    }
    if (input.overThreshold(rejected, records)) {
      await dropStaging(client, t.fileId);
      return { status: 'threshold', rows, rejected };
    }
    if (input.keepStaged) {
      await client.query(`UPDATE importer.files SET rows_total = $2, rows_rejected = $3 WHERE id = $1`, [t.fileId, records, rejected]);
      return { status: 'staged', rows, rejected };
    }
    const lineage = { file: t.file, runId: t.runId };
    let moved: MoveCounts = { inserted: 0, updated: 0, duplicates: 0 };
    if (rows > 0) {
      await client.query('SAVEPOINT move');
      try {
        moved = await moveStagedRows(client, t.jobType, t.fileId, lineage, rows);
      } catch (err) {
        if (!isRowError(err)) throw err;
        await client.query('ROLLBACK TO SAVEPOINT move');
        const refused = await findRefusedRows(client, t.jobType, t.fileId, lineage, targetName(t.jobType), input.refuseLimit(rejected));
        return rollback({ status: 'refused', refused } as const);
      }
    }
    await dropStaging(client, t.fileId);
    await markFileLoaded(client, t.fileId, records, rejected, moved);
    return { status: 'loaded', rows, rejected, moved };
  });
}

/**
 * Strategy batches: the rows are in the target already, each batch with its checkpoint. Over the
 * threshold, the file fails and what loaded stays (the checkpoints say what, and a later run
 * resumes after it rather than loading it twice).
 */
async function endBatchesFile(client: pg.ClientBase, t: BatchTarget, input: FinalizeInput, totals: FileTotals): Promise<FinalizeResult> {
  const { records, rows, rejected } = totals;
  if (input.overThreshold(rejected, records)) return { status: 'threshold', rows, rejected };
  const moved = { inserted: rows, updated: 0, duplicates: 0 };
  await markFileLoaded(client, t.fileId, records, rejected, moved);
  return { status: 'loaded', rows, rejected, moved };
}

/**
 * Takes rows the target refused out of staging, into the quarantine (with the raw records the
 * caller read back from the file), in one transaction; the file counts them as rejects.
 */
export async function rejectRefusedRows(client: pg.ClientBase, t: BatchTarget, rejects: readonly (Reject & { readonly rec: number })[]): Promise<void> {
  await withTransaction(client, async () => {
    await copyRejects(client, t, [Buffer.from(rejects.map(encodeReject).join(''))]);
    await client.query(`DELETE FROM ${stagingName(t.fileId)} WHERE _rec = ANY($1::bigint[])`, [rejects.map((r) => r.rec)]);
    await client.query('UPDATE importer.files SET rows_refused = rows_refused + $2 WHERE id = $1', [t.fileId, rejects.length]);
  });
}

export interface StagedFile {
  readonly fileId: number;
  readonly file: string;
  readonly rows: number;
  readonly rejected: number;
  readonly records: number;
}

/**
 * Replace mode: builds a fresh table from the staged files of this run and swaps it in for the
 * target, all in one transaction. Readers see the old table until the commit and the new one
 * after it, never a partial one; the exclusive lock is held only for the renames.
 */
export async function replaceTarget(client: pg.ClientBase, jt: JobType, runId: number, files: readonly StagedFile[]): Promise<Map<number, MoveCounts>> {
  const counts = new Map<number, MoveCounts>();
  const fresh = `replace_${jt.target.table.slice(0, 30)}_${runId}`;
  const old = `${jt.target.table.slice(0, 40)}__replaced_${runId}`;
  const target = `${ident(jt.target.schema)}.${ident(jt.target.table)}`;
  await client.query('BEGIN');
  try {
    // An earlier attempt whose COMMIT went through but whose acknowledgement was lost (the
    // connection dropped) swapped already: its staging is gone, and the ledger says so.
    const { rows: done } = await client.query<{ id: string; rows_inserted: string; rows_duplicate: string }>(
      `SELECT id, rows_inserted, rows_duplicate FROM importer.files WHERE id = ANY($1::bigint[]) AND status = 'loaded' AND run_id = $2 FOR UPDATE`,
      [files.map((f) => f.fileId), runId],
    );
    if (done.length === files.length) {
      await client.query('ROLLBACK');
      for (const d of done) counts.set(Number(d.id), { inserted: Number(d.rows_inserted), updated: 0, duplicates: Number(d.rows_duplicate) });
      return counts;
    }
    await client.query(`DROP TABLE IF EXISTS importer_staging.${ident(fresh)}`);
    await client.query(`CREATE TABLE importer_staging.${ident(fresh)} (LIKE ${target} INCLUDING ALL)`);
    for (const f of files) {
      const staged = await stagedRowCount(client, f.fileId);
      if ((staged ?? 0) !== f.rows) {
        throw new ImporterError(
          'STAGING_LOST',
          `${f.file}: ${staged ?? 0} rows are staged but the checkpoints vouch for ${f.rows}; the table was not replaced, and the next run loads the file again`,
          { file: f.file },
        );
      }
      const moved = f.rows > 0
        ? await moveStagedRows(client, jt, f.fileId, { file: f.file, runId }, f.rows, `importer_staging.${ident(fresh)}`)
        : { inserted: 0, updated: 0, duplicates: 0 };
      counts.set(f.fileId, moved);
    }
    await client.query(`LOCK TABLE ${target} IN ACCESS EXCLUSIVE MODE`);
    await client.query(`ALTER TABLE ${target} RENAME TO ${ident(old)}`);
    await client.query(`ALTER TABLE importer_staging.${ident(fresh)} SET SCHEMA ${ident(jt.target.schema)}`);
    await client.query(`ALTER TABLE ${ident(jt.target.schema)}.${ident(fresh)} RENAME TO ${ident(jt.target.table)}`);
    await client.query(`DROP TABLE ${ident(jt.target.schema)}.${ident(old)}`);
    for (const f of files) {
      const m = counts.get(f.fileId)!;
      await dropStaging(client, f.fileId);
      await markFileLoaded(client, f.fileId, f.records, f.rejected, { inserted: m.inserted, updated: 0, duplicates: m.duplicates });
    }
    await client.query('COMMIT');
    return counts;
  } catch (err) {
    await client.query('ROLLBACK').catch(() => undefined);
    throw err;
  }
}
