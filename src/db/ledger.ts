/**
 * The ledger: runs, job runs and files, identified by content hash, with their checkpoints.
 *
 * Exactly-once rests on three things, all in PostgreSQL:
 * 1. one row per (job type, sha256) in importer.files, so a loaded file is never loaded again;
 * 2. a session advisory lock per file, held on this process's lock connection while it loads the
 *    file, so only one instance works on a file (the lock dies with the process or its connection);
 * 3. each batch commits together with its checkpoint, and the commit re-checks under a row lock that
 *    no committed batch overlaps it (see copy.ts), so even a lost lock cannot double a row.
 */
import os from 'node:os';
import type pg from 'pg';
import type { Logger } from 'pino';
import type { SourceFile } from '../source/discover.js';
import { type ConnectionBudget, isConnectionBroken, type Lease } from './budget.js';
import type { Strategy } from '../jobtypes/schema.js';
import { committedRanges, resetFileProgress, stagingMatches, type CommittedRange } from './checkpoints.js';
import { dropStaging } from './target.js';
import { withTransaction } from './transaction.js';
import { ImporterError } from '../errors.js';

/** Advisory lock class for files ('IMP'). */
export const FILE_LOCK_CLASS = 0x494d50;

export type { CommittedRange } from './checkpoints.js';

export type Claim =
  | { readonly kind: 'skip'; readonly fileId: number; readonly reason: string; readonly loadedAs?: string }
  | { readonly kind: 'load'; readonly fileId: number; readonly committed: readonly CommittedRange[]; readonly resumed: boolean };

/** A file's ledger row as `peekFiles` found it. */
export interface PeekedFile {
  readonly fileId: number;
  readonly status: string;
  readonly path: string;
  /** An unfinished earlier attempt left checkpoints: only the ordinary path resumes them. */
  readonly progress: boolean;
}

export interface FileOutcome {
  /** 'staged': replace mode, waiting for the job's swap. */
  status: 'loaded' | 'failed' | 'interrupted' | 'staged';
  rowsTotal: number;
  rowsLoaded: number;
  rowsRejected: number;
  rowsInserted: number;
  rowsUpdated: number;
  rowsDuplicate: number;
  errorCode?: string | undefined;
  error?: string | undefined;
}

export class Ledger {
  private lockLease: Lease | undefined;
  private lockQueue: Promise<unknown> = Promise.resolve();
  /** The lock connection broke; its replacement must take the held locks again. */
  private lockBroken = false;
  /** File locks this process holds, and those it lost to another instance during a reconnect. */
  private readonly held = new Set<number>();
  private readonly lost = new Set<number>();
  /** Per channel, the notifications waiting for the lock connection (sent together by `notify`). */
  private readonly notes = new Map<string, { payloads: string[]; sent: Promise<void> }>();

  constructor(
    private readonly budget: ConnectionBudget,
    private readonly logger: Logger,
  ) {}

  async startRun(command: string): Promise<number> {
    const { rows } = await this.budget.withClient((c) =>
      c.query<{ id: string }>('INSERT INTO importer.runs (command, hostname, pid) VALUES ($1, $2, $3) RETURNING id', [
        command,
        os.hostname(),
        process.pid,
      ]),
    );
    return Number(rows[0]!.id);
  }

  async finishRun(runId: number, status: string, error?: string): Promise<void> {
    await this.budget.withClient((c) =>
      c.query('UPDATE importer.runs SET status = $2, finished_at = now(), error = $3 WHERE id = $1', [runId, status, error ?? null]),
    );
  }

  async startJobRun(runId: number, jobType: string, trigger: string): Promise<number> {
    const { rows } = await this.budget.withClient((c) =>
      c.query<{ id: string }>('INSERT INTO importer.job_runs (run_id, job_type, trigger) VALUES ($1, $2, $3) RETURNING id', [
        runId,
        jobType,
        trigger,
      ]),
    );
    return Number(rows[0]!.id);
  }

  async finishJobRun(
    id: number,
    s: { status: string; filesLoaded: number; filesFailed: number; filesSkipped: number; rowsLoaded: number; rowsRejected: number; restarts: number; error?: string | undefined },
  ): Promise<void> {
    await this.budget.withClient((c) =>
      c.query(
        `UPDATE importer.job_runs SET status = $2, finished_at = now(), files_loaded = $3, files_failed = $4, files_skipped = $5,
           rows_loaded = $6, rows_rejected = $7, restarts = $8, error = $9 WHERE id = $1`,
        [id, s.status, s.filesLoaded, s.filesFailed, s.filesSkipped, s.rowsLoaded, s.rowsRejected, s.restarts, s.error ?? null],
      ),
    );
  }

  /**
   * Runs a query on the lock connection (serialized). A broken connection is replaced, and since
   * session advisory locks die with their session, the new one takes every held file lock again; a
   * lock that another instance took in the meantime is marked lost (see `confirmLock`).
   */
  private onLockConnection<T>(fn: (c: pg.PoolClient) => Promise<T>): Promise<T> {
    const next = this.lockQueue.then(async () => {
      if (!this.lockLease) {
        this.lockLease = await this.budget.lease();
        if (this.lockBroken) await this.relock(this.lockLease.client);
        this.lockBroken = false;
      }
      try {
        return await fn(this.lockLease.client);
      } catch (err) {
        if (isConnectionBroken(err)) {
          this.lockLease.release(err as Error);
          this.lockLease = undefined;
          this.lockBroken = true;
        }
        throw err;
      }
    });
    this.lockQueue = next.catch(() => undefined);
    return next;
  }

  private async relock(c: pg.PoolClient): Promise<void> {
    for (const fileId of this.held) {
      const { rows } = await c.query<{ ok: boolean }>('SELECT pg_try_advisory_lock($1, $2) AS ok', [FILE_LOCK_CLASS, fileId | 0]);
      if (!rows[0]!.ok) {
        this.held.delete(fileId);
        this.lost.add(fileId);
        this.logger.warn({ fileId }, 'a file lock was lost with its connection and another importer instance holds it now');
      } else {
        this.logger.info({ fileId }, 'took a file lock again after the lock connection was lost');
      }
    }
  }

  private async tryLock(fileId: number): Promise<boolean> {
    const { rows } = await this.onLockConnection((c) =>
      c.query<{ ok: boolean }>('SELECT pg_try_advisory_lock($1, $2) AS ok', [FILE_LOCK_CLASS, fileId | 0]),
    );
    if (rows[0]!.ok) {
      this.held.add(fileId);
      this.lost.delete(fileId);
    }
    return rows[0]!.ok;
  }

  /**
   * Makes sure this process still holds a file's lock, taking it again if the lock connection was
   * lost (a server restart). Throws DB_CONFLICT when another instance holds it now. Called before a
   * file's final move; each batch commit is guarded by the checkpoint overlap check as well.
   */
  async confirmLock(fileId: number): Promise<void> {
    const held = await this.onLockConnection(async (c) => {
      if (this.lost.has(fileId)) return false;
      const { rows } = await c.query<{ ok: boolean }>(
        `SELECT EXISTS (SELECT 1 FROM pg_locks WHERE locktype = 'advisory' AND pid = pg_backend_pid() AND granted
           AND classid = $1::int::oid AND objid = $2::int::oid AND objsubid = 2) AS ok`,
        [FILE_LOCK_CLASS, fileId | 0],
      );
      if (rows[0]!.ok) return true;
      const taken = await c.query<{ ok: boolean }>('SELECT pg_try_advisory_lock($1, $2) AS ok', [FILE_LOCK_CLASS, fileId | 0]);
      if (taken.rows[0]!.ok) this.held.add(fileId);
      return taken.rows[0]!.ok;
    });
    if (!held) {
      throw new ImporterError('DB_CONFLICT', `another importer instance took over file ${fileId} while the connection was lost; this instance stops loading it`, {
        fileId,
      });
    }
  }

  async unlock(fileId: number): Promise<void> {
    this.held.delete(fileId);
    this.lost.delete(fileId);
    await this.onLockConnection((c) => c.query('SELECT pg_advisory_unlock($1, $2)', [FILE_LOCK_CLASS, fileId | 0])).catch((err) =>
      this.logger.warn({ err: (err as Error).message, fileId }, 'could not release a file lock (it is released with the connection)'),
    );
  }

  /**
   * What the ledger knows of many files at once (one round trip each way for a whole group of a
   * job type's files): each gets its row (inserted 'pending', claimed by no run yet, when it has
   * none), its status, and whether an earlier attempt left progress (checkpoints) to resume.
   * Decides nothing under lock: a file to load is claimed by `claimFile` or, when small, in its
   * loading transaction (db/smallFile.ts).
   */
  async peekFiles(jobType: string, files: readonly { path: string; size: number; sha256: string }[]): Promise<Map<string, PeekedFile>> {
    const rows = await this.budget.withClient(async (c) => {
      await c.query(
        `INSERT INTO importer.files (job_type, path, size, sha256, status)
         SELECT $1, p, s, h, 'pending' FROM unnest($2::text[], $3::bigint[], $4::text[]) AS u(p, s, h)
         ON CONFLICT (job_type, sha256) DO NOTHING`,
        [jobType, files.map((f) => f.path), files.map((f) => f.size), files.map((f) => f.sha256)],
      );
      const { rows } = await c.query<{ id: string; sha256: string; status: string; path: string; progress: boolean }>(
        `SELECT f.id, f.sha256, f.status, f.path, f.status NOT IN ('loaded', 'failed') AND EXISTS (SELECT 1 FROM importer.checkpoints c WHERE c.file_id = f.id) AS progress
         FROM importer.files f WHERE f.job_type = $1 AND f.sha256 = ANY($2::text[])`,
        [jobType, files.map((f) => f.sha256)],
      );
      return rows;
    });
    return new Map(rows.map((r) => [r.sha256, { fileId: Number(r.id), status: r.status, path: r.path, progress: r.progress }]));
  }

  /**
   * Decides what to do with a file: skip it (already loaded, or another instance has it), or load
   * it, resuming after its committed batches. On 'load' the caller holds the file's lock and must
   * call `unlock` when done.
   */
  async claimFile(jobType: string, file: SourceFile, sha256: string, runId: number, force: boolean, strategy: Strategy = 'staged'): Promise<Claim> {
    const row = await this.budget.withClient(async (c) => {
      await c.query(
        `INSERT INTO importer.files (job_type, path, size, sha256, status, run_id) VALUES ($1, $2, $3, $4, 'pending', $5)
         ON CONFLICT (job_type, sha256) DO NOTHING`,
        [jobType, file.path, file.size, sha256, runId],
      );
      const { rows } = await c.query<{ id: string; status: string; path: string }>(
        'SELECT id, status, path FROM importer.files WHERE job_type = $1 AND sha256 = $2',
        [jobType, sha256],
      );
      return rows[0]!;
    });
    const fileId = Number(row.id);
    if (row.status === 'loaded' && !force) return { kind: 'skip', fileId, reason: 'already loaded', loadedAs: row.path };
    if (!(await this.tryLock(fileId))) {
      return { kind: 'skip', fileId, reason: 'being loaded by another importer instance' };
    }
    try {
      return await this.budget.withClient(async (c) => {
        await c.query('BEGIN');
        try {
          const { rows } = await c.query<{ status: string; path: string }>('SELECT status, path FROM importer.files WHERE id = $1 FOR UPDATE', [fileId]);
          const status = rows[0]!.status;
          if (status === 'loaded' && !force) {
            await c.query('ROLLBACK');
            await this.unlock(fileId);
            return { kind: 'skip', fileId, reason: 'already loaded', loadedAs: rows[0]!.path } as const;
          }
          let committed: CommittedRange[] = [];
          if (status === 'loaded' || (status === 'failed' && strategy !== 'batches')) {
            await resetFileProgress(c, fileId);
          } else if (strategy === 'batches') {
            // The committed batches are in the target: resume after them, whatever ended the last attempt.
            committed = await committedRanges(c, fileId);
          } else {
            committed = await committedRanges(c, fileId);
            if (committed.length > 0 && !(await stagingMatches(c, fileId, committed.reduce((s, r) => s + r.rows, 0)))) {
              this.logger.warn({ fileId, path: file.path }, 'staged rows do not match the checkpoints; loading the file again from the start');
              await resetFileProgress(c, fileId);
              committed = [];
            }
          }
          await c.query(
            `UPDATE importer.files SET status = 'loading', run_id = $2, path = $3, size = $4, started_at = now(), finished_at = NULL,
               error = NULL, error_code = NULL WHERE id = $1`,
            [fileId, runId, file.path, file.size],
          );
          await c.query('COMMIT');
          return { kind: 'load', fileId, committed, resumed: committed.length > 0 } as const;
        } catch (err) {
          await c.query('ROLLBACK').catch(() => undefined);
          throw err;
        }
      });
    } catch (err) {
      await this.unlock(fileId);
      throw err;
    }
  }

  /** Records a file that ended without loading (failed or interrupted); a failed file's staging is dropped. */
  async endFile(fileId: number, outcome: FileOutcome): Promise<void> {
    await this.budget.withClient(async (c) => {
      if (outcome.status === 'failed') await dropStaging(c, fileId);
      await c.query(
        `UPDATE importer.files SET status = $2, finished_at = now(), rows_total = $3, rows_loaded = $4, rows_rejected = $5,
           rows_inserted = $6, rows_updated = $7, rows_duplicate = $8, error_code = $9, error = $10 WHERE id = $1`,
        [
          fileId,
          outcome.status,
          outcome.rowsTotal,
          outcome.rowsLoaded,
          outcome.rowsRejected,
          outcome.rowsInserted,
          outcome.rowsUpdated,
          outcome.rowsDuplicate,
          outcome.errorCode ?? null,
          outcome.error ?? null,
        ],
      );
    });
  }

  /**
   * Forgets a claimed file that changed while it loaded: its progress goes (nothing of it reached
   * the target) and its row says why. Its new content has another hash, so a later run claims it anew.
   */
  async abandonFile(fileId: number, why: string): Promise<void> {
    await this.budget.withClient((c) =>
      withTransaction(c, async () => {
        await resetFileProgress(c, fileId);
        await c.query(`UPDATE importer.files SET status = 'changed', finished_at = now(), error_code = 'SOURCE_CHANGED', error = $2 WHERE id = $1`, [fileId, why]);
      }),
    );
  }

  /**
   * NOTIFY on the lock connection (live progress for dashboards); failures are only logged.
   * Notifications that wait for the connection go together, in order, in one statement: with
   * small files a start and an end per file were two round trips each, as many as the file's load.
   */
  notify(channel: string, payload: string): Promise<void> {
    let waiting = this.notes.get(channel);
    if (waiting) {
      waiting.payloads.push(payload);
      return waiting.sent;
    }
    const payloads = [payload];
    const sent = this.onLockConnection((c) => {
      this.notes.delete(channel);
      return c.query('SELECT pg_notify($1, p) FROM unnest($2::text[]) WITH ORDINALITY AS u(p, n) ORDER BY n', [channel, payloads]);
    })
      .then(() => undefined)
      .catch((err: unknown) => this.logger.debug({ err: (err as Error).message }, 'progress notification failed'));
    this.notes.set(channel, (waiting = { payloads, sent }));
    return sent;
  }

  async close(): Promise<void> {
    await this.lockQueue;
    this.lockLease?.release();
    this.lockLease = undefined;
  }
}
