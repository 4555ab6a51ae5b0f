/** `importer sql`: what an operator typed (one statement or several), on a session with the server's own settings. */
import type pg from 'pg';
import { withSession } from './session.js';

/**
 * Rows as arrays (duplicate column names stay apart) of PostgreSQL's own text (dates stay dates,
 * in the server's time zone).
 */
export function runStatement(url: string, sql: string): Promise<pg.QueryResult> {
  return withSession(url, (client) => client.query({ text: sql, rowMode: 'array', types: { getTypeParser: () => (v: string) => v } }), 'server');
}

/**
 * Every statement of `sql` (a string without parameters goes as one simple query, so
 * `select 1; select 2` runs both, in one implicit transaction unless it says otherwise), each
 * statement's result in order.
 */
export async function runStatements(url: string, sql: string): Promise<pg.QueryResult[]> {
  const r = (await runStatement(url, sql)) as pg.QueryResult | pg.QueryResult[];
  return Array.isArray(r) ? r : [r];
}
