/**
 * The batcher: folds processed chunks (chunk.ts), in file order, into batches cut by batch.rows and
 * batch.bytes, or by the producer on a flush timeout. A batch covers one contiguous range of record
 * indexes, which is what its checkpoint records; records that committed batches already cover (a
 * resumed file) are dropped, and a batch never spans one of those ranges.
 *
 * A batch's COPY text is a list of views into the chunks' buffers: nothing is copied.
 */
import { ROW_MARKS, type Batch, type CsvCopy, type RejectInfo } from '../db/batch.js';
import type { CommittedRange } from '../db/checkpoints.js';
import { MARKS, type ProcessedChunk } from './chunk.js';
import type { PipelineMetrics } from '../observability/metrics.js';

export class Batcher {
  private seq = 0;
  private readonly skip: readonly CommittedRange[];
  private skipAt = 0;
  /** Records folded so far: the file-wide index of the next chunk's first record. */
  private folded = 0;
  // The batch being filled.
  private parts: Uint8Array[] = [];
  private rows = 0;
  private bytes = 0;
  private count = 0;
  private first = 0;
  private rejectParts: Uint8Array[] = [];
  private rejectCount = 0;
  private lastLine = 0;
  private endOffset = 0;
  private nextLine = 0;
  /** Server-parsed batches: ROW_MARKS numbers per row (see Batch.raw). */
  private rowMarks = new Float64Array(0);
  private rowCount = 0;

  constructor(
    private readonly maxRows: number,
    private readonly maxBytes: number,
    committed: readonly CommittedRange[],
    /** Index of the first record the chunks hold (a resumed file that starts past its committed part). */
    firstRecord: number,
    /** Told of each reject as it is batched (threshold counting); may throw to stop the file. */
    private readonly onReject: (r: RejectInfo, encoded: Uint8Array) => void,
    private readonly metrics: PipelineMetrics,
    /** Set when the chunks hold raw CSV for the server to parse. */
    private readonly csv?: CsvCopy,
  ) {
    this.skip = [...committed].sort((a, b) => a.first - b.first);
    this.folded = firstRecord;
    this.first = firstRecord;
  }

  /** Records in the batch being filled. */
  get pending(): number {
    return this.count;
  }

  /** Records folded so far, committed ones included. */
  get records(): number {
    return this.folded;
  }

  /** Adds a chunk's records; returns the batches they completed. */
  add(chunk: ProcessedChunk): Batch[] {
    const out: Batch[] = [];
    const m = chunk.marks;
    const base = this.folded;
    this.folded += chunk.records;
    this.metrics.producer.out += chunk.records;
    let i = 0;
    let dataStart = 0;
    let rowsStart = 0;
    let nextReject = 0;
    const advance = (j: number) => {
      const last = (j - 1) * MARKS;
      dataStart = m[last]!;
      rowsStart = m[last + 1]!;
      i = j;
    };
    while (i < chunk.records) {
      const g = base + i;
      while (this.skipAt < this.skip.length && this.skip[this.skipAt]!.first + this.skip[this.skipAt]!.count <= g) this.skipAt++;
      const range = this.skip[this.skipAt];
      if (range && range.first <= g) {
        // Committed already: drop these records, their rows and their rejects.
        this.cutInto(out);
        const j = Math.min(chunk.records, range.first + range.count - base);
        while (nextReject < chunk.rejectRecords.length && chunk.rejectRecords[nextReject]! < j) nextReject++;
        advance(j);
        this.first = base + j;
        continue;
      }
      // Records up to batch.rows and up to the next committed range, fewer if batch.bytes is reached first (row ends only grow).
      let j = Math.min(chunk.records, i + (this.maxRows - this.count), range ? range.first - base : Infinity);
      const byteLimit = dataStart + (this.maxBytes - this.bytes);
      if (m[(j - 1) * MARKS]! >= byteLimit) {
        let lo = i;
        let hi = j - 1;
        while (lo < hi) {
          const mid = (lo + hi) >>> 1;
          if (m[mid * MARKS]! >= byteLimit) hi = mid;
          else lo = mid + 1;
        }
        j = lo + 1;
      }
      const last = (j - 1) * MARKS;
      const dataEnd = m[last]!;
      if (dataEnd > dataStart) this.parts.push(chunk.data.subarray(dataStart, dataEnd));
      if (chunk.raw) this.markRows(chunk, i, j, dataStart);
      this.bytes += dataEnd - dataStart;
      const rows = m[last + 1]! - rowsStart;
      this.rows += rows;
      if (this.count === 0) this.first = g;
      this.count += j - i;
      this.metrics.cast.in += j - i;
      this.metrics.cast.out += rows;
      this.metrics.batcher.in += j - i;
      const firstReject = nextReject;
      while (nextReject < chunk.rejectRecords.length && chunk.rejectRecords[nextReject]! < j) {
        const start = nextReject === 0 ? 0 : chunk.rejectEnds[nextReject - 1]!;
        this.onReject(chunk.rejectInfo[nextReject]!, chunk.rejectData.subarray(start, chunk.rejectEnds[nextReject]!));
        nextReject++;
      }
      if (nextReject > firstReject) {
        const from = firstReject === 0 ? 0 : chunk.rejectEnds[firstReject - 1]!;
        this.rejectParts.push(chunk.rejectData.subarray(from, chunk.rejectEnds[nextReject - 1]!));
        this.rejectCount += nextReject - firstReject;
      }
      this.lastLine = m[last + 2]!;
      this.endOffset = m[last + 3]!;
      this.nextLine = m[last + 4]!;
      advance(j);
      if (this.count >= this.maxRows || this.bytes >= this.maxBytes) this.cutInto(out);
    }
    return out;
  }

  /** Notes where each row of records [i, j) ends in the batch's data, with its line and offset. */
  private markRows(chunk: ProcessedChunk, i: number, j: number, dataStart: number): void {
    const m = chunk.marks;
    const need = (this.rowCount + (j - i)) * ROW_MARKS;
    if (need > this.rowMarks.length) {
      const bigger = new Float64Array(Math.max(need, this.rowMarks.length * 2, 1024));
      bigger.set(this.rowMarks.subarray(0, this.rowCount * ROW_MARKS));
      this.rowMarks = bigger;
    }
    let prevEnd = dataStart;
    for (let r = i; r < j; r++) {
      const end = m[r * MARKS]!;
      if (end > prevEnd) {
        const k = this.rowCount++ * ROW_MARKS;
        this.rowMarks[k] = this.bytes + (end - dataStart);
        this.rowMarks[k + 1] = m[r * MARKS + 2]!;
        this.rowMarks[k + 2] = r === 0 ? chunk.raw!.firstOffset : m[(r - 1) * MARKS + 3]!;
      }
      prevEnd = end;
    }
  }

  /** Cuts the batch being filled, if it has any record. */
  cut(): Batch | undefined {
    if (this.count === 0) return undefined;
    const batch: Batch = {
      seq: this.seq++,
      firstRecord: this.first,
      recordCount: this.count,
      rows: this.rows,
      data: this.parts,
      rejects: { count: this.rejectCount, data: this.rejectParts },
      lastLine: this.lastLine,
      endOffset: this.endOffset,
      nextLine: this.nextLine,
      raw: this.csv ? { copy: this.csv, rows: this.rowMarks.slice(0, this.rowCount * ROW_MARKS) } : undefined,
    };
    this.rowCount = 0;
    this.first += this.count;
    this.parts = [];
    this.rows = this.bytes = this.count = 0;
    this.rejectParts = [];
    this.rejectCount = 0;
    this.metrics.batcher.out++;
    return batch;
  }

  private cutInto(out: Batch[]): void {
    const b = this.cut();
    if (b) out.push(b);
  }
}
