/**
 * What `importer doctor` asks the server, without changing anything: its version, who we are, the
 * ledger's schemas and what this role may do with them, and each target's state. (A run's set-up
 * skips statements whose objects exist, so a role without CREATE on the database works once a DBA
 * has created the schemas and granted them: see the README's "Privileges".)
 */
import pg from 'pg';
import { MIGRATIONS } from './migrate.js';
import type { Queryable } from './read/queryable.js';

export interface ServerFacts {
  readonly version: string;
  readonly user: string;
  readonly database: string;
  readonly canCreateSchemas: boolean;
}

export interface LedgerState {
  readonly schema: boolean;
  readonly schemaCreate: boolean | null;
  readonly staging: boolean;
  readonly stagingCreate: boolean | null;
  /** The latest migration applied, or null before the first run. */
  readonly migratedTo: number | null;
  readonly latest: number;
}

export interface TargetState {
  readonly exists: boolean;
  readonly schemaExists: boolean;
  readonly schemaCreate: boolean | null;
  readonly canInsert: boolean | null;
}

export async function serverFacts(c: Queryable): Promise<ServerFacts> {
  const { rows } = await c.query<{ version: string; user: string; database: string; create: boolean }>(
    `SELECT current_setting('server_version') AS version, current_user AS user, current_database() AS database,
            has_database_privilege(current_database(), 'CREATE') AS create`,
  );
  const r = rows[0]!;
  return { version: r.version, user: r.user, database: r.database, canCreateSchemas: r.create };
}

export async function ledgerState(c: Queryable): Promise<LedgerState> {
  const { rows } = await c.query<{ schema: boolean; schema_create: boolean | null; staging: boolean; staging_create: boolean | null; migrations: boolean }>(
    `SELECT to_regnamespace('importer') IS NOT NULL AS schema,
            has_schema_privilege(to_regnamespace('importer')::oid, 'CREATE') AS schema_create,
            to_regnamespace('importer_staging') IS NOT NULL AS staging,
            has_schema_privilege(to_regnamespace('importer_staging')::oid, 'CREATE') AS staging_create,
            to_regclass('importer.migrations') IS NOT NULL AS migrations`,
  );
  const r = rows[0]!;
  let migratedTo: number | null = null;
  if (r.migrations) {
    const m = await c.query<{ v: number | null }>('SELECT max(version) AS v FROM importer.migrations').catch(() => undefined);
    migratedTo = m?.rows[0]?.v ?? null;
  }
  return { schema: r.schema, schemaCreate: r.schema_create, staging: r.staging, stagingCreate: r.staging_create, migratedTo, latest: MIGRATIONS[MIGRATIONS.length - 1]!.version };
}

export async function targetState(c: Queryable, schema: string, table: string): Promise<TargetState> {
  const { rows } = await c.query<{ exists: boolean; schema_exists: boolean; schema_create: boolean | null; can_insert: boolean | null }>(
    `SELECT to_regclass($1) IS NOT NULL AS exists, to_regnamespace($2) IS NOT NULL AS schema_exists,
            has_schema_privilege(to_regnamespace($2)::oid, 'CREATE') AS schema_create,
            has_table_privilege(to_regclass($1)::oid, 'INSERT') AS can_insert`,
    [`${pg.escapeIdentifier(schema)}.${pg.escapeIdentifier(table)}`, pg.escapeIdentifier(schema)],
  );
  const r = rows[0]!;
  return { exists: r.exists, schemaExists: r.schema_exists, schemaCreate: r.schema_create, canInsert: r.can_insert };
}
