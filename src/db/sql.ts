/** Identifier quoting for SQL built from definitions: every name goes through here, values go as parameters. */
import pg from 'pg';

export const ident = (name: string): string => pg.escapeIdentifier(name);

/** A string literal, for the few statements that take no parameters (COPY options). */
export const literal = (value: string): string => pg.escapeLiteral(value);

export const qualified = (schema: string, table: string): string => `${ident(schema)}.${ident(table)}`;

/** PostgreSQL type for each column type of a definition. */
export const SQL_TYPES = {
  text: 'text',
  integer: 'integer',
  bigint: 'bigint',
  smallint: 'smallint',
  numeric: 'numeric',
  real: 'real',
  double: 'double precision',
  boolean: 'boolean',
  date: 'date',
  timestamp: 'timestamp',
  timestamptz: 'timestamptz',
  uuid: 'uuid',
  json: 'json',
  jsonb: 'jsonb',
} as const;

/** SQLSTATEs that mean "another process created it first" during concurrent DDL. */
export function isAlreadyExists(err: unknown): boolean {
  const code = (err as { code?: unknown })?.code;
  return code === '23505' || code === '42P06' || code === '42P07' || code === '42710';
}
