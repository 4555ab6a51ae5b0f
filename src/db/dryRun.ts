/**
 * `importer validate` with a server and the server parser: the file's batches are COPYed into a
 * temporary table shaped like staging, in one transaction that is rolled back. Nothing is written;
 * the rows PostgreSQL refuses come back as rejects, exactly as a load would find them.
 */
import type pg from 'pg';
import type { JobType } from '../jobtypes/normalize.js';
import type { Batch, Reject } from './batch.js';
import { copyCsvRows, setCsvSession } from './csvCopy.js';
import { ident } from './sql.js';
import { stagingColumns } from './target.js';

const TABLE = 'pg_temp.importer_validate';

export async function beginDryCopy(client: pg.ClientBase, jt: JobType): Promise<void> {
  await client.query('BEGIN');
  await client.query(`CREATE TEMP TABLE importer_validate (_rec bigint, _line bigint, ${stagingColumns(jt)}) ON COMMIT DROP`);
}

/** The file's columns the definition does not name. */
export async function addDryExtras(client: pg.ClientBase, columns: readonly string[]): Promise<void> {
  if (columns.length > 0) await client.query(`ALTER TABLE ${TABLE} ${columns.map((c) => `ADD COLUMN ${ident(c)} text`).join(', ')}`);
}

/** COPYs one server-parsed batch; returns the rows PostgreSQL refused. */
export async function dryCopyBatch(client: pg.ClientBase, jt: JobType, batch: Batch): Promise<readonly Reject[]> {
  await setCsvSession(client, batch.raw!.copy);
  return copyCsvRows(client, TABLE, batch, jt, () => undefined);
}

export async function endDryCopy(client: pg.ClientBase): Promise<void> {
  await client.query('ROLLBACK').catch(() => undefined);
}
