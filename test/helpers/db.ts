/** One database per test file, created on the suite's server and dropped afterwards. */
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { inject } from 'vitest';
import { closePool } from '../../src/db/closePool.js';

export interface TestDatabase {
  readonly url: string;
  readonly name: string;
  query<T extends pg.QueryResultRow = Record<string, unknown>>(sql: string, params?: unknown[]): Promise<T[]>;
  drop(): Promise<void>;
}

export function withDatabase(url: string, database: string): string {
  const u = new URL(url);
  u.pathname = `/${database}`;
  return u.toString();
}

export async function createTestDatabase(prefix = 'test'): Promise<TestDatabase> {
  const admin = inject('adminUrl');
  const name = `${prefix}_${randomBytes(5).toString('hex')}`;
  const c = new pg.Client({ connectionString: admin });
  await c.connect();
  await c.query(`CREATE DATABASE ${pg.escapeIdentifier(name)}`);
  await c.end();
  const url = withDatabase(admin, name);
  const pool = new pg.Pool({ connectionString: url, max: 2 });
  // Dates and numerics as PostgreSQL prints them, so tests compare exact text.
  const raw = { getTypeParser: () => (v: string) => v };
  return {
    url,
    name,
    async query(sql, params = []) {
      const r = await pool.query({ text: sql, values: params, types: raw });
      return r.rows;
    },
    async drop() {
      await closePool(pool);
      const a = new pg.Client({ connectionString: admin });
      await a.connect();
      await a.query(`DROP DATABASE IF EXISTS ${pg.escapeIdentifier(name)} WITH (FORCE)`);
      await a.end();
    },
  };
}
