/**
 * A parse worker thread of the pool (parsePool.ts): turns pieces of files (cut on record boundaries
 * by source/split.ts) into COPY text and rejects, with the same per-record stages as the producer
 * (process.ts). One thread serves many files at once, each under its own context: {init} tells it a
 * context's job type and header mapping, {forget} drops one, and each {piece} is answered with one
 * PieceResult carrying the piece's task id.
 */
import { parentPort } from 'node:worker_threads';
import type { ErrorCode } from '../errors.js';
import type { JobType } from '../jobtypes/normalize.js';
import { RecordParser, type RawRecord } from '../source/parse.js';
import type { Piece } from '../source/split.js';
import type { Reject } from './batcher.js';
import type { HeaderMapping } from './header.js';
import { ByteSink } from './bytes.js';
import { compileProcessor } from './process.js';
import { MARKS } from './parsePool.js';
import { faultFor } from '../supervisor/faults.js';

export interface PieceResult {
  /** The pool's task id. */
  readonly task: number;
  readonly seq: number;
  /** COPY text, UTF-8 (transferred, not copied). */
  readonly data: Uint8Array;
  readonly records: number;
  /**
   * Four numbers per record, so that the producer can cut batches at any record (batch.rows and
   * batch.bytes hold with threads too): end of its row in `data` (unchanged for a reject or a blank
   * line), rows so far, its physical line, and the byte offset just after it in the file.
   */
  readonly marks: Float64Array;
  readonly rejects: Reject[];
  /** For each reject, the index of its record within the piece. */
  readonly rejectRecords: number[];
  readonly error?: { code: ErrorCode; message: string; line?: number };
}

export type WorkerMessage =
  | { readonly init: { readonly context: number; readonly jobType: JobType; readonly mapping: HeaderMapping } }
  | { readonly forget: number }
  | { readonly piece: { readonly task: number; readonly context: number; readonly seq: number; readonly startLine: number; readonly startOffset: number; readonly buf: Uint8Array } };

interface Context {
  readonly jobType: JobType;
  readonly processRecord: ReturnType<typeof compileProcessor>;
  /** IMPORTER_FAULT=<job type>:thread-exit: this thread exits on the context's first piece (tests). */
  readonly exitFault: boolean;
}
const contexts = new Map<number, Context>();

function parsePiece(task: number, { jobType: jt, processRecord }: Context, piece: Piece): PieceResult {
  const parser = new RecordParser({
    delimiter: jt.csv.delimiter,
    quote: jt.csv.quote,
    escape: jt.csv.escape,
    maxRecordSize: Math.max(jt.csv.maxFieldBytes * 4, 1024 * 1024),
    startLine: piece.startLine,
    startOffset: piece.startOffset,
  });
  // COPY text is about as long as the CSV it comes from (quotes go, record index and line come).
  const data = new ByteSink(piece.buf.byteLength * 1.25);
  let rows = 0;
  let records = 0;
  let marks = new Float64Array(MARKS * 4096);
  const rejects: Reject[] = [];
  const rejectRecords: number[] = [];
  const sink = (fields: string[], line: number, offset: number, raw: RawRecord) => {
    const out = processRecord(fields, line, offset, raw);
    if (typeof out === 'string') {
      data.append(out);
      rows++;
    } else if (out !== null) {
      rejects.push(out);
      rejectRecords.push(records);
    }
    if ((records + 1) * MARKS > marks.length) {
      const bigger = new Float64Array(marks.length * 2);
      bigger.set(marks);
      marks = bigger;
    }
    const m = records * MARKS;
    marks[m] = data.length;
    marks[m + 1] = rows;
    marks[m + 2] = line;
    marks[m + 3] = raw.end();
    records++;
  };
  try {
    parser.write(piece.buf, sink);
    parser.end(sink);
  } catch (err) {
    const e = err as { code?: ErrorCode; message: string; context?: { line?: number } };
    return { task, seq: piece.seq, data: new Uint8Array(0), records, marks: new Float64Array(0), rejects, rejectRecords, error: { code: e.code ?? 'INTERNAL', message: e.message, ...(e.context?.line ? { line: e.context.line } : {}) } };
  }
  const bytes = data.take(0);
  return { task, seq: piece.seq, data: new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength), records, marks: marks.subarray(0, records * MARKS), rejects, rejectRecords };
}

parentPort!.on('message', (msg: WorkerMessage) => {
  if ('init' in msg) {
    contexts.set(msg.init.context, {
      jobType: msg.init.jobType,
      processRecord: compileProcessor(msg.init.jobType, msg.init.mapping),
      exitFault: faultFor(msg.init.jobType.name)?.kind === 'thread-exit',
    });
  } else if ('forget' in msg) {
    contexts.delete(msg.forget);
  } else {
    const { task, context, ...piece } = msg.piece;
    const c = contexts.get(context)!;
    if (c.exitFault) process.exit(3);
    const result = parsePiece(task, c, { ...piece, buf: Buffer.from(piece.buf.buffer, piece.buf.byteOffset, piece.buf.byteLength) });
    parentPort!.postMessage(result, [...(result.data.byteLength > 0 ? [result.data.buffer as ArrayBuffer] : []), result.marks.buffer as ArrayBuffer]);
  }
});
