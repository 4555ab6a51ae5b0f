/**
 * The rejects of a file that failed on a count threshold: the producer stops at the first reject
 * past it, so the batch holding the last ones is never committed. They are written here, so that
 * `importer rejects` shows why the file failed (its file is not loaded, so they are marked so).
 * A reject already committed at the same line and code is not written twice.
 */
import type pg from 'pg';
import type { Reject } from './batch.js';
import { withTransaction } from './transaction.js';

export interface KeptRejectsTarget {
  readonly runId: number;
  readonly jobType: { readonly name: string };
  readonly fileId: number;
  readonly file: string;
}

export async function keepRejects(c: pg.ClientBase, t: KeptRejectsTarget, rejects: readonly Reject[]): Promise<void> {
  if (rejects.length === 0) return;
  await withTransaction(c, async () => {
    await c.query(
      `INSERT INTO importer.rejects (run_id, job_type, file_id, file, line, byte_offset, record, column_name, code, message, constraint_name)
       SELECT $1, $2, $3, $4, x.line, x.byte_offset, x.record, x.column_name, x.code, x.message, x.constraint_name
         FROM unnest($5::bigint[], $6::bigint[], $7::text[], $8::text[], $9::text[], $10::text[], $11::text[])
              AS x(line, byte_offset, record, column_name, code, message, constraint_name)
        WHERE NOT EXISTS (SELECT 1 FROM importer.rejects r WHERE r.file_id = $3 AND r.superseded_at IS NULL AND r.line = x.line AND r.code = x.code)`,
      [
        t.runId,
        t.jobType.name,
        t.fileId,
        t.file,
        rejects.map((r) => r.line),
        rejects.map((r) => r.offset),
        rejects.map((r) => r.record),
        rejects.map((r) => r.column),
        rejects.map((r) => r.code),
        rejects.map((r) => r.message),
        rejects.map((r) => r.constraint ?? null),
      ],
    );
  });
}
