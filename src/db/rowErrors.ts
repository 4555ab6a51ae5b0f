/**
 * Rows the target refuses in the final move: a NOT NULL, CHECK, foreign-key or unique constraint, a
 * value too long for its column, any data error (SQLSTATE classes 22 and 23). The move is one
 * INSERT … SELECT, whose error names no row (a foreign-key violation not even a line), so the rows
 * are found by bisection: ranges of staged rows are moved under savepoints, and a range that fails
 * is split until the failing rows stand alone. With k bad rows among n that is about 2k·log2(n/k)
 * statements, each an index range scan; it runs only after the move failed.
 */
import type pg from 'pg';
import type { JobType } from '../jobtypes/normalize.js';
import { ident } from './sql.js';
import { moveStagedRows, stagingName } from './target.js';

/** A staged row the target refused, with the server's reason. */
export interface RefusedRow {
  /** The row's `_rec` (the record's byte offset in the decoded file) and physical line. */
  readonly rec: number;
  readonly line: number;
  readonly sqlstate: string;
  readonly message: string;
  readonly column: string | null;
  readonly constraint: string | null;
}

/** Whether the move failed because of some rows' values (not the connection, not the statement). */
export function isRowError(err: unknown): boolean {
  const code = (err as { code?: unknown })?.code;
  return typeof code === 'string' && /^(22|23)[0-9A-Z]{3}$/.test(code);
}

function refused(rec: number, line: number, err: unknown): RefusedRow {
  const e = err as { code: string; message: string; detail?: string; column?: string; constraint?: string };
  return {
    rec,
    line,
    sqlstate: e.code,
    message: e.detail ? `${e.message} (${e.detail})` : e.message,
    column: e.column ?? null,
    constraint: e.constraint ?? null,
  };
}

/**
 * Finds the staged rows that the target refuses, inside the caller's transaction (which the caller
 * rolls back: the ranges that moved are only a trial). Stops once `limit` rows are found.
 */
export async function findRefusedRows(client: pg.ClientBase, jt: JobType, fileId: number, lineage: { file: string; runId: number }, into: string, limit: number): Promise<RefusedRow[]> {
  const staging = stagingName(fileId);
  await client.query(`CREATE INDEX ON ${staging} (_rec)`);
  const { rows } = await client.query<{ rec: string; line: string }>(`SELECT _rec AS rec, _line AS line FROM ${staging} ORDER BY _rec`);
  const recs = rows.map((r) => Number(r.rec));
  const bad: RefusedRow[] = [];
  const savepoint = ident('bisect');
  // Ranges still to try, in file order (a stack, last range on top), so upsert's "last row wins" holds.
  const todo: Array<[number, number, unknown]> = [[0, recs.length, undefined]];
  while (todo.length > 0 && bad.length < limit) {
    const [lo, hi, known] = todo.pop()!;
    let err = known;
    if (err === undefined) {
      await client.query(`SAVEPOINT ${savepoint}`);
      try {
        await moveStagedRows(client, jt, fileId, lineage, hi - lo, into, [recs[lo]!, recs[hi - 1]!]);
        await client.query(`RELEASE SAVEPOINT ${savepoint}`);
        continue;
      } catch (e) {
        await client.query(`ROLLBACK TO SAVEPOINT ${savepoint}`);
        if (!isRowError(e)) throw e;
        err = e;
      }
    }
    if (hi - lo === 1) {
      bad.push(refused(recs[lo]!, Number(rows[lo]!.line), err));
      continue;
    }
    const mid = (lo + hi) >>> 1;
    todo.push([mid, hi, undefined], [lo, mid, undefined]);
  }
  return bad;
}
