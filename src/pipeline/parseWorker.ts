/**
 * A parse worker thread: turns pieces of a file (cut on record boundaries by source/split.ts)
 * into COPY text and rejects, with the same per-record stages as the producer (process.ts).
 * Messages: {init: {jobType, mapping}} once, then {piece}; it answers one PieceResult per piece.
 */
import { parentPort } from 'node:worker_threads';
import type { JobType } from '../jobtypes/normalize.js';
import { RecordParser, type RawRecord } from '../source/parse.js';
import type { Piece } from '../source/split.js';
import type { Reject } from './batcher.js';
import type { HeaderMapping } from './header.js';
import { ByteSink } from './bytes.js';
import { compileProcessor } from './process.js';

export interface PieceResult {
  readonly seq: number;
  /** COPY text, UTF-8 (transferred, not copied). */
  readonly data: Uint8Array;
  readonly rows: number;
  readonly records: number;
  readonly rejects: Reject[];
  readonly lastLine: number;
  readonly endOffset: number;
  readonly error?: { code: string; message: string; line?: number };
}

let jt: JobType | undefined;
let processRecord: ReturnType<typeof compileProcessor> | undefined;

function parsePiece(piece: Piece): PieceResult {
  const parser = new RecordParser({
    delimiter: jt!.csv.delimiter,
    quote: jt!.csv.quote,
    escape: jt!.csv.escape,
    maxRecordSize: Math.max(jt!.csv.maxFieldBytes * 4, 1024 * 1024),
    startLine: piece.startLine,
    startOffset: piece.startOffset,
  });
  const data = new ByteSink(piece.buf.byteLength * 2);
  let rows = 0;
  let records = 0;
  let lastLine = piece.startLine;
  let endOffset = piece.startOffset;
  const rejects: Reject[] = [];
  const sink = (fields: string[], line: number, offset: number, raw: RawRecord) => {
    records++;
    lastLine = line;
    endOffset = raw.end();
    const out = processRecord!(fields, line, offset, raw);
    if (out === null) return;
    if (typeof out === 'string') {
      data.append(out);
      rows++;
    } else rejects.push(out);
  };
  try {
    parser.write(Buffer.from(piece.buf.buffer, piece.buf.byteOffset, piece.buf.byteLength), sink);
    parser.end(sink);
  } catch (err) {
    const e = err as { code?: string; message: string; context?: { line?: number } };
    return { seq: piece.seq, data: new Uint8Array(0), rows: 0, records, rejects, lastLine, endOffset, error: { code: e.code ?? 'INTERNAL', message: e.message, ...(e.context?.line ? { line: e.context.line } : {}) } };
  }
  const bytes = data.take(0);
  return { seq: piece.seq, data: new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength), rows, records, rejects, lastLine, endOffset };
}

parentPort!.on('message', (msg: { init?: { jobType: JobType; mapping: HeaderMapping }; piece?: Piece }) => {
  if (msg.init) {
    jt = msg.init.jobType;
    processRecord = compileProcessor(jt, msg.init.mapping);
    return;
  }
  if (msg.piece) {
    const result = parsePiece(msg.piece);
    parentPort!.postMessage(result, result.data.byteLength > 0 ? [result.data.buffer as ArrayBuffer] : []);
  }
});
