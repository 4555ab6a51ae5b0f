/**
 * A small file (one batch) loaded in one transaction: claim, COPY, rejects, move, checkpoint,
 * ledger row and the run's record of the file commit together, or nothing does.
 *
 * The ordinary path (copy.ts) stages a file in a table of its own so that a large file can resume
 * mid-way; for a file that fits in one batch there is nothing to resume, and that path's cost is
 * per file: a CREATE and a DROP of the staging table, a claim, a batch and a finalize transaction
 * (five commits), about 30 round trips (measured: 2,000 files of 100 rows, 23–37 ms a file).
 * Here the rows pass through one session table per connection and definition (a temporary table,
 * ON COMMIT DELETE ROWS: created once per connection, emptied by each commit and by a rollback),
 * and the file's own advisory lock is taken for the transaction only (`pg_try_advisory_xact_lock`,
 * the same key as the ordinary path's session lock, so the two exclude each other).
 *
 * Exactly-once: the file's ledger row is locked (FOR UPDATE) and re-read inside the transaction,
 * and the rows reach the target in the same commit that marks it loaded. A crash or kill before
 * the commit leaves no trace of the file but its 'pending' row; after it, the file is loaded.
 */
import { createHash } from 'node:crypto';
import type pg from 'pg';
import type { JobType } from '../jobtypes/normalize.js';
import type { Batch } from './batch.js';
import { copyRejects, type BatchTarget } from './copy.js';
import { copyIn } from './copyText.js';
import { FILE_LOCK_CLASS } from './ledger.js';
import { isRowError } from './rowErrors.js';
import { csvCopySql, extraColumns, setCsvSession } from './csvCopy.js';
import { ident } from './sql.js';
import { moveStagedRows, stagingColumns, stagingName, targetName, type MoveCounts } from './target.js';

export interface SmallFileInput {
  readonly target: BatchTarget;
  readonly size: number;
  readonly force: boolean;
  /** The file's one batch; undefined for a file without records. */
  readonly batch: Batch | undefined;
  readonly records: number;
  readonly rejected: number;
  readonly sha256: string;
  /** Seconds since the file started: the ledger's started_at is that much earlier, and this run's record of it (importer.run_files) says it. */
  readonly seconds: () => number;
}

export type SmallFileResult =
  | { readonly status: 'loaded'; readonly moved: MoveCounts }
  | { readonly status: 'skip'; readonly reason: string; readonly loadedAs?: string }
  /** The ordinary path must load it: progress of an earlier attempt to resume, or rows the target refuses. */
  | { readonly status: 'ordinary'; readonly why: string };

/** Session tables created on each connection (a replaced connection is a new client: it starts empty). */
const created = new WeakMap<pg.ClientBase, Set<string>>();

/** The session table for a definition's columns, created on this connection if it is not yet. */
async function sessionTable(client: pg.ClientBase, jt: JobType): Promise<string> {
  const cols = stagingColumns(jt);
  const name = `importer_small_${createHash('sha256').update(cols).digest('hex').slice(0, 16)}`;
  let names = created.get(client);
  if (!names) created.set(client, (names = new Set()));
  if (!names.has(name)) {
    // Outside any transaction: a rollback must not take the table away behind the cache's back.
    await client.query(`CREATE TEMP TABLE IF NOT EXISTS ${ident(name)} (_rec bigint NOT NULL, _line bigint NOT NULL, ${cols}) ON COMMIT DELETE ROWS`);
    names.add(name);
  }
  return `pg_temp.${ident(name)}`;
}

interface LockedFile {
  readonly status: string;
  readonly path: string;
  readonly run_id: string | null;
  readonly locked: boolean;
  readonly checkpoints: boolean;
  readonly staged: boolean;
  readonly rows_inserted: string;
  readonly rows_updated: string;
  readonly rows_duplicate: string;
}

/** Loads one small file in one transaction (see the module comment). */
export async function commitSmallFile(client: pg.ClientBase, input: SmallFileInput): Promise<SmallFileResult> {
  const t = input.target;
  const jt = t.jobType;
  // File columns the definition does not name need staging's extra columns: the ordinary way.
  if (input.batch?.raw && extraColumns(input.batch.raw.copy).length > 0) return { status: 'ordinary', why: 'the header has columns the definition does not name' };
  let staging: string;
  try {
    staging = await sessionTable(client, jt);
  } catch (err) {
    // A role without the TEMP privilege on the database loads every file the ordinary way.
    if ((err as { code?: unknown }).code === '42501') return { status: 'ordinary', why: 'no TEMP privilege for the session table' };
    throw err;
  }
  await client.query('BEGIN');
  try {
    const { rows } = await client.query<LockedFile>(
      `SELECT f.status, f.path, f.run_id, f.rows_inserted, f.rows_updated, f.rows_duplicate, pg_try_advisory_xact_lock($2, $3) AS locked,
         EXISTS (SELECT 1 FROM importer.checkpoints c WHERE c.file_id = f.id) AS checkpoints, to_regclass($4) IS NOT NULL AS staged
       FROM (SELECT * FROM importer.files WHERE id = $1 FOR UPDATE) f`,
      [t.fileId, FILE_LOCK_CLASS, t.fileId | 0, stagingName(t.fileId)],
    );
    const f = rows[0]!;
    const early = decide(f, input);
    if (early) {
      await client.query('ROLLBACK');
      return early;
    }
    if (f.status !== 'pending') {
      // Loaded before (--force) or failed: its checkpoints go, its rejects stay, marked superseded
      // (they say why an earlier attempt failed, migration 5), as checkpoints.ts resetFileProgress does.
      await client.query(
        `WITH gone AS (DELETE FROM importer.checkpoints WHERE file_id = $1)
         UPDATE importer.rejects SET superseded_at = now() WHERE file_id = $1 AND superseded_at IS NULL`,
        [t.fileId],
      );
    }
    const b = input.batch;
    let moved: MoveCounts = { inserted: 0, updated: 0, duplicates: 0 };
    if (b) {
      if (b.raw) {
        // Server-parsed: PostgreSQL casts; a row it refuses sends the file the ordinary way (below).
        await setCsvSession(client, b.raw.copy);
        await copyIn(client, csvCopySql(staging, b.raw.copy), b.data);
      } else {
        const cols = ['_rec', '_line', ...jt.columns.map((c) => c.name)].map(ident).join(', ');
        await copyIn(client, `COPY ${staging} (${cols}) FROM STDIN`, b.data);
      }
      if (b.rejects.count > 0) await copyRejects(client, t, b.rejects.data);
      if (b.rows > 0) moved = await moveStagedRows(client, jt, t.fileId, { file: t.file, runId: t.runId }, b.rows, targetName(jt), undefined, staging);
    }
    await markLoaded(client, input, moved);
    await client.query('COMMIT');
    return { status: 'loaded', moved };
  } catch (err) {
    await client.query('ROLLBACK').catch(() => undefined);
    // The ordinary path finds which rows the target refuses (db/rowErrors.ts) and rejects them.
    if (isRowError(err)) return { status: 'ordinary', why: 'the target refuses rows' };
    throw err;
  }
}

/** A file in these states loads again from the start: its checkpoints are an ended attempt's, nothing to resume. */
const DONE = new Set(['loaded', 'failed']);

/** What the locked ledger row says before anything is loaded, or undefined to go on. */
function decide(f: LockedFile, input: SmallFileInput): SmallFileResult | undefined {
  const t = input.target;
  if (f.status === 'loaded' && f.run_id === String(t.runId) && f.path === t.file) {
    // An earlier attempt of this run committed, and its acknowledgement was lost.
    return { status: 'loaded', moved: { inserted: Number(f.rows_inserted), updated: Number(f.rows_updated), duplicates: Number(f.rows_duplicate) } };
  }
  if (f.status === 'loaded' && !input.force) return { status: 'skip', reason: 'already loaded', loadedAs: f.path };
  if (!f.locked) return { status: 'skip', reason: 'being loaded by another importer instance' };
  if (f.staged || (f.checkpoints && !DONE.has(f.status))) return { status: 'ordinary', why: 'an earlier attempt left progress to resume' };
  return undefined;
}

/** In one statement: the file's ledger row says loaded, with its counts; its (one) checkpoint; this run's record of it. */
async function markLoaded(client: pg.ClientBase, input: SmallFileInput, moved: MoveCounts): Promise<void> {
  const t = input.target;
  const b = input.batch;
  const seconds = input.seconds();
  const params: unknown[] = [t.fileId, t.runId, t.file, input.size, seconds, input.records, moved.inserted + moved.updated, input.rejected, moved.inserted, moved.updated, moved.duplicates];
  params.push(t.jobType.name, input.sha256, seconds);
  const record = `rf AS (INSERT INTO importer.run_files (run_id, job_type, file_id, path, sha256, bytes, status, resumed, rows_loaded, rows_rejected, seconds)
         VALUES ($2, $12, $1, $3, $13, $4, 'loaded', false, $7, $8, $14))`;
  let checkpoint = '';
  if (b) {
    params.push(b.firstRecord, b.recordCount, b.rows, b.rejects.count, b.lastLine, b.endOffset, b.nextLine);
    checkpoint = `, cp AS (INSERT INTO importer.checkpoints (file_id, first_record, record_count, rows, rejects, last_line, end_offset, next_line, run_id)
         VALUES ($1, $15, $16, $17, $18, $19, $20, $21, $2))`;
  }
  await client.query(
    `WITH ${record}${checkpoint}
     UPDATE importer.files SET status = 'loaded', run_id = $2, path = $3, size = $4, started_at = now() - make_interval(secs => $5),
       finished_at = clock_timestamp(), rows_total = $6, rows_loaded = $7, rows_rejected = $8, rows_inserted = $9, rows_updated = $10,
       rows_duplicate = $11, rows_refused = 0, error = NULL, error_code = NULL WHERE id = $1`,
    params,
  );
}
