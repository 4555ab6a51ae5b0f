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
export type CutSink = (buf: Buffer, start: number, end: number, line: number, nextLine: number, offset: number, nextOffset: number, broken: BrokenRecord | undefined) => void;

/** Why a record is rejected as it is cut. CSV_MAX_RECORD_SIZE: `buf[start, end)` holds only its first KiB. */
export type BrokenRecord = 'CSV_INVALID_OPENING_QUOTE' | 'CSV_INVALID_CLOSING_QUOTE' | 'CSV_MAX_RECORD_SIZE';

/** A record past the limit: how much of it was kept, and how far it has been skipped. */
interface Skipping {
  readonly line: number;
  readonly offset: number;
  readonly head: Buffer;
  inQuote: boolean;
  bytes: number;
  breaks: number;
  /** It ended at a CR that was the last byte read: an LF first in the next chunk belongs to it. */
  pendingCR: boolean;
}

/** A record whose end is not found within this many record limits stops the file. */
const SKIP_LIMITS = 16;

export class RecordCutter {
  private carry: Buffer | undefined;
  private skipping: Skipping | undefined;
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

  /**
   * Cuts the complete records of what arrived so far; an incomplete last one waits for more. A
   * record past the limit is skipped to its end (by quote parity, keeping its first KiB) and
   * handed on as broken (CSV_MAX_RECORD_SIZE), as the client parser rejects it.
   */
  push(chunk: Buffer, sink: CutSink): void {
    let rest = chunk;
    if (this.skipping) rest = this.skip(chunk, false, sink);
    if (rest.length === 0) return;
    const buf = this.carry ? Buffer.concat([this.carry, rest]) : rest;
    this.carry = undefined;
    const used = this.cut(buf, false, sink);
    if (used === buf.length) return;
    if (buf.length - used <= this.maxRecordBytes) {
      this.carry = buf.subarray(used);
      return;
    }
    this.skipping = { line: this.line, offset: this.offset, head: Buffer.from(buf.subarray(used, used + 1024)), inQuote: false, bytes: 0, breaks: 0, pendingCR: false };
    this.push(buf.subarray(used), sink);
  }

  /** The stream ended: the rest is the last record (an unclosed quote runs to the end). */
  end(sink: CutSink): void {
    if (this.skipping) this.skip(Buffer.alloc(0), true, sink);
    const buf = this.carry;
    this.carry = undefined;
    if (buf && buf.length > 0) this.cut(buf, true, sink);
  }

  /** Skips the over-long record through `buf`; returns what follows its end (empty: not found yet). */
  private skip(buf: Buffer, last: boolean, sink: CutSink): Buffer {
    const k = this.skipping!;
    const q = this.quote;
    const n = buf.length;
    let i = 0;
    if (k.pendingCR) {
      // The last chunk ended with a CR: with an LF after it, one line break (CRLF), else a lone CR.
      if (n === 0 && !last) return buf;
      const lf = n > 0 && buf[0] === LF;
      k.breaks++;
      k.pendingCR = false;
      if (!k.inQuote) {
        if (lf) k.bytes++;
        return this.endSkip(buf.subarray(lf ? 1 : 0), sink);
      }
      if (lf) i = 1;
    }
    for (; i < n; i++) {
      const c = buf[i]!;
      if (c === q) {
        k.inQuote = !k.inQuote;
      } else if (c === LF) {
        k.breaks++;
        if (!k.inQuote) {
          k.bytes += i + 1;
          return this.endSkip(buf.subarray(i + 1), sink);
        }
      } else if (c === CR) {
        if (i + 1 === n && !last) {
          k.pendingCR = true;
          break;
        }
        const crlf = buf[i + 1] === LF;
        if (k.inQuote) {
          if (!crlf) k.breaks++;
          continue;
        }
        k.breaks++;
        k.bytes += i + (crlf ? 2 : 1);
        return this.endSkip(buf.subarray(i + (crlf ? 2 : 1)), sink);
      }
    }
    k.bytes += n;
    if (k.bytes > SKIP_LIMITS * this.maxRecordBytes) this.tooLong(k);
    if (last) return this.endSkip(buf.subarray(n), sink);
    return buf.subarray(n);
  }

  private endSkip(rest: Buffer, sink: CutSink): Buffer {
    const k = this.skipping!;
    this.skipping = undefined;
    sink(k.head, 0, k.head.length, k.line, k.line + k.breaks, k.offset, k.offset + k.bytes, 'CSV_MAX_RECORD_SIZE');
    this.line = k.line + k.breaks;
    this.offset = k.offset + k.bytes;
    return rest;
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
    let broken: BrokenRecord | undefined;
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
      this.emit(sink, buf, start, eol, next, breaks + 1, broken);
      breaks = 0;
      broken = undefined;
      start = next;
      if (nextLF < next) nextLF = find(LF, next);
      if (nextCR < next) nextCR = find(CR, next);
    }
    if (last && start < n) {
      this.emit(sink, buf, start, n, n, breaks, broken);
      return n;
    }
    return start;
  }

  /**
   * Hands on the record `buf[start, end)` whose line break ends at `next`, spanning `breaks` line
   * breaks, and moves past it. A record past the limit is rejected whether it arrived whole or not
   * (only its first KiB is kept).
   */
  private emit(sink: CutSink, buf: Buffer, start: number, end: number, next: number, breaks: number, broken: BrokenRecord | undefined): void {
    const long = end - start > this.maxRecordBytes;
    sink(buf, start, long ? start + 1024 : end, this.line, this.line + breaks, this.offset, this.offset + (next - start), long ? 'CSV_MAX_RECORD_SIZE' : broken);
    this.line += breaks;
    this.offset += next - start;
  }

  private tooLong(k: Skipping): never {
    throw new ImporterError(
      'CSV_MAX_RECORD_SIZE',
      `line ${k.line}: a record runs past ${SKIP_LIMITS} times the record limit of ${this.maxRecordBytes} bytes without ending (a quote that never closes?)`,
      { line: k.line, offset: k.offset },
    );
  }
}
