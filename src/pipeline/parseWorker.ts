/**
 * A parse worker thread of the pool (parsePool.ts): turns pieces of files (cut on record boundaries
 * by source/split.ts) into processed chunks, with the same per-record stages as inline parsing
 * (process.ts, chunk.ts). One thread serves many files at once, each under its own context: {init}
 * tells it a context's job type and header mapping, {forget} drops one, and each {piece} is answered
 * with one PieceResult carrying the piece's task id.
 */
import { parentPort } from 'node:worker_threads';
import type { JobType } from '../jobtypes/normalize.js';
import { faultFor } from '../util/faults.js';
import { ChunkBuilder } from './chunk.js';
import type { PieceResult, WorkerMessage } from './parseProtocol.js';
import { compileProcessor } from './process.js';
import { newRecordParser } from './recordParser.js';

interface Context {
  readonly jobType: JobType;
  readonly processRecord: ReturnType<typeof compileProcessor>;
  /** IMPORTER_FAULT=<job type>:thread-exit: this thread exits on the context's first piece (tests). */
  readonly exitFault: boolean;
}
const contexts = new Map<number, Context>();

function parsePiece(task: number, c: Context, piece: { seq: number; startLine: number; startOffset: number; buf: Buffer }): PieceResult {
  const parser = newRecordParser(c.jobType, { line: piece.startLine, offset: piece.startOffset });
  // COPY text is about as long as the CSV it comes from (quotes go, record index and line come).
  const chunk = new ChunkBuilder(c.processRecord, piece.buf.byteLength * 1.25);
  let error: unknown;
  try {
    parser.write(piece.buf, chunk.sink);
    parser.end(chunk.sink);
  } catch (err) {
    error = err;
  }
  return { task, seq: piece.seq, ...chunk.finish(error) };
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
    const transfer = [result.data, result.rejectData]
      .filter((d) => d.byteLength > 0)
      .map((d) => d.buffer as ArrayBuffer)
      .concat(result.marks.buffer as ArrayBuffer);
    parentPort!.postMessage(result, transfer);
  }
});
