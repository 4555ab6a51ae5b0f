/** `importer sql`: one statement an operator typed, on a session with the server's own settings. */
import type pg from 'pg';
import { withSession } from './session.js';

/**
 * Rows as arrays (duplicate column names stay apart) of PostgreSQL's own text (dates stay dates,
 * in the server's time zone).
 */
export function runStatement(url: string, sql: string): Promise<pg.QueryResult> {
  return withSession(url, (client) => client.query({ text: sql, rowMode: 'array', types: { getTypeParser: () => (v: string) => v } }), 'server');
}
