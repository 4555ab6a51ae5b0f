/**
 * One transaction on one client: BEGIN, run `fn`, COMMIT; ROLLBACK if `fn` throws (the error is
 * rethrown unchanged, so retry classification still sees the server's SQLSTATE). A rollback that
 * fails too (the connection is gone) is ignored: the server rolls back a dead session's transaction.
 *
 * `fn` may end the transaction early by returning `rollback(value)`: the transaction is rolled back
 * and `value` returned, for "nothing to do" answers found inside the transaction.
 */
import type pg from 'pg';

const ROLLBACK = Symbol('rollback');

export interface RolledBack<T> {
  readonly [ROLLBACK]: true;
  readonly value: T;
}

export function rollback<T>(value: T): RolledBack<T> {
  return { [ROLLBACK]: true, value };
}

function isRolledBack<T>(v: unknown): v is RolledBack<T> {
  return typeof v === 'object' && v !== null && ROLLBACK in v;
}

export async function withTransaction<T>(client: pg.ClientBase, fn: (client: pg.ClientBase) => Promise<T | RolledBack<T>>): Promise<T> {
  await client.query('BEGIN');
  let result: T | RolledBack<T>;
  try {
    result = await fn(client);
  } catch (err) {
    await client.query('ROLLBACK').catch(() => undefined);
    throw err;
  }
  if (isRolledBack<T>(result)) {
    await client.query('ROLLBACK');
    return result.value;
  }
  await client.query('COMMIT');
  return result;
}
