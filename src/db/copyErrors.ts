/**
 * What a COPY error says about one row: PostgreSQL names the line of the COPY where it stopped
 * (`CONTEXT: COPY t, line N, column c: "value"`), counted from the start of that COPY with embedded
 * line breaks counted, and its SQLSTATE tells why. Server-side parsing turns such an error into a
 * one-row reject with the same codes the client path gives (CAST_INVALID_INTEGER, REQUIRED_MISSING…),
 * or PG_<sqlstate> where there is no such code.
 */
import type { ColumnType } from '../jobtypes/schema.js';
import type { JobType } from '../jobtypes/normalize.js';

/** The COPY line the error names, if it names one. */
export function copyErrorLine(err: unknown): number | undefined {
  const where = (err as { where?: unknown })?.where;
  if (typeof where !== 'string') return undefined;
  const m = /^COPY [^\n]*?, line (\d+)/m.exec(where);
  return m ? Number(m[1]) : undefined;
}

/** The definition column the error names (by its context, or the constraint's column). */
function errorColumn(err: { where?: string; column?: string }, jt: JobType): string | null {
  if (err.column) return err.column;
  const where = err.where ?? '';
  for (const c of jt.columns) {
    if (where.includes(`, column ${c.name}: `) || where.endsWith(`, column ${c.name}`)) return c.name;
  }
  return null;
}

const INVALID_BY_TYPE: Record<ColumnType | 'server', string> = {
  server: 'PG_22P02',
  text: 'PG_22P02',
  integer: 'CAST_INVALID_INTEGER',
  bigint: 'CAST_INVALID_INTEGER',
  smallint: 'CAST_INVALID_INTEGER',
  numeric: 'CAST_INVALID_NUMERIC',
  real: 'CAST_INVALID_NUMERIC',
  double: 'CAST_INVALID_NUMERIC',
  boolean: 'CAST_INVALID_BOOLEAN',
  date: 'CAST_INVALID_DATE',
  timestamp: 'CAST_INVALID_TIMESTAMP',
  timestamptz: 'CAST_INVALID_TIMESTAMP',
  uuid: 'CAST_INVALID_UUID',
  json: 'CAST_INVALID_JSON',
  jsonb: 'CAST_INVALID_JSON',
};

export interface CopyRowError {
  readonly code: string;
  readonly column: string | null;
  readonly message: string;
  readonly constraint: string | null;
}

/** The reject code, column and message of a row the COPY refused. */
export function copyRowError(err: unknown, jt: JobType): CopyRowError {
  const e = err as { code: string; message: string; where?: string; column?: string; constraint?: string; detail?: string };
  const column = errorColumn(e, jt);
  const type = jt.columns.find((c) => c.name === column)?.type;
  const message = column ? `column "${column}": ${e.message}` : e.message;
  const constraint = e.constraint ?? null;
  const code = ((): string => {
    switch (e.code) {
      case '22P04':
        if (/^(missing data|extra data)/.test(e.message)) return 'CSV_RECORD_INCONSISTENT_FIELDS_LENGTH';
        if (/unterminated CSV quoted field/.test(e.message)) return 'CSV_QUOTE_NOT_CLOSED';
        return 'CSV_PARSE_ERROR';
      case '22021':
        return /0x00/.test(e.message) ? 'CAST_NUL_BYTE' : 'INVALID_UTF8';
      case '23502':
        return 'REQUIRED_MISSING';
      case '23514':
        return constraint?.startsWith('importer_required_') ? 'REQUIRED_MISSING' : 'PG_23514';
      case '22003':
        return 'CAST_OUT_OF_RANGE';
      case '22P02':
      case '22007':
      case '22008':
      case '22P05':
        return type && type !== 'server' ? INVALID_BY_TYPE[type] : `PG_${e.code}`;
      default:
        return `PG_${e.code}`;
    }
  })();
  if (code === 'REQUIRED_MISSING') return { code, column, message: `column "${column}" is required but the value is empty`, constraint: null };
  return { code, column, message: e.detail ? `${message} (${e.detail})` : message, constraint };
}
