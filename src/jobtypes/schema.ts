/**
 * The job type definition schema: every key with its type, its default and its meaning.
 * The README's "Job type reference" is the operator-facing copy of this file; keep them in step.
 */
import { z } from 'zod';
import { ENCODINGS } from '../source/open.js';

export { ENCODINGS, type Encoding } from '../source/open.js';

/** The pipeline section's defaults (the command line's --buffer and --consumers override both). */
export const PIPELINE_DEFAULTS = { buffer_batches: 4, consumers: 2 } as const;

export const COLUMN_TYPES = [
  'text',
  'integer',
  'bigint',
  'smallint',
  'numeric',
  'real',
  'double',
  'boolean',
  'date',
  'timestamp',
  'timestamptz',
  'uuid',
  'json',
  'jsonb',
] as const;
export type ColumnType = (typeof COLUMN_TYPES)[number];

/** The PostgreSQL type of each column type (a column's `sqlType`). */
export const SQL_TYPE_NAMES: Record<ColumnType, string> = {
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
};

/**
 * A PostgreSQL type name as a definition may write it under csv.parser: server (it goes into DDL,
 * so nothing but names, a precision and array brackets): `inet`, `varchar(20)`, `numeric(10,2)`,
 * `timestamp(3) with time zone`, `int[]`, `public.mood`.
 */
export const SERVER_TYPE = /^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)?( [A-Za-z_][A-Za-z0-9_]*)*(\(\s*\d+\s*(,\s*\d+\s*)?\))?( with(out)? time zone)?(\[\])*$/;

export const MODES = ['append', 'upsert', 'replace'] as const;

/** csv.parser: who parses the values (jobtypes/parser.ts decides what auto means). */
export const PARSERS = ['client', 'server', 'auto'] as const;
export type ParserChoice = (typeof PARSERS)[number];

/** target.strategy: how rows reach the target. */
export const STRATEGIES = ['staged', 'direct', 'batches'] as const;
export type Strategy = (typeof STRATEGIES)[number];
export type Mode = (typeof MODES)[number];


const identifier = z.string().min(1, 'must not be empty').max(63, 'must be at most 63 characters (a PostgreSQL identifier)');
const singleChar = z.string().length(1, 'must be exactly one character');

export const columnSchema = z.strictObject({
  /** Target column name. Any text: it is always quoted in SQL. */
  name: identifier,
  /** One of COLUMN_TYPES; with csv.parser: server, any type the server knows (inet, varchar(20), int[]…). */
  type: z.string().min(1, 'must not be empty'),
  /** A missing or empty value rejects the row. @default false */
  required: z.boolean().default(false),
  /** The CSV header when it differs from `name`. @default name */
  source: z.string().min(1).optional(),
  /** Trim surrounding whitespace before casting. @default true for non-text types, false for text */
  trim: z.boolean().optional(),
  /** Values that become NULL (after trim). @default [] (empty unquoted fields are always NULL) */
  null_if: z.array(z.string()).default([]),
  /** The value used when the field is empty or NULL. It is cast like any other value. */
  default: z.union([z.string(), z.number(), z.boolean()]).optional(),
  /** Date/time pattern: YYYY, MM, M, DD, D, HH, H, mm, ss, SSS, MMM (month name). @default ISO 8601 */
  format: z.string().min(1).optional(),
  /** Decimal separator for numeric, real and double. @default "." */
  decimal: z.enum(['.', ',']).default('.'),
  /** Thousands separator to strip from numbers ("," or "." or " " or "'"). @default none */
  thousands: z.enum([',', '.', ' ', "'"]).optional(),
});

const maxRejects = z.union([
  z.number().int().min(0),
  z.string().regex(/^\d+(\.\d+)?%$/, 'must be a count like 100 or a percentage like "1%"'),
]);

export const jobTypeSchema = z.strictObject({
  /** Job type name. @default the file name without its extension */
  name: z
    .string()
    .regex(/^[A-Za-z0-9][A-Za-z0-9_.-]*$/, 'must start with a letter or digit and use only letters, digits, _ . -')
    .optional(),
  /** Free text shown in `importer jobtypes list`. */
  description: z.string().optional(),
  /** Cron expression (5 or 6 fields) used by `importer schedule`. */
  schedule: z.string().optional(),
  /** IANA time zone for `schedule` and for timestamps without an offset. @default the machine's zone */
  timezone: z.string().optional(),
  /** What `importer schedule` does with a fire time missed while it was down. @default run_once */
  missed: z.enum(['skip', 'run_once']).default('run_once'),
  /** A disabled job type is listed but never run. @default true */
  enabled: z.boolean().default(true),
  source: z.strictObject({
    /** Folder with the files. Relative paths resolve against the definition's folder; ${ENV} expands. */
    path: z.string().min(1),
    /** Glob within path. Files ending in .gz are decompressed as a stream. @default "*.csv" */
    pattern: z.string().min(1).default('*.csv'),
    /**
     * Claim only files not modified for at least this many seconds, for exporters that write files in
     * place. A file that changes while it loads is skipped (SOURCE_CHANGED) in any case. @default 0
     */
    settle_seconds: z.number().min(0).default(0),
  }),
  csv: z
    .strictObject({
      /** @default "," */
      delimiter: singleChar.default(','),
      /** The quote character, or false for files with no quoting at all (every quote is text). @default '"' */
      quote: z.union([singleChar, z.literal(false)]).default('"'),
      /** Escape character inside quoted fields. @default the quote character */
      escape: singleChar.optional(),
      /** Whether the first line is a header. Columns match by header name when true, by position when false. @default true */
      header: z.boolean().default(true),
      /** @default utf8 */
      encoding: z.enum(ENCODINGS).default('utf8'),
      /** Largest field, in bytes, before the row is rejected. @default 1048576 */
      max_field_bytes: z.number().int().positive().default(1024 * 1024),
      /** Header columns that the definition does not name. @default ignore */
      on_extra_columns: z.enum(['ignore', 'fail']).default('ignore'),
      /**
       * Who parses the values: the importer (client), PostgreSQL's COPY (server), or the server
       * whenever the definition uses nothing only the client does (auto). @default auto
       */
      parser: z.enum(PARSERS).default('auto'),
      /**
       * A stray quote inside an unquoted field, or text after a closing quote, is read as a literal
       * character (csv-parse's relax_quotes, as Python's non-strict reader) instead of rejecting the
       * record. @default false
       */
      relax_quotes: z.boolean().default(false),
      /** A record with fewer fields than the header: reject it, or fill the missing trailing fields with NULL (then each column's default applies). @default reject */
      on_short_row: z.enum(['reject', 'fill']).default('reject'),
      /** A record with more fields than the header: reject it, or drop the extra trailing fields. @default reject */
      on_long_row: z.enum(['reject', 'drop']).default('reject'),
      /** Lines starting with this are skipped (csv-parse's comment; text after it on a line is dropped too). @default none */
      comment: z.string().min(1).optional(),
      /** The record delimiter, any string (e.g. "\r" for CR-only files). @default the first of CRLF, LF or CR met outside quotes */
      record_delimiter: z.string().min(1).optional(),
      /** Physical lines skipped before the header (or before the first record with header: false). @default 0 */
      skip_lines: z.number().int().min(0).default(0),
      /** Values that mean NULL in every column, added to each column's own null_if. @default [] */
      null_if: z.array(z.string()).default([]),
    })
    .default({
      delimiter: ',',
      quote: '"',
      header: true,
      encoding: 'utf8',
      max_field_bytes: 1024 * 1024,
      on_extra_columns: 'ignore',
      parser: 'auto',
      relax_quotes: false,
      on_short_row: 'reject',
      on_long_row: 'reject',
      null_if: [],
      skip_lines: 0,
    }),
  target: z.strictObject({
    /** Table name, optionally schema-qualified (analytics.orders). */
    table: z.string().min(1),
    /** Create the table (and its schema) from `columns` when it is missing. @default true */
    create: z.boolean().default(true),
    /** append | upsert | replace. @default append */
    mode: z.enum(MODES).default('append'),
    /** Key columns: the primary key of a created table, and the conflict target of upsert. @default [] */
    key: z.array(z.string().min(1)).default([]),
    /** Add _source_file, _source_line and _run_id columns to every row. @default false */
    lineage: z.boolean().default(false),
    /**
     * How rows reach the target: staged (a staging table, then one move per file), direct (one
     * transaction per file straight into the target) or batches (each batch commits into the
     * target). @default staged
     */
    strategy: z.enum(STRATEGIES).default('staged'),
  }),
  /** The target columns, in table order. */
  columns: z.array(columnSchema).min(1, 'must list at least one column'),
  errors: z
    .strictObject({
      /** Rejected rows allowed per file: a count, or a percentage of the file's rows such as "1%". @default 0 */
      max_rejects: maxRejects.default(0),
    })
    .default({ max_rejects: 0 }),
  batch: z
    .strictObject({
      /** Rows per COPY batch. @default 10000 */
      rows: z.number().int().positive().default(10_000),
      /** Encoded bytes per COPY batch. @default 8388608 (8 MiB) */
      bytes: z.number().int().positive().default(8 * 1024 * 1024),
      /** A partial batch is sent after this many milliseconds without new rows. @default 1000 */
      flush_ms: z.number().int().positive().default(1000),
    })
    .default({ rows: 10_000, bytes: 8 * 1024 * 1024, flush_ms: 1000 }),
  pipeline: z
    .strictObject({
      /** Capacity, in batches, of the FIFO buffer between the batcher and the consumers. @default 4 */
      buffer_batches: z.number().int().positive().default(PIPELINE_DEFAULTS.buffer_batches),
      /** Parallel COPY consumers for one file. @default 2 */
      consumers: z.number().int().positive().default(PIPELINE_DEFAULTS.consumers),
    })
    .default(PIPELINE_DEFAULTS),
  restart: z
    .strictObject({
      /** Restarts allowed within `within_seconds` before the job type is marked failed. @default 3 */
      max: z.number().int().min(0).default(3),
      /** @default 60 */
      within_seconds: z.number().positive().default(60),
      /** First backoff; it doubles on each restart. @default 1000 */
      backoff_ms: z.number().int().min(0).default(1000),
    })
    .default({ max: 3, within_seconds: 60, backoff_ms: 1000 }),
});

export type RawJobType = z.input<typeof jobTypeSchema>;
export type ParsedJobType = z.output<typeof jobTypeSchema>;
