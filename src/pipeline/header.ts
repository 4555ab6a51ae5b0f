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

/**
 * The byte after the n-th physical line break (LF, CRLF, or a lone CR) of `buf`, or -1 if it has
 * fewer. A CR at the end may be the first half of a CRLF: -1 until more bytes come, unless `end`.
 */
export function afterLines(buf: Buffer, n: number, end: boolean): number {
  let i = 0;
  for (let k = 0; k < n; k++) {
    const lf = buf.indexOf(0x0a, i);
    const cr = buf.indexOf(0x0d, i);
    const at = cr !== -1 && (lf === -1 || cr < lf) ? cr : lf;
    if (at === -1) return -1;
    if (buf[at] === 0x0d) {
      if (at + 1 >= buf.length && !end) return -1;
      i = buf[at + 1] === 0x0a ? at + 2 : at + 1;
    } else i = at + 1;
  }
  return i;
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
  private found: { mapping: HeaderMapping; line: number; start: number; end: number } | undefined;
  /** Where the lines `csv.skip_lines` skips end (undefined until they are all read). */
  private skipped: { offset: number } | undefined;
  private parser: RecordParser | undefined;

  constructor(
    private readonly jt: JobType,
    private readonly file: string,
  ) {
    if (jt.csv.skipLines === 0) this.skipped = { offset: 0 };
    if (this.skipped && jt.csv.header) this.parser = newRecordParser(jt);
  }

  /** Without a header line (and no line to skip): the mapping by position, records from the first byte. */
  get byPosition(): HeaderRead | undefined {
    return this.jt.csv.header || !this.skipped ? undefined : { mapping: mapHeader(this.jt, undefined, this.file), rest: Buffer.alloc(0), line: 1, offset: 0 };
  }

  /** Adds a chunk; returns the header once its record is complete. */
  push(chunk: Buffer): HeaderRead | undefined {
    this.chunks.push(chunk);
    let feed = chunk;
    if (!this.skipped) {
      const all = Buffer.concat(this.chunks);
      const after = afterLines(all, this.jt.csv.skipLines, false);
      if (after < 0) return undefined;
      this.skipped = { offset: after };
      const line = this.jt.csv.skipLines + 1;
      if (!this.jt.csv.header) return { mapping: mapHeader(this.jt, undefined, this.file), rest: all.subarray(after), line, offset: after };
      this.parser = newRecordParser(this.jt, { line, offset: after });
      feed = all.subarray(after);
    }
    this.write(feed);
    if (!this.found) return undefined;
    const all = Buffer.concat(this.chunks);
    const { mapping, line, start, end } = this.found;
    return { mapping, rest: all.subarray(end), line: line + countLineBreaks(all.subarray(start, end)), offset: end };
  }

  /** The file ended: a header with no record after it (or undefined for an empty file). */
  end(): HeaderMapping | undefined {
    if (!this.skipped) {
      const all = Buffer.concat(this.chunks);
      const after = afterLines(all, this.jt.csv.skipLines, true);
      // The file ended within the lines to skip (a last line without a line break is one of them).
      if (after < 0) return undefined;
      this.skipped = { offset: after };
      if (!this.jt.csv.header) return mapHeader(this.jt, undefined, this.file);
      this.parser = newRecordParser(this.jt, { line: this.jt.csv.skipLines + 1, offset: after });
      this.write(all.subarray(after));
    }
    if (!this.parser) return mapHeader(this.jt, undefined, this.file);
    return this.endParser();
  }

  private write(feed: Buffer): void {
    try {
      this.parser!.write(feed, (fields, line, offset, raw) => {
        if (!this.found) headerFault(raw);
        this.found ??= { mapping: mapHeader(this.jt, fields, this.file), line, start: offset, end: raw.end() };
      });
    } catch (err) {
      // A broken record after the header is the record source's to report, in order.
      if (!this.found) throw err;
    }
  }

  private endParser(): HeaderMapping | undefined {
    this.parser!.end((fields, _line, _offset, raw) => {
      if (!this.found) headerFault(raw);
      this.found ??= { mapping: mapHeader(this.jt, fields, this.file), line: 0, start: 0, end: 0 };
    });
    return this.found?.mapping;
  }
}
