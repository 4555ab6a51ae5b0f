/**
 * One pass from a raw definition object to a complete, frozen JobType, or a list of located errors.
 * Nothing downstream re-reads raw definitions or fills in defaults.
 */
import path from 'node:path';
import cron from 'node-cron';
import type { z } from 'zod';
import { hint } from '../util/didYouMean.js';
import { clientOnlyOptions, strategyProblem, type ParserChoice, type Strategy } from './parser.js';
import {
  COLUMN_TYPES,
  SERVER_TYPE,
  SQL_TYPE_NAMES,
  jobTypeSchema,
  type ColumnType,
  type Encoding,
  type Mode,
  type ParsedJobType,
} from './schema.js';

export interface Column {
  readonly name: string;
  /** The importer's type; 'server' for any other type the server knows (csv.parser: server only). */
  readonly type: ColumnType | 'server';
  /** The type in the target's and staging's DDL: the importer's type's SQL name, or the server type as written. */
  readonly sqlType: string;
  readonly required: boolean;
  /** The CSV header this column reads (matched case- and whitespace-insensitively). */
  readonly source: string;
  readonly trim: boolean;
  readonly nullIf: readonly string[];
  readonly default: string | undefined;
  readonly format: string | undefined;
  readonly decimal: '.' | ',';
  readonly thousands: string | undefined;
}

export interface MaxRejects {
  readonly kind: 'count' | 'percent';
  readonly value: number;
  /** As written in the definition, for messages. */
  readonly text: string;
}

export interface JobType {
  readonly name: string;
  /** Absolute path of the definition file. */
  readonly file: string;
  readonly description: string | undefined;
  readonly schedule: string | undefined;
  readonly timezone: string | undefined;
  readonly missed: 'skip' | 'run_once';
  readonly enabled: boolean;
  readonly source: { readonly dir: string; readonly pattern: string; readonly settleSeconds: number };
  readonly csv: {
    readonly delimiter: string;
    readonly quote: string;
    readonly escape: string;
    /** false with `quote: false`: no field is quoted, every quote is text. */
    readonly quoting: boolean;
    readonly header: boolean;
    readonly encoding: Encoding;
    readonly maxFieldBytes: number;
    readonly onExtraColumns: 'ignore' | 'fail';
    /** The parser in force (auto resolved), as csv.parser chose it, and what keeps the server from parsing (empty when nothing does). */
    readonly parser: 'client' | 'server';
    readonly parserChoice: ParserChoice;
    readonly clientOnly: readonly string[];
    /** Stray quotes are literal text (csv-parse's relax_quotes). */
    readonly relaxQuotes: boolean;
    readonly onShortRow: 'reject' | 'fill';
    readonly onLongRow: 'reject' | 'drop';
    /** Comment lines start with this; undefined: none. */
    readonly comment: string | undefined;
    /** undefined: the first of CRLF, LF or CR met outside quotes. */
    readonly recordDelimiter: string | undefined;
    /** Physical lines before the header (or the first record). */
    readonly skipLines: number;
  };
  readonly target: {
    readonly schema: string;
    readonly table: string;
    readonly create: boolean;
    readonly mode: Mode;
    readonly key: readonly string[];
    readonly lineage: boolean;
    readonly strategy: Strategy;
  };
  readonly columns: readonly Column[];
  readonly maxRejects: MaxRejects;
  readonly batch: { readonly rows: number; readonly bytes: number; readonly flushMs: number };
  readonly pipeline: { readonly bufferBatches: number; readonly consumers: number };
  readonly restart: { readonly max: number; readonly withinSeconds: number; readonly backoffMs: number };
}

export interface DefinitionProblem {
  /** Field path such as `columns[2].type`, or '' for the whole file. */
  readonly path: string;
  readonly message: string;
}

export type NormalizeResult =
  | { readonly ok: true; readonly jobType: JobType }
  | { readonly ok: false; readonly name: string; readonly problems: readonly DefinitionProblem[] };

export function formatPath(p: readonly PropertyKey[]): string {
  let out = '';
  for (const part of p) {
    if (typeof part === 'number') out += `[${part}]`;
    else out += out ? `.${String(part)}` : String(part);
  }
  return out;
}

/** Keys each object of the schema accepts, by path shape, for "did you mean" on unknown keys. */
function knownKeys(pathParts: readonly PropertyKey[]): string[] {
  // Walk the zod schema along the path (arrays skip numeric parts).
  let node: z.ZodType = jobTypeSchema;
  for (const part of pathParts) {
    node = unwrap(node);
    if (typeof part === 'number') {
      const def = (node as unknown as { def?: { type?: string; element?: z.ZodType } }).def;
      if (def?.type === 'array' && def.element) node = def.element;
      continue;
    }
    const shape = (node as unknown as { shape?: Record<string, z.ZodType> }).shape;
    const key = String(part);
    if (!shape || !shape[key]) return [];
    node = shape[key]!;
  }
  const shape = (unwrap(node) as unknown as { shape?: Record<string, z.ZodType> }).shape;
  return shape ? Object.keys(shape) : [];
}

function unwrap(node: z.ZodType): z.ZodType {
  let n = node as unknown as { def?: { type?: string; innerType?: z.ZodType } };
  while (n.def && (n.def.type === 'default' || n.def.type === 'optional') && n.def.innerType) {
    n = n.def.innerType as unknown as typeof n;
  }
  return n as unknown as z.ZodType;
}

function describeIssue(issue: z.core.$ZodIssue): DefinitionProblem[] {
  const p = formatPath(issue.path);
  switch (issue.code) {
    case 'invalid_value': {
      const input = (issue as { input?: unknown }).input;
      const values = issue.values.map(String);
      const last = issue.path[issue.path.length - 1];
      const what = last === 'type' ? 'type' : 'value';
      if (typeof input === 'string') {
        return [{ path: p, message: `unknown ${what} "${input}"${hint(input, values)}; expected one of ${values.join(', ')}` }];
      }
      return [{ path: p, message: `expected one of ${values.join(', ')}` }];
    }
    case 'unrecognized_keys':
      return issue.keys.map((key) => ({
        path: formatPath([...issue.path, key]),
        message: `unknown field "${key}"${hint(key, knownKeys(issue.path))}`,
      }));
    case 'invalid_type': {
      const input = (issue as { input?: unknown }).input;
      if (input === undefined) return [{ path: p, message: 'is required' }];
      const got = input === null ? 'null' : Array.isArray(input) ? 'a list' : typeof input;
      return [{ path: p, message: `expected ${issue.expected}, got ${got}` }];
    }
    default:
      return [{ path: p, message: issue.message }];
  }
}

const ENV_REF = /\$\{([A-Za-z_][A-Za-z0-9_]*)\}/g;

function expandEnv(value: string, env: NodeJS.ProcessEnv, problems: DefinitionProblem[], at: string): string {
  return value.replace(ENV_REF, (_m, name: string) => {
    const v = env[name];
    if (v === undefined) {
      problems.push({ path: at, message: `environment variable ${name} is not set` });
      return '';
    }
    return v;
  });
}

function splitTable(table: string): [string, string] | undefined {
  const parts = table.split('.');
  if (parts.length === 1 && parts[0]) return ['public', parts[0]];
  if (parts.length === 2 && parts[0] && parts[1]) return [parts[0], parts[1]];
  return undefined;
}

function parseMaxRejects(v: number | string): MaxRejects {
  if (typeof v === 'number') return { kind: 'count', value: v, text: String(v) };
  return { kind: 'percent', value: Number(v.slice(0, -1)), text: v };
}

function validTimezone(tz: string): boolean {
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: tz });
    return true;
  } catch {
    return false;
  }
}

/**
 * Normalizes one definition. `file` is the definition's path (used for the default name and to
 * resolve a relative source path).
 */
export function normalizeJobType(raw: unknown, file: string, env: NodeJS.ProcessEnv = process.env): NormalizeResult {
  const absFile = path.resolve(file);
  const fallbackName = path.basename(absFile).replace(/\.(ya?ml|json)$/i, '');
  const rawName =
    raw && typeof raw === 'object' && typeof (raw as { name?: unknown }).name === 'string'
      ? (raw as { name: string }).name
      : fallbackName;
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) {
    return { ok: false, name: rawName, problems: [{ path: '', message: 'a definition must be a mapping of fields' }] };
  }
  const parsed = jobTypeSchema.safeParse(raw, { reportInput: true });
  if (!parsed.success) {
    return { ok: false, name: rawName, problems: parsed.error.issues.flatMap(describeIssue) };
  }
  const d: ParsedJobType = parsed.data;
  const problems: DefinitionProblem[] = [];
  checkColumns(d, problems);
  const resolved = checkRest(d, env, problems);
  const clientOnly = clientOnlyOptions(d, raw);
  if (d.csv.parser === 'server' && clientOnly.length > 0) {
    problems.push({ path: 'csv.parser', message: `parser server cannot do what this definition asks (${clientOnly.join('; ')}); use parser client or auto` });
  }
  const strategy = strategyProblem(d);
  if (strategy) problems.push(strategy);
  else if (d.target.strategy !== 'staged' && (d.csv.parser === 'client' || (d.csv.parser === 'auto' && clientOnly.length > 0))) {
    const why = d.csv.parser === 'client' ? 'csv.parser is client' : `the client parser is needed for ${clientOnly.join('; ')}`;
    problems.push({ path: 'target.strategy', message: `strategy ${d.target.strategy} needs the server parser, but ${why}; use strategy staged` });
  }
  const name = d.name ?? fallbackName;
  if (problems.length > 0) return { ok: false, name, problems };
  return { ok: true, jobType: build(d, name, absFile, { ...resolved, clientOnly }) };
}

const isColumnType = (t: string): t is ColumnType => (COLUMN_TYPES as readonly string[]).includes(t);

/** Column names, header names, formats and the key: each unique and consistent. */
function checkColumns(d: ParsedJobType, problems: DefinitionProblem[]): void {
  const names = new Set<string>();
  d.columns.forEach((c, i) => {
    if (!isColumnType(c.type)) {
      if (d.csv.parser === 'server' && SERVER_TYPE.test(c.type.trim())) return;
      const server = d.csv.parser === 'server' ? ' (and not a type name PostgreSQL could know)' : ' (or any PostgreSQL type, with csv.parser: server)';
      problems.push({ path: `columns[${i}].type`, message: `unknown type "${c.type}"${hint(c.type, [...COLUMN_TYPES])}; expected one of ${COLUMN_TYPES.join(', ')}${server}` });
    }
  });
  d.columns.forEach((c, i) => {
    if (names.has(c.name)) problems.push({ path: `columns[${i}].name`, message: `duplicate column "${c.name}"` });
    names.add(c.name);
    if (c.format && !['date', 'timestamp', 'timestamptz'].includes(c.type)) {
      problems.push({ path: `columns[${i}].format`, message: `format applies only to date, timestamp and timestamptz columns` });
    }
  });
  const sources = new Map<string, number>();
  d.columns.forEach((c, i) => {
    const key = (c.source ?? c.name).trim().toLowerCase();
    const prev = sources.get(key);
    if (prev !== undefined) {
      problems.push({ path: `columns[${i}].source`, message: `columns[${prev}] already reads the CSV header "${c.source ?? c.name}"` });
    }
    sources.set(key, i);
  });
  d.target.key.forEach((k, i) => {
    if (!names.has(k)) problems.push({ path: `target.key[${i}]`, message: `"${k}" is not a column${hint(k, [...names])}` });
  });
  if (d.target.mode === 'upsert' && d.target.key.length === 0) {
    problems.push({ path: 'target.key', message: 'mode upsert needs a key' });
  }
}

interface Resolved {
  readonly table: [string, string] | undefined;
  readonly sourcePath: string;
  readonly pattern: string;
  readonly clientOnly?: readonly string[];
}

/** The target's name, the schedule, the zone, the source (with ${ENV} expanded) and the dialect. */
function checkRest(d: ParsedJobType, env: NodeJS.ProcessEnv, problems: DefinitionProblem[]): Resolved {
  const table = splitTable(d.target.table);
  if (!table) problems.push({ path: 'target.table', message: `"${d.target.table}" must be "table" or "schema.table"` });
  if (d.schedule !== undefined && !cron.validate(d.schedule)) {
    problems.push({ path: 'schedule', message: `"${d.schedule}" is not a valid cron expression (5 or 6 fields)` });
  }
  if (d.timezone !== undefined && !validTimezone(d.timezone)) {
    problems.push({ path: 'timezone', message: `unknown time zone "${d.timezone}"` });
  }
  const sourcePath = expandEnv(d.source.path, env, problems, 'source.path');
  const pattern = expandEnv(d.source.pattern, env, problems, 'source.pattern');
  if (path.isAbsolute(pattern) || pattern.split(/[\\/]/).includes('..')) {
    problems.push({ path: 'source.pattern', message: 'must stay inside source.path (no absolute paths or "..")' });
  }
  if (d.csv.quote !== false && d.csv.quote === d.csv.delimiter) {
    problems.push({ path: 'csv.quote', message: 'must differ from csv.delimiter' });
  }
  return { table, sourcePath, pattern };
}

/** The frozen, complete job type: every default resolved here, none deeper in. */
function build(d: ParsedJobType, name: string, absFile: string, r: Resolved): JobType {
  const columns: Column[] = d.columns.map((c) =>
    Object.freeze({
      name: c.name,
      type: isColumnType(c.type) ? c.type : 'server',
      sqlType: isColumnType(c.type) ? SQL_TYPE_NAMES[c.type] : c.type.trim(),
      required: c.required,
      source: c.source ?? c.name,
      trim: c.trim ?? c.type !== 'text',
      nullIf: Object.freeze([...c.null_if, ...d.csv.null_if]),
      default: c.default === undefined ? undefined : String(c.default),
      format: c.format,
      decimal: c.decimal,
      thousands: c.thousands,
    }),
  );
  return Object.freeze({
    name,
    file: absFile,
    description: d.description,
    schedule: d.schedule,
    timezone: d.timezone,
    missed: d.missed,
    enabled: d.enabled,
    source: Object.freeze({ dir: path.resolve(path.dirname(absFile), r.sourcePath), pattern: r.pattern, settleSeconds: d.source.settle_seconds }),
    csv: Object.freeze({
      delimiter: d.csv.delimiter,
      quote: d.csv.quote === false ? '"' : d.csv.quote,
      escape: d.csv.escape ?? (d.csv.quote === false ? '"' : d.csv.quote),
      quoting: d.csv.quote !== false,
      header: d.csv.header,
      encoding: d.csv.encoding,
      maxFieldBytes: d.csv.max_field_bytes,
      onExtraColumns: d.csv.on_extra_columns,
      parser: d.csv.parser === 'client' || (r.clientOnly ?? []).length > 0 ? 'client' : 'server',
      parserChoice: d.csv.parser,
      clientOnly: Object.freeze([...(r.clientOnly ?? [])]),
      relaxQuotes: d.csv.relax_quotes,
      onShortRow: d.csv.on_short_row,
      onLongRow: d.csv.on_long_row,
      comment: d.csv.comment,
      recordDelimiter: d.csv.record_delimiter,
      skipLines: d.csv.skip_lines,
    }),
    target: Object.freeze({ schema: r.table![0], table: r.table![1], create: d.target.create, mode: d.target.mode, key: Object.freeze([...d.target.key]), lineage: d.target.lineage, strategy: d.target.strategy }),
    columns: Object.freeze(columns),
    maxRejects: Object.freeze(parseMaxRejects(d.errors.max_rejects)),
    batch: Object.freeze({ rows: d.batch.rows, bytes: d.batch.bytes, flushMs: d.batch.flush_ms }),
    pipeline: Object.freeze({ bufferBatches: d.pipeline.buffer_batches, consumers: d.pipeline.consumers }),
    restart: Object.freeze({ max: d.restart.max, withinSeconds: d.restart.within_seconds, backoffMs: d.restart.backoff_ms }),
  });
}

/** The job type with pipeline sizes from the command line, which win over its definition's. */
export function withPipelineOverrides(jt: JobType, o: { readonly bufferBatches?: number | undefined; readonly consumers?: number | undefined }): JobType {
  if (o.bufferBatches === undefined && o.consumers === undefined) return jt;
  const pipeline = Object.freeze({ bufferBatches: o.bufferBatches ?? jt.pipeline.bufferBatches, consumers: o.consumers ?? jt.pipeline.consumers });
  return Object.freeze({ ...jt, pipeline });
}

export { COLUMN_TYPES };
