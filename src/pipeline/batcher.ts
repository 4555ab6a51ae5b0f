/**
 * The batcher: collects encoded rows and rejects into batches, cut by rows, by bytes, or by the
 * producer on a flush timeout. A batch always covers one contiguous range of record indexes, which
 * is what the checkpoint of that batch records.
 */
export interface Reject {
  readonly line: number;
  readonly offset: number;
  readonly record: string;
  readonly column: string | null;
  readonly code: string;
  readonly message: string;
}

export interface Batch {
  readonly seq: number;
  /** Index (0-based, header excluded) of the first record the batch covers. */
  readonly firstRecord: number;
  /** Records covered, loaded and rejected. */
  readonly recordCount: number;
  /** Rows in `data`. */
  readonly rows: number;
  /** COPY text (UTF-8), one line per row. */
  readonly data: Buffer;
  readonly rejects: readonly Reject[];
  /** Physical line of the last record, and byte offset just after it. */
  readonly lastLine: number;
  readonly endOffset: number;
}

export class Batcher {
  private seq = 0;
  private first = -1;
  private count = 0;
  private rows = 0;
  /**
   * Rows are written into a Buffer as they come, so that each row's string dies young instead of
   * being kept (and promoted to the old generation) until the batch is cut.
   */
  private buf: Buffer = Buffer.allocUnsafe(64 * 1024);
  private len = 0;
  private rejects: Reject[] = [];
  private lastLine = 0;
  private endOffset = 0;

  constructor(
    readonly maxRows: number,
    readonly maxBytes: number,
  ) {}

  get pending(): number {
    return this.count;
  }

  /** Whether record `index` continues the current batch (otherwise cut first). */
  continues(index: number): boolean {
    return this.count === 0 || this.first + this.count === index;
  }

  addRow(index: number, line: number, endOffset: number, encoded: string): void {
    if (this.count === 0) this.first = index;
    this.count++;
    this.rows++;
    this.append(encoded);
    this.lastLine = line;
    this.endOffset = endOffset;
  }

  /** A record that yields no row and no reject (a blank line). */
  addBlank(index: number, line: number, endOffset: number): void {
    if (this.count === 0) this.first = index;
    this.count++;
    this.lastLine = line;
    this.endOffset = endOffset;
  }

  addReject(index: number, endOffset: number, reject: Reject): void {
    if (this.count === 0) this.first = index;
    this.count++;
    this.rejects.push(reject);
    this.lastLine = reject.line;
    this.endOffset = endOffset;
  }

  private append(s: string): void {
    const need = this.len + s.length * 3;
    if (need > this.buf.length) {
      const bigger = Buffer.allocUnsafe(Math.max(need, this.buf.length * 2));
      this.buf.copy(bigger, 0, 0, this.len);
      this.buf = bigger;
    }
    this.len += this.buf.write(s, this.len);
  }

  get full(): boolean {
    return this.count >= this.maxRows || this.len >= this.maxBytes;
  }

  cut(): Batch | undefined {
    if (this.count === 0) return undefined;
    const batch: Batch = {
      seq: this.seq++,
      firstRecord: this.first,
      recordCount: this.count,
      rows: this.rows,
      data: this.buf.subarray(0, this.len),
      rejects: this.rejects,
      lastLine: this.lastLine,
      endOffset: this.endOffset,
    };
    this.count = 0;
    this.rows = 0;
    this.buf = Buffer.allocUnsafe(Math.min(Math.max(64 * 1024, this.len), this.maxBytes + 64 * 1024));
    this.len = 0;
    this.rejects = [];
    return batch;
  }
}
