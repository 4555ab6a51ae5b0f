/** Identifier quoting for SQL built from definitions: every name goes through here, values go as parameters. */
import pg from 'pg';

export const ident = (name: string): string => pg.escapeIdentifier(name);

/** A string literal, for the few statements that take no parameters (COPY options). */
export const literal = (value: string): string => pg.escapeLiteral(value);

export const qualified = (schema: string, table: string): string => `${ident(schema)}.${ident(table)}`;

/** SQLSTATEs that mean "another process created it first" during concurrent DDL. */
export function isAlreadyExists(err: unknown): boolean {
  const code = (err as { code?: unknown })?.code;
  return code === '23505' || code === '42P06' || code === '42P07' || code === '42710';
}
