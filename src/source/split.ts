/**
 * Cuts a stream of UTF-8 bytes into pieces that end on record boundaries, so that pieces can be
 * parsed independently (in worker threads). A record boundary is a line break outside quotes; with
 * RFC 4180 quoting (the escape is the quote, doubled) quote parity tells inside from outside.
 * Each piece knows the physical line and byte offset where it starts.
 */
const LF = 0x0a;
const CR = 0x0d;

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

  constructor(
    quote: string,
    private readonly targetBytes: number,
    start: { line: number; offset: number },
  ) {
    this.quote = quote.charCodeAt(0);
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
    if (this.lastBoundary < 0) return []; // one huge record so far: wait for more
    const cut = this.lastBoundary + 1;
    const piece = this.piece(buf.subarray(0, cut));
    const rest = buf.subarray(cut);
    this.pending = rest.length > 0 ? [rest] : [];
    this.pendingBytes = rest.length;
    this.scanned -= cut;
    this.lastBoundary = -1;
    return [piece];
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
        this.inQuote = true;
        pos = open + 1;
      }
    }
    this.scanned = pos;
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
