/**
 * A processed chunk: the records of one piece of a file after the per-record stages (process.ts),
 * as COPY text plus, per record, the marks the batcher needs to cut batches at any record. Every
 * record source (inline parsing, the parse threads) delivers its records in this one shape.
 */
import type { Reject, RejectInfo } from '../db/batch.js';
import { encodeReject } from '../db/copyText.js';
import type { ErrorCode } from '../errors.js';
import type { RawRecord, RecordSink } from '../source/parse.js';
import { ByteSink } from './bytes.js';
import type { Processed } from './process.js';

/** Numbers per record in ProcessedChunk.marks. */
export const MARKS = 5;

export interface ProcessedChunk {
  /** COPY text, UTF-8. */
  readonly data: Uint8Array;
  readonly records: number;
  /**
   * Five numbers per record: end of its row in `data` (unchanged for a reject or a blank line),
   * rows so far, its physical line, the byte offset just after it in the file, and the physical
   * line where the next record starts.
   */
  readonly marks: Float64Array;
  /** The chunk's rejects, encoded for COPY (db/copyText.ts encodeReject), one line each. */
  readonly rejectData: Uint8Array;
  /** For each reject: the end of its line in `rejectData`, the index of its record within the chunk, its code and its line. */
  readonly rejectEnds: number[];
  readonly rejectRecords: number[];
  readonly rejectInfo: RejectInfo[];
  /**
   * Set by server-side parsing (serverSource.ts): `data` holds raw CSV records for COPY … (FORMAT
   * csv), and the first record starts at byte `firstOffset` of the file.
   */
  readonly raw?: { readonly firstOffset: number } | undefined;
  /** The chunk's records stop here: the file cannot be read past this error. */
  readonly error?: { readonly code: ErrorCode; readonly message: string; readonly line?: number } | undefined;
}

/** Collects processed records into a ProcessedChunk. */
export class ChunkBuilder {
  private readonly data: ByteSink;
  private rows = 0;
  private records = 0;
  private marks = new Float64Array(MARKS * 4096);
  /** Made on the first reject: most chunks have none. */
  private rejects: ByteSink | undefined;
  private readonly rejectEnds: number[] = [];
  private readonly rejectRecords: number[] = [];
  private readonly rejectInfo: RejectInfo[] = [];

  /**
   * @param processRecord the per-record stages, for the sink (the client path); server-side parsing
   *   adds its rows with rawRow instead
   * @param expectedBytes about how much COPY text is coming (sizes the first buffer)
   */
  constructor(
    private readonly processRecord: ((fields: string[], line: number, offset: number, raw: RawRecord) => Processed) | undefined,
    expectedBytes: number,
  ) {
    this.data = new ByteSink(expectedBytes);
  }

  readonly sink: RecordSink = (fields, line, offset, raw) => {
    const out = this.processRecord!(fields, line, offset, raw);
    if (typeof out === 'string') {
      this.data.append(out);
      this.rows++;
    } else if (out !== null) this.reject(out);
    this.endRecord(line, raw.end(), raw.nextLine());
  };

  /** A row of raw CSV bytes `buf[start, end)`, after `prefix`, ended by an LF (server-side parsing). */
  rawRow(prefix: string | undefined, buf: Uint8Array, start: number, end: number): void {
    if (prefix) this.data.append(prefix);
    this.data.appendBytes(buf, start, end);
    this.data.appendBytes(NEWLINE, 0, 1);
    this.rows++;
  }

  /** The current record is rejected: encoded at once, so the reject object dies young, whatever the number of bad rows. */
  reject(r: Reject): void {
    this.rejects ??= new ByteSink();
    this.rejects.append(encodeReject(r));
    this.rejectEnds.push(this.rejects.length);
    this.rejectRecords.push(this.records);
    this.rejectInfo.push({ code: r.code, line: r.line });
  }

  /** Ends the current record (after its row, its reject, or neither for a blank line): its marks. */
  endRecord(line: number, end: number, nextLine: number): void {
    if ((this.records + 1) * MARKS > this.marks.length) {
      const bigger = new Float64Array(this.marks.length * 2);
      bigger.set(this.marks);
      this.marks = bigger;
    }
    const m = this.records * MARKS;
    this.marks[m] = this.data.length;
    this.marks[m + 1] = this.rows;
    this.marks[m + 2] = line;
    this.marks[m + 3] = end;
    this.marks[m + 4] = nextLine;
    this.records++;
  }

  /** The chunk so far; pass the error that stopped parsing, if one did, and for raw CSV where its first record starts. */
  finish(err?: unknown, raw?: ProcessedChunk['raw']): ProcessedChunk {
    return {
      data: this.data.finish(),
      records: this.records,
      marks: this.marks.subarray(0, this.records * MARKS),
      rejectData: this.rejects ? this.rejects.finish() : EMPTY,
      rejectEnds: this.rejectEnds,
      rejectRecords: this.rejectRecords,
      rejectInfo: this.rejectInfo,
      raw,
      error: err === undefined ? undefined : chunkError(err),
    };
  }
}

const NEWLINE = Buffer.from('\n');
const EMPTY = new Uint8Array(0);

function chunkError(err: unknown): NonNullable<ProcessedChunk['error']> {
  const e = err as { code?: ErrorCode; message?: string; context?: { line?: number } };
  return { code: e.code ?? 'INTERNAL', message: e.message ?? String(err), ...(e.context?.line ? { line: e.context.line } : {}) };
}
