/**
 * A COPY that refuses a row rejects that row, never its batch. The error names the COPY line where
 * it stopped (`CONTEXT: COPY t, line N`); the batch's row index maps it back to the row, which
 * becomes a reject (db/copyErrors.ts gives its code), and the COPY runs again under a savepoint
 * without it: the rows before it in one COPY, the rows after it in the next. An error that names no
 * line (a foreign key, checked at the end of the statement) is found by bisection. Each refused row
 * costs one more COPY of the rows around it, so the rows are copied at most about twice whatever
 * the number of bad ones. Errors that are not about a row's values (SQLSTATE classes other than 22
 * and 23) fail the batch as before.
 */
import type pg from 'pg';
import type { JobType } from '../jobtypes/normalize.js';
import type { Batch, Reject } from './batch.js';
import { copyErrorLine, copyRowError } from './copyErrors.js';
import { copyIn, decodeValue } from './copyText.js';
import { isRowError } from './rowErrors.js';

/** Where the rows of a batch are, for a COPY that refuses some of them. */
export interface CopyRows {
  readonly count: number;
  /** Rows [a, b) as COPY data. */
  slice(a: number, b: number): Uint8Array[];
  /** The row of [a, b) that COPY line `line` (1-based, counted from row a) falls in. */
  rowAtLine(a: number, b: number, line: number): number | undefined;
  /** The record of row k, as shown in the quarantine; its physical line and byte offset. */
  record(k: number): string;
  line(k: number): number;
  offset(k: number): number;
}

/** COPYs the rows with `sql` in the caller's transaction; returns those the COPY refused, as rejects. */
export async function copyRows(client: pg.ClientBase, sql: string, rows: CopyRows, jt: JobType, onReject: (r: Reject) => void): Promise<Reject[]> {
  const rejects: Reject[] = [];
  const reject = (k: number, err: unknown) => {
    const e = copyRowError(err, jt);
    const r: Reject = { line: rows.line(k), offset: rows.offset(k), record: rows.record(k), column: e.column, code: e.code, message: e.message, constraint: e.constraint };
    rejects.push(r);
    onReject(r);
  };
  const pending: [number, number][] = [[0, rows.count]];
  while (pending.length > 0) {
    const [a, b] = pending.shift()!;
    if (a >= b) continue;
    await client.query('SAVEPOINT copy_rows');
    try {
      await copyIn(client, sql, rows.slice(a, b));
      await client.query('RELEASE SAVEPOINT copy_rows');
      continue;
    } catch (err) {
      if (!isRowError(err)) throw err;
      await client.query('ROLLBACK TO SAVEPOINT copy_rows');
      await client.query('RELEASE SAVEPOINT copy_rows');
      const line = copyErrorLine(err);
      const k = line === undefined ? undefined : rows.rowAtLine(a, b, line);
      if (k !== undefined) {
        reject(k, err);
        pending.unshift([a, k], [k + 1, b]);
      } else if (b - a === 1) {
        reject(a, err);
      } else {
        const mid = (a + b) >>> 1;
        pending.unshift([a, mid], [mid, b]);
      }
    }
  }
  return rejects;
}

/**
 * The rows of a client-parsed batch (COPY text, one line per row, starting with `_rec` and
 * `_line`): COPY line N is row N. The quarantine shows the row's values as the client cast them,
 * joined by the file's delimiter (the raw record is not at hand here). The rows are found only
 * when the first COPY failed.
 */
export class TextRows implements CopyRows {
  private found: { data: Buffer; ends: number[] } | undefined;
  constructor(
    private readonly batch: Batch,
    private readonly delimiter: string,
  ) {}
  get count(): number {
    return this.batch.rows;
  }
  private rows(): { data: Buffer; ends: number[] } {
    if (this.found) return this.found;
    const data = Buffer.concat(this.batch.data);
    const ends: number[] = [];
    for (let i = data.indexOf(0x0a); i !== -1; i = data.indexOf(0x0a, i + 1)) ends.push(i + 1);
    return (this.found = { data, ends });
  }
  private start(k: number): number {
    return k === 0 ? 0 : this.rows().ends[k - 1]!;
  }
  slice(a: number, b: number): Uint8Array[] {
    if (a === 0 && b === this.count) return [...this.batch.data];
    return [this.rows().data.subarray(this.start(a), this.rows().ends[b - 1]!)];
  }
  rowAtLine(a: number, b: number, line: number): number | undefined {
    return a + line - 1 < b ? a + line - 1 : undefined;
  }
  private fields(k: number): string[] {
    return this.rows().data.subarray(this.start(k), this.rows().ends[k]! - 1).toString('utf8').split('\t');
  }
  record(k: number): string {
    return this.fields(k)
      .slice(2)
      .map((v) => decodeValue(v) ?? '')
      .join(this.delimiter)
      .replace(/\0/g, '\u2400');
  }
  line(k: number): number {
    return Number(this.fields(k)[1]);
  }
  offset(k: number): number {
    return Number(this.fields(k)[0]);
  }
}
