/**
 * COPY of a server-parsed batch (raw CSV records, FORMAT csv): PostgreSQL's input functions cast the
 * values, under the session settings the client path's casts assume. A row the COPY refuses is a
 * one-row reject (db/rowCopy.ts); this module says where each row of a raw batch is.
 */
import type pg from 'pg';
import type { JobType } from '../jobtypes/normalize.js';
import { ROW_MARKS, type Batch, type CsvCopy, type Reject } from './batch.js';
import { copyRows, type CopyRows } from './rowCopy.js';
import { ident, literal as lit } from './sql.js';

/** The staging column that keeps field `i` of a file column the definition does not name. */
export const extraColumn = (i: number): string => `_x${i}`;

/** The staging columns that keep a file's columns the definition does not name. */
export function extraColumns(copy: CsvCopy): string[] {
  return copy.columns.flatMap((c, i) => (c === null ? [extraColumn(i)] : []));
}

/** The COPY statement for a server-parsed batch into `table`. */
export function csvCopySql(table: string, copy: CsvCopy): string {
  const cols = copy.columns.map((c, i) => ident(c ?? extraColumn(i)));
  if (copy.prefixed) cols.unshift('_rec', '_line');
  const forceNull = copy.forceNull.length > 0 ? `, FORCE_NULL (${copy.forceNull.map(ident).join(', ')})` : '';
  return `COPY ${table} (${cols.join(', ')}) FROM STDIN (FORMAT csv, DELIMITER ${lit(copy.delimiter)}, QUOTE ${lit(copy.quote)}, ESCAPE ${lit(copy.escape)}, NULL ''${forceNull})`;
}

/** The session settings a server-parsed batch's transaction needs, for the values to read as on the client path. */
export async function setCsvSession(client: pg.ClientBase, copy: CsvCopy): Promise<void> {
  await client.query(`SELECT set_config('DateStyle', 'ISO, YMD', true), set_config('TimeZone', $1, true)`, [copy.timezone ?? 'UTC']);
}

/** The rows of a server-parsed batch, by its row marks. */
class RowIndex implements CopyRows {
  private buf: Buffer | undefined;
  constructor(private readonly batch: Batch & { raw: NonNullable<Batch['raw']> }) {}

  get count(): number {
    return this.batch.raw.rows.length / ROW_MARKS;
  }
  private data(): Buffer {
    return (this.buf ??= Buffer.concat(this.batch.data));
  }
  start(k: number): number {
    return k === 0 ? 0 : this.batch.raw.rows[(k - 1) * ROW_MARKS]!;
  }
  end(k: number): number {
    return this.batch.raw.rows[k * ROW_MARKS]!;
  }
  /** Rows [a, b) as COPY data. */
  slice(a: number, b: number): Uint8Array[] {
    if (a === 0 && b === this.count) return [...this.batch.data];
    return [this.data().subarray(this.start(a), this.end(b - 1))];
  }
  /**
   * The row of [a, b) that COPY line `line` (1-based, counted from row a) falls in. PostgreSQL
   * counts a line per row, plus each line break inside quotes in the COPY's line-break style, which
   * it learns at the end of the first row (our rows end in LF): before that it counts each CR inside
   * quotes, after it each LF.
   */
  rowAtLine(a: number, b: number, line: number): number | undefined {
    const d = this.data();
    let lines = 0;
    for (let k = a; k < b; k++) {
      const end = this.end(k) - 1;
      const inside = k === a ? 0x0d : 0x0a;
      lines++;
      for (let i = d.indexOf(inside, this.start(k)); i !== -1 && i < end; i = d.indexOf(inside, i + 1)) lines++;
      if (lines >= line) return k;
    }
    return undefined;
  }
  /** The record of row k as the file has it (without `_rec`, `_line` and the line break). */
  record(k: number): string {
    let s = this.data().subarray(this.start(k), this.end(k) - 1).toString('utf8');
    if (this.batch.raw.copy.prefixed) {
      const d = this.batch.raw.copy.delimiter;
      s = s.slice(s.indexOf(d, s.indexOf(d) + 1) + 1);
    }
    return s.replace(/\0/g, '\u2400');
  }
  line(k: number): number {
    return this.batch.raw.rows[k * ROW_MARKS + 1]!;
  }
  offset(k: number): number {
    return this.batch.raw.rows[k * ROW_MARKS + 2]!;
  }
}

/**
 * COPYs a server-parsed batch into `table`, in the caller's transaction, and returns the rows it
 * refused as rejects (db/rowCopy.ts). `onReject` is told of each one as it is found, and may throw
 * to stop (the threshold): a file whose every row is refused must not cost a COPY per row.
 */
export async function copyCsvRows(client: pg.ClientBase, table: string, batch: Batch, jt: JobType, onReject: (r: Reject) => void): Promise<Reject[]> {
  if (!batch.raw) throw new Error('copyCsvRows: not a server-parsed batch');
  return copyRows(client, csvCopySql(table, batch.raw.copy), new RowIndex(batch as Batch & { raw: NonNullable<Batch['raw']> }), jt, onReject);
}
