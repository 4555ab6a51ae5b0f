/**
 * Cuts a stream of CSV bytes into raw records without parsing their fields: the server-side
 * parsing path hands the records to PostgreSQL's COPY as they are. A record ends at a line break
 * (LF, CRLF or a lone CR) outside quotes; with RFC 4180 quoting (the escape is the quote, doubled)
 * quote parity tells inside from outside. Lines are counted as RecordParser counts them (each LF,
 * CRLF or lone CR once, embedded ones included), so both paths give a record the same line.
 * A quote RFC 4180 forbids breaks only its own record, as on the client path: a quote inside an
 * unquoted field is read as text and text after a closing quote as part of the field, for finding
 * where the record ends, and the record is marked broken (its code) so that it is rejected rather
 * than sent (PostgreSQL would take the stray quote as an opening one and swallow the records after it).
 */
import { ImporterError } from '../errors.js';

const LF = 0x0a;
const CR = 0x0d;

/**
 * Called once per record: `buf[start, end)` is the record without its line break; `next` is the
 * offset in `buf` just after the line break. `line` is its first physical line, `nextLine` where
 * the next record starts, `offset` its byte offset in the stream.
 */
export type CutSink = (buf: Buffer, start: number, end: number, next: number, line: number, nextLine: number, offset: number, broken: BrokenQuote | undefined) => void;

export type BrokenQuote = 'CSV_INVALID_OPENING_QUOTE' | 'CSV_INVALID_CLOSING_QUOTE';

export class RecordCutter {
  private carry: Buffer | undefined;
  private line: number;
  private offset: number;
  private readonly quote: number;
  private readonly delimiter: number;

  constructor(
    quote: string,
    delimiter: string,
    /** A record longer than this (in bytes) stops the file: its quote probably never closes. */
    private readonly maxRecordBytes: number,
    start: { line: number; offset: number },
  ) {
    this.quote = quote.charCodeAt(0);
    this.delimiter = delimiter.charCodeAt(0);
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

  // long: one scan; the next quote, LF and CR are found with indexOf and kept until passed
  private cut(buf: Buffer, last: boolean, sink: CutSink): number {
    const n = buf.length;
    const find = (byte: number, from: number) => {
      const i = buf.indexOf(byte, from);
      return i === -1 ? n : i;
    };
    let nextQ = find(this.quote, 0);
    let nextLF = find(LF, 0);
    let nextCR = find(CR, 0);
    const q = this.quote;
    let start = 0;
    let breaks = 0;
    let broken: BrokenQuote | undefined;
    for (;;) {
      const eol = nextLF < nextCR ? nextLF : nextCR;
      if (nextQ < eol) {
        if (nextQ !== start && buf[nextQ - 1] !== this.delimiter) {
          // A quote inside an unquoted field: text, and the record is broken.
          broken ??= 'CSV_INVALID_OPENING_QUOTE';
          nextQ = find(q, nextQ + 1);
          continue;
        }
        // A quoted field: its line breaks are data (counted as lines), up to the closing quote ("" is a quote).
        let close = find(q, nextQ + 1);
        while (close + 1 < n && buf[close + 1] === q) close = find(q, close + 2);
        while (nextLF < close) {
          breaks++;
          nextLF = find(LF, nextLF + 1);
        }
        while (nextCR < close) {
          if (nextCR + 1 === n && !last && close === n) break;
          if (buf[nextCR + 1] !== LF) breaks++;
          nextCR = find(CR, nextCR + 1);
        }
        if (close === n) break;
        const after = buf[close + 1];
        if (close + 1 < n && after !== this.delimiter && after !== LF && after !== CR) broken ??= 'CSV_INVALID_CLOSING_QUOTE';
        // A quote in text after a closing quote is not at a field's start: the branch above takes it as text.
        nextQ = find(q, close + 1);
        continue;
      }
      if (eol === n) break;
      // A CR at the very end may be the first half of a CRLF: wait for the next byte.
      if (eol === nextCR && eol + 1 === n && !last) break;
      const next = eol === nextCR && buf[eol + 1] === LF ? eol + 2 : eol + 1;
      breaks++;
      sink(buf, start, eol, next, this.line, this.line + breaks, this.offset, broken);
      this.line += breaks;
      this.offset += next - start;
      breaks = 0;
      broken = undefined;
      start = next;
      if (nextLF < next) nextLF = find(LF, next);
      if (nextCR < next) nextCR = find(CR, next);
    }
    if (last && start < n) {
      sink(buf, start, n, n, this.line, this.line + breaks, this.offset, broken);
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
