/**
 * A growable UTF-8 byte buffer for COPY text. Rows are written in as they are encoded, so each
 * row's string dies young instead of living (and being promoted by the GC) until its batch is cut.
 * Buffers are at least 64 KiB, so each has its own ArrayBuffer (never Node's shared pool) and can
 * be transferred to another thread.
 */
const MIN = 64 * 1024;
const EMPTY = new Uint8Array(0);
const EMPTY_BUFFER = Buffer.alloc(0);

export class ByteSink {
  private buf: Buffer;
  private len = 0;

  constructor(initial = MIN) {
    this.buf = Buffer.allocUnsafe(Math.max(MIN, initial));
  }

  get length(): number {
    return this.len;
  }

  append(s: string): void {
    const need = this.len + s.length * 3;
    if (need > this.buf.length) {
      const bigger = Buffer.allocUnsafe(Math.max(need, this.buf.length * 2));
      this.buf.copy(bigger, 0, 0, this.len);
      this.buf = bigger;
    }
    this.len += this.buf.write(s, this.len);
  }

  /** Appends `src[start, end)` as it is. */
  appendBytes(src: Uint8Array, start: number, end: number): void {
    const n = end - start;
    if (this.len + n > this.buf.length) {
      const bigger = Buffer.allocUnsafe(Math.max(this.len + n, this.buf.length * 2));
      this.buf.copy(bigger, 0, 0, this.len);
      this.buf = bigger;
    }
    this.buf.set(src.subarray(start, end), this.len);
    this.len += n;
  }

  /**
   * The bytes written, as the last use of the sink: in a buffer of their own size when the sink's
   * is much larger (a chunk's rows and rejects outlive it in batches; its spare capacity must not),
   * or empty without a buffer. The sink must not be written to afterwards.
   */
  finish(): Uint8Array {
    const used = this.len;
    const buf = this.buf;
    this.buf = EMPTY_BUFFER;
    this.len = 0;
    if (used === 0) return EMPTY;
    if (used >= buf.length * 0.9) return new Uint8Array(buf.buffer, buf.byteOffset, used);
    // allocUnsafeSlow: never a slice of Node's shared pool, so it can be transferred between threads.
    const exact = Buffer.allocUnsafeSlow(used);
    buf.copy(exact, 0, 0, used);
    return new Uint8Array(exact.buffer, exact.byteOffset, used);
  }

  /** The bytes written so far; the sink starts over with a fresh buffer of `nextSize` bytes. */
  take(nextSize = MIN): Buffer {
    const out = this.buf.subarray(0, this.len);
    this.buf = Buffer.allocUnsafe(Math.max(MIN, nextSize));
    this.len = 0;
    return out;
  }
}
