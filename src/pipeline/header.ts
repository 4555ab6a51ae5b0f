/**
 * The header stage: maps the definition's columns onto CSV field positions, before any row loads.
 * Matching is by name, ignoring case and surrounding whitespace; with `header: false`, by position.
 * HeaderReader finds the header record in a file's first bytes and says where the records start.
 */
import { ImporterError } from '../errors.js';
import type { JobType } from '../jobtypes/normalize.js';
import { countLineBreaks } from '../source/split.js';
import type { RawRecord, RecordParser } from '../source/parse.js';
import { didYouMean } from '../util/didYouMean.js';
import { newRecordParser } from './recordParser.js';

export interface HeaderMapping {
  /** For each definition column, its field index in the record, or -1 when the header lacks it. */
  readonly indexes: readonly number[];
  /** Number of fields a well-formed record has. */
  readonly width: number;
  readonly warnings: readonly string[];
}

const norm = (s: string) => s.trim().toLowerCase();

export function mapHeader(jobType: JobType, header: readonly string[] | undefined, file: string): HeaderMapping {
  const columns = jobType.columns;
  if (!header) {
    // header: false: by position.
    return { indexes: columns.map((_c, i) => i), width: columns.length, warnings: [] };
  }
  const positions = new Map<string, number>();
  const duplicates: string[] = [];
  header.forEach((h, i) => {
    const key = norm(h);
    if (positions.has(key)) duplicates.push(h);
    else positions.set(key, i);
  });
  const found = header.map((h) => JSON.stringify(h)).join(', ');
  const wanted = columns.map((c) => JSON.stringify(c.source)).join(', ');
  const indexes: number[] = [];
  const missingRequired: string[] = [];
  const warnings: string[] = [];
  const used = new Set<number>();
  for (const col of columns) {
    const idx = positions.get(norm(col.source));
    if (idx === undefined) {
      const unusedHeaders = header.filter((_h, i) => !columns.some((c) => positions.get(norm(c.source)) === i));
      const guess = didYouMean(col.source, unusedHeaders);
      const hint = guess ? ` (did you mean "${guess}"? set source: "${guess}" on column "${col.name}")` : '';
      if (col.required) missingRequired.push(`"${col.source}"${hint}`);
      else warnings.push(`header has no column "${col.source}"${hint}; column "${col.name}" loads as ${col.default === undefined ? 'NULL' : 'its default'}`);
      indexes.push(-1);
    } else {
      indexes.push(idx);
      used.add(idx);
    }
  }
  if (duplicates.length > 0) {
    throw new ImporterError('HEADER_DUPLICATE_COLUMN', `${file}: line 1: the header names ${duplicates.map((d) => JSON.stringify(d)).join(', ')} more than once`, {
      file,
      line: 1,
      found: header,
    });
  }
  if (missingRequired.length > 0) {
    throw new ImporterError(
      'HEADER_MISSING_COLUMN',
      `${file}: line 1: the header lacks required column ${missingRequired.join(', ')}. Expected ${wanted}; found ${found}`,
      { file, line: 1, expected: columns.map((c) => c.source), found: header },
    );
  }
  const extra = header.filter((_h, i) => !used.has(i));
  if (extra.length > 0) {
    const list = extra.map((e) => JSON.stringify(e)).join(', ');
    if (jobType.csv.onExtraColumns === 'fail') {
      throw new ImporterError('HEADER_EXTRA_COLUMNS', `${file}: line 1: the header has columns the definition does not name: ${list} (csv.on_extra_columns: fail)`, {
        file,
        line: 1,
        extra,
      });
    }
    warnings.push(`header has columns the definition does not name, ignored: ${list}`);
  }
  return { indexes, width: header.length, warnings };
}

/** A broken header record fails the file with its code: no record can be mapped without it. */
function headerFault(raw: RawRecord): void {
  const fault = raw.fault();
  if (fault) throw new ImporterError(fault.code, fault.message, { line: 1 });
}

/** Where the records start, once the header is read. */
export interface HeaderRead {
  readonly mapping: HeaderMapping;
  /** Bytes after the header, from the chunks read so far. */
  readonly rest: Buffer;
  /** Physical line and byte offset of the first record. */
  readonly line: number;
  readonly offset: number;
}

/**
 * Reads the header record from the first chunks of a file (with `header: false`, maps by position
 * at once). Bytes are kept until the header's end is known, then handed back as `rest`.
 */
export class HeaderReader {
  private readonly chunks: Buffer[] = [];
  private readonly parser: RecordParser | undefined;
  private found: { mapping: HeaderMapping; line: number; start: number; end: number } | undefined;

  constructor(
    private readonly jt: JobType,
    private readonly file: string,
  ) {
    this.parser = jt.csv.header ? newRecordParser(jt) : undefined;
  }

  /** Without a header line: the mapping by position, records from the first byte. */
  get byPosition(): HeaderRead | undefined {
    return this.parser ? undefined : { mapping: mapHeader(this.jt, undefined, this.file), rest: Buffer.alloc(0), line: 1, offset: 0 };
  }

  /** Adds a chunk; returns the header once its record is complete. */
  push(chunk: Buffer): HeaderRead | undefined {
    this.chunks.push(chunk);
    try {
      this.parser!.write(chunk, (fields, line, offset, raw) => {
        if (!this.found) headerFault(raw);
        this.found ??= { mapping: mapHeader(this.jt, fields, this.file), line, start: offset, end: raw.end() };
      });
    } catch (err) {
      // A broken record after the header is the record source's to report, in order.
      if (!this.found) throw err;
    }
    if (!this.found) return undefined;
    const all = Buffer.concat(this.chunks);
    const { mapping, line, start, end } = this.found;
    return { mapping, rest: all.subarray(end), line: line + countLineBreaks(all.subarray(start, end)), offset: end };
  }

  /** The file ended: a header with no record after it (or undefined for an empty file). */
  end(): HeaderMapping | undefined {
    this.parser!.end((fields, _line, _offset, raw) => {
      if (!this.found) headerFault(raw);
      this.found ??= { mapping: mapHeader(this.jt, fields, this.file), line: 0, start: 0, end: 0 };
    });
    return this.found?.mapping;
  }
}
