/**
 * What each run did with each file it touched (migration 5: `importer.run_files`), written once
 * when the file's outcome is known and never overwritten by a later run: `importer.files` keeps one
 * row per content hash, and its `run_id` moves at every claim.
 */
import type { Queryable } from './read/queryable.js';

export interface RunFileRecord {
  readonly runId: number;
  readonly jobType: string;
  readonly fileId: number | undefined;
  readonly path: string;
  readonly sha256: string | undefined;
  readonly bytes: number;
  /** loaded, failed, skipped, interrupted. */
  readonly status: string;
  readonly reason: string | undefined;
  readonly resumed: boolean;
  readonly rowsLoaded: number;
  readonly rowsRejected: number;
  readonly errorCode: string | undefined;
  readonly error: string | undefined;
  readonly line: number | undefined;
  readonly seconds: number;
}

export async function recordRunFile(c: Queryable, r: RunFileRecord): Promise<void> {
  await c.query(
    `INSERT INTO importer.run_files (run_id, job_type, file_id, path, sha256, bytes, status, reason, resumed, rows_loaded, rows_rejected, error_code, error, line, seconds)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15)`,
    [r.runId, r.jobType, r.fileId ?? null, r.path, r.sha256 ?? null, r.bytes, r.status, r.reason ?? null, r.resumed, r.rowsLoaded, r.rowsRejected, r.errorCode ?? null, r.error ?? null, r.line ?? null, r.seconds],
  );
}

/** Many files' records in one statement (a group of skipped files: one round trip and one commit, not one each). */
export async function recordRunFiles(c: Queryable, records: readonly RunFileRecord[]): Promise<void> {
  if (records.length === 0) return;
  const values: string[] = [];
  const params: unknown[] = [];
  for (const r of records) {
    const row = [r.runId, r.jobType, r.fileId ?? null, r.path, r.sha256 ?? null, r.bytes, r.status, r.reason ?? null, r.resumed, r.rowsLoaded, r.rowsRejected, r.errorCode ?? null, r.error ?? null, r.line ?? null, r.seconds];
    values.push(`(${row.map((_v, i) => `$${params.length + i + 1}`).join(', ')})`);
    params.push(...row);
  }
  await c.query(
    `INSERT INTO importer.run_files (run_id, job_type, file_id, path, sha256, bytes, status, reason, resumed, rows_loaded, rows_rejected, error_code, error, line, seconds)
     VALUES ${values.join(', ')}`,
    params,
  );
}
