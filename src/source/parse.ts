/**
 * CSV records with their physical line and byte offset.
 *
 * A thin layer over csv-parse's public API only: its Parser, a Transform stream, written to and read
 * from synchronously. Writing to a Transform with nothing pending runs csv-parse's state machine at
 * once, so after `write` the chunk's complete records are in the stream's readable buffer (`read()`
 * takes them one by one) and a parse error is the stream's `errored`.
 *
 * Where each record ends: with RFC 4180 quoting (the usual case, and the only one the parse threads
 * take) from boundaries.ts, which finds record ends by quote parity, paired in order with csv-parse's
 * records; with another escape, from csv-parse itself, through the documented `on_record` hook
 * (its context's `bytes`), which costs about 50% more CPU (boundaries.ts says how much).
 *
 * We keep the raw bytes of the records not yet emitted, so that each record's start line is counted
 * exactly (embedded newlines included, any of CRLF, LF or CR endings) and its raw text can be shown
 * for a reject.
 */
import { Parser, type Info } from 'csv-parse';
import { ImporterError, type CsvErrorCode } from '../errors.js';
import { RecordEnds, type Delimiter } from './boundaries.js';
import { FAULT_CODES, RECORD_PREFIX_BYTES, type CsvFault, type CsvFaultCode, type ParserOptions, type RawRecord, type RecordSink } from './record.js';

export { FAULT_CODES, RECORD_PREFIX_BYTES, type CsvFault, type CsvFaultCode, type ParserOptions, type RawRecord, type RecordSink } from './record.js';

/** A broken record whose end is not found within this many record limits fails the file (memory stays bounded). */
const BROKEN_HOLD_RECORDS = 16;

/** Bytes written to csv-parse between two drains of its records (see `run`). */
const SLICE_BYTES = 64 * 1024;

/** Record delimiters quote parity handles (boundaries.ts). */
const DELIMITER_MODES: Readonly<Record<string, Delimiter>> = { '\n': 'lf', '\r\n': 'crlf', '\r': 'cr' };

/**
 * A broken record being read to its end: from its start, a second csv-parse parser that reads stray
 * quotes as text and has no record limit (`relax_quotes`, `max_record_size: 0`) says where a lenient
 * reader ends the record; the strict parser starts again there. A quote that never closes makes
 * the rest of the stream the one record. A record past the limit is read to its end by quote parity
 * when the quoting allows (boundaries.ts): csv-parse takes about 40× longer per byte on a long
 * first line (measured: a 60 MB line without a line break, 100–400 ms per 256 KiB against 10 ms),
 * where it looks for the record delimiter at every byte.
 */
interface Broken {
  readonly code: CsvFaultCode;
  readonly message: string;
  readonly write: (feed: Buffer, at: number) => void;
  readonly end: () => void;
  /** Where the record ends, once known (-1 before). */
  found: number;
}


const LF = 0x0a;
const CR = 0x0d;

/** csv-parse's message without its "Invalid Closing Quote:" title. */
const reason = (err: Error): string => err.message.replace(/^[^:]*:\s*/, '');

export class RecordParser {
  private parser: Parser;
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
    text: () => {
      if (this.fault && this.rawEnd - this.rawStart > this.opts.maxRecordSize) {
        return `${this.slice(this.rawStart, Math.min(this.rawEnd, this.rawStart + RECORD_PREFIX_BYTES)).toString('utf8')}…`;
      }
      return this.slice(this.rawStart, this.rawEnd).toString('utf8').replace(/\r?\n$|\r$/, '');
    },
    bytes: () => this.slice(this.rawStart, this.rawEnd),
    end: () => this.base + this.rawEnd,
    nextLine: () => this.nextLine,
    hasQuotePair: () => this.slice(this.rawStart, this.rawEnd).includes(this.quotePair),
    fault: () => this.fault,
  };
  private fault: CsvFault | undefined;
  private broken: Broken | undefined;
  /** Where the current strict parser started (it restarts after a broken record). */
  private mainStart = 0;
  private readonly quotePair: Buffer;
  /** The first CR at or after `crFrom` in `crChunk` (-1: none), see countInChunk. */
  private crChunk: Buffer | undefined;
  private crFrom = 0;
  private crAt = -1;
  /** An exception thrown by the sink inside `on_record`: csv-parse would report it as its own error. */
  private sinkError: unknown;
  /** Record ends by quote parity, or undefined when csv-parse tells them (`on_record`). */
  private ends: RecordEnds | undefined;
  private readonly rfc4180: boolean;
  /** csv-parse's count of comment lines when the last record was delivered. */
  private commentLines = 0;
  private readonly onRecord = (fields: string[], context: Info): null => {
    try {
      // Comment lines csv-parse skipped since the last record lie before this one: it starts after them.
      if (context.comment_lines !== this.commentLines) {
        this.skipLines(context.comment_lines - this.commentLines, this.mainStart + context.bytes);
        this.commentLines = context.comment_lines;
      }
      this.deliver(fields, this.mainStart + context.bytes);
    } catch (err) {
      this.sinkError = err;
      throw err;
    }
    // Taken here: the stream's readable side stays empty.
    return null;
  };

  constructor(private readonly opts: ParserOptions) {
    this.recordLine = opts.startLine ?? 1;
    this.quotePair = Buffer.from(opts.quote + opts.quote);
    this.base = opts.startOffset ?? 0;
    const rd = opts.recordDelimiter;
    this.rfc4180 =
      opts.escape === opts.quote &&
      Buffer.byteLength(opts.quote) === 1 &&
      !opts.relaxQuotes &&
      opts.quoting !== false &&
      !opts.endsFromCsvParse &&
      opts.comment === undefined &&
      (rd === undefined || rd in DELIMITER_MODES);
    this.parser = this.strictParser();
  }

  /** The parser of records, starting at `mainStart`. */
  private strictParser(): Parser {
    const opts = this.opts;
    this.ends = this.rfc4180 ? new RecordEnds(Buffer.from(opts.quote)[0]!, DELIMITER_MODES[opts.recordDelimiter ?? ''] ?? 'unknown') : undefined;
    const parser = new Parser({
      ...this.dialect(),
      relax_quotes: opts.relaxQuotes ?? false,
      max_record_size: opts.maxRecordSize,
      ...(this.rfc4180 ? {} : { on_record: this.onRecord }),
    });
    // A parse error is read from `errored` after each write; the event would only repeat it.
    parser.on('error', () => undefined);
    return parser;
  }

  private dialect() {
    const { delimiter, quote, escape, comment, recordDelimiter } = this.opts;
    return {
      delimiter,
      quote: this.opts.quoting === false ? false : quote,
      escape,
      relax_column_count: true,
      skip_empty_lines: false,
      ...(comment !== undefined ? { comment } : {}),
      ...(recordDelimiter !== undefined ? { record_delimiter: recordDelimiter } : {}),
    };
  }

  /** Moves the next record's start past `n` physical lines (comment lines), not beyond `limit`. */
  private skipLines(n: number, limit: number): void {
    const span = this.slice(this.recordStart, limit);
    let i = 0;
    for (let k = 0; k < n && i < span.length; k++) {
      while (i < span.length && span[i] !== LF && span[i] !== CR) i++;
      if (span[i] === CR && span[i + 1] === LF) i++;
      i++;
    }
    this.recordStart += Math.min(i, span.length);
    this.recordLine += n;
  }

  /** Hands one record to the sink; `end` is where it ends, from the parser's start. */
  private deliver(fields: string[], end: number): void {
    const start = this.recordStart;
    const line = this.recordLine;
    this.rawStart = start;
    this.rawEnd = end;
    this.nextLine = line + this.countLineBreaks(start, end);
    this.sink!(fields, line, this.base + start, this.raw);
    this.recordLine = this.nextLine;
    this.recordStart = end;
  }

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
    let feed = chunk;
    let feedAt = this.windowEnd - (chunk?.length ?? 0);
    for (;;) {
      if (this.broken) {
        const b = this.broken;
        if (feed && feed.length > 0) b.write(feed, feedAt);
        if (end) b.end();
        if (b.found < 0) {
          if (!end) {
            // Held in memory until its end is found: past this, the file fails as it did before records could fault.
            if (this.windowEnd - this.recordStart > BROKEN_HOLD_RECORDS * this.opts.maxRecordSize) {
              throw new ImporterError(b.code, `${b.message} (no record boundary within ${BROKEN_HOLD_RECORDS} × the record limit after it)`, {
                line: this.recordLine,
                offset: this.base + this.recordStart,
              });
            }
            return;
          }
          b.found = this.windowEnd;
        }
        this.broken = undefined;
        this.deliverFault(b);
        this.mainStart = b.found;
        this.parser = this.strictParser();
        feed = this.slice(b.found, this.windowEnd);
        feedAt = b.found;
        if (feed.length === 0 && !end) return;
        continue;
      }
      if (feed && this.ends) {
        // In slices, each drained before the next: csv-parse's readable buffer then holds a slice's
        // records, not a whole 512 KiB piece's (thousands of arrays alive at once in each thread).
        for (let at = 0; at < feed.length && !this.parser.errored; at += SLICE_BYTES) {
          const slice = feed.subarray(at, at + SLICE_BYTES);
          this.ends.scan(slice, feedAt + at);
          this.parser.write(slice);
          this.drain();
        }
      } else if (feed) this.parser.write(feed);
      if (end) {
        this.ends?.end(this.windowEnd);
        this.parser.end();
      }
      if (this.ends) this.drain();
      if (this.sinkError !== undefined) throw this.sinkError;
      const err = this.parser.errored;
      if (!err) return;
      const code = FAULT_CODES[(err as { code?: string }).code ?? ''];
      if (!code || !this.opts.faultsAsRecords) throw this.wrap(err);
      this.broken = this.brokenRecord(code, err);
      feed = this.slice(this.recordStart, this.windowEnd);
      feedAt = this.recordStart;
    }
  }

  private brokenRecord(code: CsvFaultCode, err: Error): Broken {
    const start = this.recordStart;
    const message = `line ${this.recordLine}: ${reason(err)}`;
    if (code === 'CSV_MAX_RECORD_SIZE' && this.rfc4180) {
      const ends = new RecordEnds(Buffer.from(this.opts.quote)[0]!, this.ends!.delimiter);
      const b: Broken = {
        code,
        message,
        write: (feed, at) => {
          ends.scan(feed, at);
          if (b.found < 0) b.found = ends.take();
        },
        end: () => undefined,
        found: -1,
      };
      return b;
    }
    const finder = new Parser({
      ...this.dialect(),
      relax_quotes: true,
      max_record_size: 0,
      on_record: (_fields: string[], context: Info) => {
        if (b.found < 0) b.found = start + context.bytes;
        return null;
      },
    });
    // An error after the record's end does not matter; one before it leaves the end unknown (the rest of the stream).
    finder.on('error', () => undefined);
    const b: Broken = { code, message, write: (feed) => finder.write(feed), end: () => finder.end(), found: -1 };
    return b;
  }

  /** Hands a broken record to the sink as one record with its fault and no fields. */
  private deliverFault(b: Broken): void {
    this.fault = { code: b.code, message: b.message };
    try {
      this.deliver([], b.found);
    } finally {
      this.fault = undefined;
    }
  }

  /** Delivers the records csv-parse completed, each with the next record end found by parity. */
  private drain(): void {
    let fields: string[] | null;
    while ((fields = this.parser.read() as string[] | null) !== null) {
      const end = this.ends!.take();
      if (end < 0) {
        throw new ImporterError('INTERNAL', `line ${this.recordLine}: csv-parse gave a record where no record end was found`, {
          line: this.recordLine,
          offset: this.base + this.recordStart,
        });
      }
      this.deliver(fields, end);
    }
  }

  private wrap(err: Error): ImporterError {
    const raw = (err as { code?: string }).code;
    const code: CsvErrorCode = FAULT_CODES[raw ?? ''] ?? (raw?.startsWith('CSV_') ? (raw as CsvErrorCode) : 'CSV_PARSE_ERROR');
    const line = this.recordLine;
    return new ImporterError(code, `line ${line}: ${reason(err)}`, { line, offset: this.base + this.recordStart }, { cause: err });
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
