/**
 * The batcher: collects encoded rows and rejects into batches, cut by rows, by bytes, or by the
 * producer on a flush timeout. A batch always covers one contiguous range of record indexes, which
 * is what the checkpoint of that batch records.
 */
import { ByteSink } from './bytes.js';

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
  /** COPY text (UTF-8), one line per row, in one or more parts (worker threads deliver parts). */
  readonly data: readonly Uint8Array[];
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
  private readonly data = new ByteSink();
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
    this.data.append(encoded);
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

  get full(): boolean {
    return this.count >= this.maxRows || this.data.length >= this.maxBytes;
  }

  cut(): Batch | undefined {
    if (this.count === 0) return undefined;
    const batch: Batch = {
      seq: this.seq++,
      firstRecord: this.first,
      recordCount: this.count,
      rows: this.rows,
      data: [this.data.take(Math.min(this.data.length, this.maxBytes + 64 * 1024))],
      rejects: this.rejects,
      lastLine: this.lastLine,
      endOffset: this.endOffset,
    };
    this.count = 0;
    this.rows = 0;
    this.rejects = [];
    return batch;
  }
}
