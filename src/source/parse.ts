/**
 * CSV records with their physical line and byte offset.
 *
 * A thin layer over csv-parse's push API (no stream, no per-record info object: `info: true` costs
 * about 50% more CPU). csv-parse tells us where each record ends (`info.bytes`); we keep the raw
 * bytes of the records not yet emitted, so that each record's start line is counted exactly (embedded
 * newlines included, any of CRLF, LF or CR endings) and its raw text can be shown for a reject.
 */
import { Parser } from 'csv-parse';
import { ImporterError, type CsvErrorCode } from '../errors.js';

export interface ParserOptions {
  readonly delimiter: string;
  readonly quote: string;
  readonly escape: string;
  /** csv-parse's guard against unbounded fields, in characters. */
  readonly maxRecordSize: number;
  /** When parsing a piece of a larger stream: the physical line and byte offset where it starts. */
  readonly startLine?: number;
  readonly startOffset?: number;
}

/** The raw bytes of the record being delivered; valid only during the sink call. */
export interface RawRecord {
  text(): string;
  bytes(): Buffer;
  /** Byte offset just after the record (and its line break). */
  end(): number;
  /** Physical line where the next record starts. */
  nextLine(): number;
  /** Whether the raw record contains two quote characters in a row (cheap: no decoding). */
  hasQuotePair(): boolean;
}

/** Called once per record, with the physical line and byte offset where the record starts. */
export type RecordSink = (fields: string[], line: number, offset: number, raw: RawRecord) => void;

type CsvApi = {
  parse(buf: Buffer | undefined, end: boolean, push: (r: string[]) => void, close: () => void): Error | undefined;
  info: { bytes: number; lines: number };
  state?: { field?: unknown };
};

interface FieldBuffer {
  buf: Buffer;
  length: number;
  toString(encoding?: BufferEncoding): string | Uint8Array;
}

/**
 * csv-parse collects each field's bytes in a growable buffer (`state.field`) and decodes it with
 * `buf.slice(0, length).toString(encoding)`: one Buffer view allocated per field, only to be
 * decoded and dropped. Decoding in place (`buf.toString(encoding, 0, length)`) gives the same
 * string without the view; measured on 1M rows of 12 columns, the producer's CPU went from 9.5 s
 * to 8.2 s. This reaches into csv-parse's parser state, so it is applied only when the state has
 * the shape of csv-parse 6 (a field with a Buffer `buf` and a numeric `length`); otherwise csv-parse
 * is left as it is. A unit test pins that it applies to the installed version.
 */
function decodeFieldsInPlace(api: CsvApi): boolean {
  const field = api.state?.field as Partial<FieldBuffer> | undefined;
  if (!field || !Buffer.isBuffer(field.buf) || typeof field.length !== 'number' || typeof field.toString !== 'function') return false;
  const original = field.toString;
  field.toString = function (this: FieldBuffer, encoding?: BufferEncoding) {
    return encoding ? this.buf.toString(encoding, 0, this.length) : original.call(this, encoding);
  };
  return true;
}

const LF = 0x0a;
const CR = 0x0d;

export class RecordParser {
  private readonly api: CsvApi;
  /** Unconsumed raw bytes: chunks[0] starts at byte `windowStart` of the stream. */
  private chunks: Buffer[] = [];
  private windowStart = 0;
  private windowEnd = 0;
  /** Offset and line where the next record starts. */
  private recordStart = 0;
  private recordLine = 1;
  /** Added to every offset reported, for pieces of a larger stream. */
  private readonly base: number;
  private sink: RecordSink | undefined;
  private rawStart = 0;
  private nextLine = 1;
  private rawEnd = 0;
  private readonly raw: RawRecord = {
    text: () => this.slice(this.rawStart, this.rawEnd).toString('utf8').replace(/\r?\n$|\r$/, ''),
    bytes: () => this.slice(this.rawStart, this.rawEnd),
    end: () => this.base + this.rawEnd,
    nextLine: () => this.nextLine,
    hasQuotePair: () => this.slice(this.rawStart, this.rawEnd).includes(this.quotePair),
  };
  private readonly quotePair: Buffer;
  /** The first CR at or after `crFrom` in `crChunk` (-1: none), see countInChunk. */
  private crChunk: Buffer | undefined;
  private crFrom = 0;
  private crAt = -1;
  private readonly push = (fields: string[]): void => {
    const end = this.api.info.bytes;
    const start = this.recordStart;
    const line = this.recordLine;
    this.rawStart = start;
    this.rawEnd = end;
    this.nextLine = line + this.countLineBreaks(start, end);
    this.sink!(fields, line, this.base + start, this.raw);
    this.recordLine = this.nextLine;
    this.recordStart = end;
  };

  constructor(opts: ParserOptions) {
    this.recordLine = opts.startLine ?? 1;
    this.quotePair = Buffer.from(opts.quote + opts.quote);
    this.base = opts.startOffset ?? 0;
    // Parser normalizes and validates the options once; we drive its push API (`parser.api`)
    // directly instead of going through the Transform stream, which saves a stream hop per chunk.
    this.api = (new Parser({
      delimiter: opts.delimiter,
      quote: opts.quote,
      escape: opts.escape,
      relax_column_count: true,
      max_record_size: opts.maxRecordSize,
      skip_empty_lines: false,
    }) as unknown as { api: CsvApi }).api;
    this.decodesInPlace = decodeFieldsInPlace(this.api);
  }

  /** Whether csv-parse's field decoding was replaced by the in-place one (see decodeFieldsInPlace). */
  readonly decodesInPlace: boolean;

  write(chunk: Buffer, sink: RecordSink): void {
    this.chunks.push(chunk);
    this.windowEnd += chunk.length;
    this.run(chunk, false, sink);
    this.trim();
  }

  end(sink: RecordSink): void {
    this.run(undefined, true, sink);
    this.chunks = [];
  }

  private run(chunk: Buffer | undefined, end: boolean, sink: RecordSink): void {
    this.sink = sink;
    const err = this.api.parse(chunk, end, this.push, () => undefined);
    if (err) throw this.wrap(err);
  }

  private wrap(err: Error): ImporterError {
    const code: CsvErrorCode = (err as { code?: CsvErrorCode }).code ?? 'CSV_PARSE_ERROR';
    const line = this.recordLine;
    const reason = err.message.replace(/^[^:]*:\s*/, '');
    return new ImporterError(code, `line ${line}: ${reason}`, { line, offset: this.base + this.recordStart }, { cause: err });
  }

  /** Drops chunks that lie entirely before the next record. */
  private trim(): void {
    while (this.chunks.length > 1 && this.windowStart + this.chunks[0]!.length <= this.recordStart) {
      this.windowStart += this.chunks[0]!.length;
      this.chunks.shift();
    }
  }

  private slice(start: number, end: number): Buffer {
    const parts: Buffer[] = [];
    let pos = this.windowStart;
    for (const c of this.chunks) {
      const cEnd = pos + c.length;
      if (cEnd > start && pos < end) parts.push(c.subarray(Math.max(0, start - pos), Math.min(c.length, end - pos)));
      pos = cEnd;
      if (pos >= end) break;
    }
    return parts.length === 1 ? parts[0]! : Buffer.concat(parts);
  }

  /** Physical line breaks within [start, end): LF, CRLF and lone CR each count once. */
  private countLineBreaks(start: number, end: number): number {
    let pos = this.windowStart;
    let n = 0;
    for (let k = 0; k < this.chunks.length; k++) {
      const c = this.chunks[k]!;
      const cEnd = pos + c.length;
      if (cEnd > start && pos < end) {
        const from = Math.max(0, start - pos);
        const to = Math.min(c.length, end - pos);
        n += this.countInChunk(c, from, to, this.chunks[k + 1]?.[0]);
      }
      pos = cEnd;
      if (pos >= end) break;
    }
    return n;
  }

  /**
   * Counts LF, plus CR not followed by LF, in c[from, to). `nextByte` is the first byte of the
   * following chunk, if any. Records are counted in file order, so the first CR at or after a
   * position is remembered per chunk: without that, a file with no CR at all would search to the
   * end of the chunk once per record (measured: it doubled the cost of parsing).
   */
  private countInChunk(c: Buffer, from: number, to: number, nextByte: number | undefined): number {
    let n = 0;
    let i = c.indexOf(LF, from);
    while (i !== -1 && i < to) {
      n++;
      i = c.indexOf(LF, i + 1);
    }
    let j: number;
    if (this.crChunk === c && (this.crAt === -1 || this.crAt >= from) && this.crFrom <= from) j = this.crAt;
    else {
      j = c.indexOf(CR, from);
      this.crChunk = c;
      this.crFrom = from;
      this.crAt = j;
    }
    while (j !== -1 && j < to) {
      // A CR directly followed by LF was already counted as that LF.
      const after = j + 1 < c.length ? c[j + 1] : nextByte;
      if (after !== LF) n++;
      j = c.indexOf(CR, j + 1);
    }
    if (j !== this.crAt) {
      this.crFrom = to;
      this.crAt = j;
    }
    return n;
  }
}
