/**
 * Versioned migrations of the importer schema. Safe when several processes start at once: a
 * transaction-scoped advisory lock serializes them, and "already exists" from a racing CREATE SCHEMA
 * means another process did it.
 */
import type pg from 'pg';
import m000001 from './migrations/000001.js';
import m000002 from './migrations/000002.js';
import m000003 from './migrations/000003.js';
import m000004 from './migrations/000004.js';
import m000005 from './migrations/000005.js';
import m000006 from './migrations/000006.js';
import { ImporterError } from '../errors.js';
import { isAlreadyExists } from './sql.js';
import { withTransaction } from './transaction.js';

export const MIGRATIONS: ReadonlyArray<{ version: number; sql: string }> = [
  { version: 1, sql: m000001 },
  { version: 2, sql: m000002 },
  { version: 3, sql: m000003 },
  { version: 4, sql: m000004 },
  { version: 5, sql: m000005 },
  { version: 6, sql: m000006 },
];

/** Arbitrary, fixed key of the migration lock ("importer" in ASCII, as a number). */
const MIGRATION_LOCK = 0x696d706f7274;

export async function migrate(client: pg.ClientBase): Promise<number[]> {
  for (let attempt = 0; ; attempt++) {
    try {
      return await withTransaction(client, migrateOnce);
    } catch (err) {
      if (isAlreadyExists(err) && attempt < 3) continue;
      throw err;
    }
  }
}

/** Connect, migrate, release: brings the schema up to date through one connection of `pool`. */
export async function migratePool(pool: pg.Pool): Promise<number[]> {
  const client = await pool.connect();
  try {
    return await migrate(client);
  } finally {
    client.release();
  }
}

/** Runs inside one transaction (see migrate). */
async function migrateOnce(client: pg.ClientBase): Promise<number[]> {
  await client.query('SELECT pg_advisory_xact_lock($1)', [MIGRATION_LOCK]);
  // Statements whose objects exist are skipped, not just made harmless with IF NOT EXISTS: CREATE
  // SCHEMA needs CREATE on the database even when the schema is there, and a role the DBA granted
  // the ledger's schemas to has no reason to hold it.
  const { rows: have } = await client.query<{ schema: string | null; staging: string | null; table: string | null }>(
    `SELECT to_regnamespace('importer')::text AS schema, to_regnamespace('importer_staging')::text AS staging, to_regclass('importer.migrations')::text AS table`,
  );
  if (!have[0]?.schema) await explained(client, 'CREATE SCHEMA importer', 'CREATE on the database', 'CREATE SCHEMA IF NOT EXISTS importer');
  if (!have[0]?.table) {
    await explained(client, 'CREATE TABLE importer.migrations', 'CREATE on schema importer', 'CREATE TABLE IF NOT EXISTS importer.migrations (version integer PRIMARY KEY, applied_at timestamptz NOT NULL DEFAULT now())');
  }
  const { rows } = await client.query<{ version: number }>('SELECT version FROM importer.migrations');
  const done = new Set(rows.map((r) => r.version));
  const applied: number[] = [];
  for (const m of MIGRATIONS) {
    if (done.has(m.version)) continue;
    // A schema a DBA created beforehand is not created again (that would need CREATE on the database).
    // (Schema importer exists by now: made above, or beforehand.)
    let sql = m.sql.replace(/^CREATE SCHEMA IF NOT EXISTS importer;$/m, '');
    if (have[0]?.staging) sql = sql.replace(/^CREATE SCHEMA IF NOT EXISTS importer_staging;$/m, '');
    await explained(client, `migration ${m.version}`, 'CREATE on schemas importer and importer_staging (and CREATE on the database while they do not exist), and ownership of the importer tables', sql);
    await client.query('INSERT INTO importer.migrations (version) VALUES ($1)', [m.version]);
    applied.push(m.version);
  }
  return applied;
}

/**
 * Runs a set-up statement; a missing privilege (42501) is reported with the statement and the
 * privilege it needs (the server only says "permission denied for database x").
 */
async function explained(client: pg.ClientBase, what: string, privilege: string, sql: string): Promise<void> {
  try {
    await client.query(sql);
  } catch (err) {
    if ((err as { code?: string }).code !== '42501') throw err;
    const e = err as Error & { code: string };
    throw new ImporterError(
      'PG_42501',
      `ledger set-up: ${what} was refused (${e.message}): the role needs ${privilege}. See "Privileges" in the README, or run \`importer doctor\``,
      { statement: what, privilege },
      { cause: err },
    );
  }
}
