/**
 * Cuts a stream of CSV bytes into raw records without parsing their fields: the server-side
 * parsing path hands the records to PostgreSQL's COPY as they are. A record ends at a line break
 * (LF, CRLF or a lone CR) outside quotes; with RFC 4180 quoting (the escape is the quote, doubled)
 * quote parity tells inside from outside. Lines are counted as RecordParser counts them (each LF,
 * CRLF or lone CR once, embedded ones included), so both paths give a record the same line.
 */
import { ImporterError } from '../errors.js';

const LF = 0x0a;
const CR = 0x0d;

/**
 * Called once per record: `buf[start, end)` is the record without its line break; `next` is the
 * offset in `buf` just after the line break. `line` is its first physical line, `nextLine` where
 * the next record starts, `offset` its byte offset in the stream.
 */
export type CutSink = (buf: Buffer, start: number, end: number, next: number, line: number, nextLine: number, offset: number) => void;

export class RecordCutter {
  private carry: Buffer | undefined;
  private line: number;
  private offset: number;
  private readonly quote: number;

  constructor(
    quote: string,
    /** A record longer than this (in bytes) stops the file: its quote probably never closes. */
    private readonly maxRecordBytes: number,
    start: { line: number; offset: number },
  ) {
    this.quote = quote.charCodeAt(0);
    this.line = start.line;
    this.offset = start.offset;
  }

  /** Cuts the complete records of what arrived so far; an incomplete last one waits for more. */
  push(chunk: Buffer, sink: CutSink): void {
    const buf = this.carry ? Buffer.concat([this.carry, chunk]) : chunk;
    this.carry = undefined;
    const used = this.cut(buf, false, sink);
    if (used < buf.length) {
      if (buf.length - used > this.maxRecordBytes) this.tooLong();
      this.carry = buf.subarray(used);
    }
  }

  /** The stream ended: the rest is the last record (an unclosed quote runs to the end). */
  end(sink: CutSink): void {
    const buf = this.carry;
    this.carry = undefined;
    if (buf && buf.length > 0) this.cut(buf, true, sink);
  }

  // long: one scan loop; splitting it would cost a call per byte
  private cut(buf: Buffer, last: boolean, sink: CutSink): number {
    const q = this.quote;
    const n = buf.length;
    let start = 0;
    let inQuote = false;
    let breaks = 0;
    let i = 0;
    while (i < n) {
      const c = buf[i]!;
      if (c === q) {
        inQuote = !inQuote;
        i++;
        continue;
      }
      if (c !== LF && c !== CR) {
        i++;
        continue;
      }
      // A CR at the very end may be the first half of a CRLF: wait for the next byte.
      if (c === CR && i + 1 === n && !last) break;
      const width = c === CR && buf[i + 1] === LF ? 2 : 1;
      breaks++;
      if (inQuote) {
        i += width;
        continue;
      }
      const next = i + width;
      sink(buf, start, i, next, this.line, this.line + breaks, this.offset);
      this.line += breaks;
      this.offset += next - start;
      breaks = 0;
      start = i = next;
    }
    if (last && start < n) {
      sink(buf, start, n, n, this.line, this.line + breaks, this.offset);
      this.line += breaks;
      this.offset += n - start;
      return n;
    }
    return start;
  }

  private tooLong(): never {
    throw new ImporterError(
      'CSV_MAX_RECORD_SIZE',
      `line ${this.line}: a record is longer than ${this.maxRecordBytes} bytes (a quote that never closes?)`,
      { line: this.line, offset: this.offset },
    );
  }
}
