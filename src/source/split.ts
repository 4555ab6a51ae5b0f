/**
 * Cuts a stream of UTF-8 bytes into pieces that end on record boundaries, so that pieces can be
 * parsed independently (in worker threads). A record boundary is a line break outside quotes; with
 * RFC 4180 quoting (the escape is the quote, doubled) quote parity tells inside from outside.
 * Each piece knows the physical line and byte offset where it starts.
 */
const LF = 0x0a;
const CR = 0x0d;
/** A record longer than this many target pieces is not cut by the splitter (see `push`). */
const HUGE_PIECES = 8;

export interface Piece {
  readonly seq: number;
  readonly buf: Buffer;
  readonly startLine: number;
  readonly startOffset: number;
}

export class PieceSplitter {
  private pending: Buffer[] = [];
  private pendingBytes = 0;
  private inQuote = false;
  private seq = 0;
  private line: number;
  private offset: number;
  /** Bytes of `pending` already scanned for quotes, and the last boundary found in them. */
  private scanned = 0;
  private lastBoundary = -1;
  private readonly quote: number;
  private readonly delimiter: Buffer;
  /**
   * A quote that RFC 4180 does not allow was met (one opening inside a field, or text after a closing
   * one): parity no longer tells records apart, so no piece is cut past the last one handed out; the
   * caller parses the rest in order, from `rest()` (poolSource.ts).
   */
  dirty = false;

  constructor(
    quote: string,
    private readonly targetBytes: number,
    start: { line: number; offset: number },
    delimiter = ',',
  ) {
    this.quote = quote.charCodeAt(0);
    this.delimiter = Buffer.from(delimiter);
    this.line = start.line;
    this.offset = start.offset;
  }

  /** Adds bytes; returns the pieces completed so far. */
  push(chunk: Buffer): Piece[] {
    this.pending.push(chunk);
    this.pendingBytes += chunk.length;
    if (this.pendingBytes < this.targetBytes) return [];
    const buf = this.pending.length === 1 ? this.pending[0]! : Buffer.concat(this.pending, this.pendingBytes);
    this.pending = [buf];
    this.scan(buf);
    // One huge record so far: wait for more, up to a point. Each wait concatenates what is pending,
    // so a record of many pieces would cost quadratic copying (a 60 MB line took a minute): past
    // HUGE_PIECES pieces it is left to the caller's in-order parsing, like a dirty quote.
    if (this.lastBoundary < 0 && this.pendingBytes > HUGE_PIECES * this.targetBytes) this.dirty = true;
    if (this.dirty || this.lastBoundary < 0) return [];
    const cut = this.lastBoundary + 1;
    const piece = this.piece(buf.subarray(0, cut));
    const rest = buf.subarray(cut);
    this.pending = rest.length > 0 ? [rest] : [];
    this.pendingBytes = rest.length;
    this.scanned -= cut;
    this.lastBoundary = -1;
    return [piece];
  }

  /** After `dirty`: the bytes not handed out yet, and where they start (a record boundary). */
  rest(): { buf: Buffer; line: number; offset: number } {
    const buf = this.pending.length === 1 ? this.pending[0]! : Buffer.concat(this.pending, this.pendingBytes);
    this.pending = [];
    this.pendingBytes = 0;
    return { buf, line: this.line, offset: this.offset };
  }

  /** The last piece (whatever is left). */
  end(): Piece | undefined {
    if (this.pendingBytes === 0) return undefined;
    const buf = this.pending.length === 1 ? this.pending[0]! : Buffer.concat(this.pending, this.pendingBytes);
    this.pending = [];
    this.pendingBytes = 0;
    return this.piece(buf);
  }

  private piece(buf: Buffer): Piece {
    const p: Piece = { seq: this.seq++, buf, startLine: this.line, startOffset: this.offset };
    this.line += countLineBreaks(buf);
    this.offset += buf.length;
    return p;
  }

  /** Tracks quote parity through newly arrived bytes, remembering the last line break outside quotes. */
  private scan(buf: Buffer): void {
    let pos = this.scanned;
    const q = this.quote;
    while (pos < buf.length) {
      if (this.inQuote) {
        const close = buf.indexOf(q, pos);
        if (close === -1) {
          pos = buf.length;
          break;
        }
        // What follows a closing quote decides: wait for it at the end of the bytes.
        if (close + 1 >= buf.length) {
          pos = close;
          break;
        }
        const next = buf[close + 1];
        if (next === q) {
          pos = close + 2; // a doubled quote: still inside
          continue;
        }
        if (next !== LF && next !== CR && !this.isDelimiter(buf, close + 1)) {
          this.dirty = true;
          return;
        }
        this.inQuote = false;
        pos = close + 1;
      } else {
        const open = buf.indexOf(q, pos);
        const stop = open === -1 ? buf.length : open;
        // The last line break before the next quote is a record boundary.
        const lf = lastBreak(buf, pos, stop);
        if (lf >= 0) this.lastBoundary = lf;
        if (open === -1) {
          pos = buf.length;
          break;
        }
        const before = buf[open - 1];
        if (open > 0 && before !== LF && before !== CR && !this.isDelimiter(buf, open - this.delimiter.length)) {
          this.dirty = true;
          return;
        }
        this.inQuote = true;
        pos = open + 1;
      }
    }
    this.scanned = pos;
  }

  private isDelimiter(buf: Buffer, at: number): boolean {
    if (at < 0) return false;
    for (let i = 0; i < this.delimiter.length; i++) if (buf[at + i] !== this.delimiter[i]) return false;
    return true;
  }
}

/**
 * Index of the last LF (or lone CR) in [from, to), or -1. A CR at `to - 1` may precede an LF: not a
 * boundary yet. The search runs on a view of [from, to): `lastIndexOf` on the whole buffer would
 * scan back to its start whenever the range has no CR (most files have none), once per quoted field.
 */
function lastBreak(buf: Buffer, from: number, to: number): number {
  if (to <= from) return -1;
  const view = buf.subarray(from, to);
  const lf = view.lastIndexOf(LF);
  let cr = view.lastIndexOf(CR);
  while (cr >= 0 && from + cr + 1 < buf.length && buf[from + cr + 1] === LF) cr = cr > 0 ? view.lastIndexOf(CR, cr - 1) : -1;
  const crOk = cr >= 0 && from + cr + 1 < buf.length ? cr : -1;
  const last = Math.max(lf, crOk);
  return last < 0 ? -1 : from + last;
}

export function countLineBreaks(buf: Buffer): number {
  let n = 0;
  for (let i = buf.indexOf(LF); i !== -1; i = buf.indexOf(LF, i + 1)) n++;
  for (let j = buf.indexOf(CR); j !== -1; j = buf.indexOf(CR, j + 1)) if (buf[j + 1] !== LF) n++;
  return n;
}
