/**
 * The producer, with parsing spread over worker threads: the main thread reads, parses the header,
 * cuts the rest into pieces on record boundaries (source/split.ts) and hands them to parse workers
 * (parseWorker.ts); results come back in any order and are batched in file order. Demand is kept:
 * at most `2 × threads` pieces are in flight, and the next chunk is read only after the batches
 * cut so far found room downstream.
 */
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import { ImporterError } from '../errors.js';
import { openSource, wrapReadError } from '../source/open.js';
import { RecordParser } from '../source/parse.js';
import { countLineBreaks, PieceSplitter, type Piece } from '../source/split.js';
import type { Batch, Reject } from './batcher.js';
import { mapHeader, type HeaderMapping } from './header.js';
import type { PieceResult } from './parseWorker.js';
import { thresholdMessage, type ProduceInput } from './producer.js';

const PIECE_BYTES = 1024 * 1024;

/** The compiled worker script (tests run from TypeScript sources, the worker always from dist/). */
function workerUrl(): URL {
  const here = new URL('./parseWorker.js', import.meta.url);
  if (existsSync(fileURLToPath(here))) return here;
  return new URL('../../dist/src/pipeline/parseWorker.js', import.meta.url);
}

export async function produceParallel(input: ProduceInput, threads: number): Promise<number> {
  const { jobType: jt, file, metrics, rejectsByCode, warnings, logger } = input;
  const source = openSource(file.path, { gzip: file.gzip, encoding: jt.csv.encoding });
  const workers: Worker[] = [];
  const pending = new Map<number, PieceResult>();
  const waiters = new Map<number, () => void>();
  let workerError: unknown;
  let next = 0;
  let inFlight = 0;
  let records = 0;
  let rejected = 0;
  let batchSeq = 0;

  // The batch being filled, in file order.
  let parts: Uint8Array[] = [];
  let rows = 0;
  let bytes = 0;
  let count = 0;
  let first = 0;
  let rejects: Reject[] = [];
  let lastLine = 0;
  let endOffset = 0;
  const cut = async () => {
    if (count === 0) return;
    const batch: Batch = { seq: batchSeq++, firstRecord: first, recordCount: count, rows, data: parts.length === 1 ? Buffer.from(parts[0]!.buffer, parts[0]!.byteOffset, parts[0]!.byteLength) : Buffer.concat(parts), rejects, lastLine, endOffset };
    first += count;
    parts = [];
    rows = bytes = count = 0;
    rejects = [];
    metrics.batcher.out++;
    await input.put(batch);
  };

  const startWorkers = (mapping: HeaderMapping) => {
    for (let i = 0; i < threads; i++) {
      const w = new Worker(workerUrl());
      w.on('message', (r: PieceResult) => {
        inFlight--;
        pending.set(r.seq, r);
        waiters.get(r.seq)?.();
      });
      w.on('error', (err) => {
        workerError = err;
        for (const wake of waiters.values()) wake();
      });
      w.postMessage({ init: { jobType: jt, mapping } });
      workers.push(w);
    }
  };
  let dispatched = 0;
  const dispatch = (p: Piece) => {
    const copy = new Uint8Array(p.buf);
    inFlight++;
    workers[dispatched++ % workers.length]!.postMessage({ piece: { ...p, buf: copy } }, [copy.buffer]);
  };
  /** Takes the next result in file order (waiting for it), folds it into the batch, cuts full batches. */
  const drainOne = async () => {
    const seq = next;
    if (!pending.has(seq)) await new Promise<void>((resolve) => waiters.set(seq, resolve));
    waiters.delete(seq);
    if (workerError) throw workerError;
    const r = pending.get(seq)!;
    pending.delete(seq);
    next++;
    if (r.error) throw new ImporterError(r.error.code, `${file.path}: ${r.error.message}`, { file: file.path, ...(r.error.line ? { line: r.error.line } : {}) });
    records += r.records;
    rejected += r.rejects.length;
    metrics.producer.out += r.records;
    metrics.cast.in += r.records;
    metrics.cast.out += r.rows;
    metrics.cast.rejected += r.rejects.length;
    metrics.batcher.in += r.records;
    for (const j of r.rejects) rejectsByCode[j.code] = (rejectsByCode[j.code] ?? 0) + 1;
    if (input.stopAtThreshold !== false && jt.maxRejects.kind === 'count' && rejected > jt.maxRejects.value) {
      throw new ImporterError('REJECT_THRESHOLD', thresholdMessage(jt, file.path, rejected, undefined, rejectsByCode), { file: file.path, line: r.rejects.at(-1)?.line });
    }
    if (r.records > 0) {
      parts.push(r.data);
      rows += r.rows;
      bytes += r.data.byteLength;
      count += r.records;
      rejects.push(...r.rejects);
      lastLine = r.lastLine;
      endOffset = r.endOffset;
    }
    if (rows >= jt.batch.rows || bytes >= jt.batch.bytes) await cut();
  };

  let splitter: PieceSplitter | undefined;
  let mapping: HeaderMapping | undefined = jt.csv.header ? undefined : mapHeader(jt, undefined, file.path);
  const headerChunks: Buffer[] = [];
  const header = jt.csv.header
    ? new RecordParser({ delimiter: jt.csv.delimiter, quote: jt.csv.quote, escape: jt.csv.escape, maxRecordSize: Math.max(jt.csv.maxFieldBytes * 4, 1024 * 1024) })
    : undefined;
  let headerEnd = 0;
  const begin = (m: HeaderMapping, line: number, offset: number) => {
    mapping = m;
    splitter = new PieceSplitter(jt.csv.quote, PIECE_BYTES, { line, offset });
    startWorkers(m);
  };
  if (mapping) begin(mapping, 1, 0);

  const feed = async (chunk: Buffer) => {
    for (const p of splitter!.push(chunk)) {
      dispatch(p);
      while (inFlight >= threads * 2) await drainOne();
    }
  };

  try {
    for await (const raw of source.stream) {
      if (input.signal.aborted) throw new ImporterError('INTERRUPTED', `${file.path}: interrupted by shutdown`, { file: file.path });
      const chunk = raw as Buffer;
      metrics.bytesRead = source.progress.bytesRead;
      if (!mapping) {
        headerChunks.push(chunk);
        let headerLine = 0;
        header!.write(chunk, (fields, line, _offset, r) => {
          if (mapping) return;
          mapping = mapHeader(jt, fields, file.path);
          headerEnd = r.end();
          headerLine = line;
        });
        if (!mapping) continue;
        const m = mapping as HeaderMapping;
        for (const w of m.warnings) {
          warnings.push(w);
          logger.warn({ jobType: jt.name, file: file.path }, w);
        }
        const all = Buffer.concat(headerChunks);
        const headerText = all.subarray(0, headerEnd);
        begin(m, headerLine + countLineBreaks(headerText), headerEnd);
        await feed(all.subarray(headerEnd));
      } else {
        await feed(chunk);
      }
      input.onProgress?.(metrics);
    }
    if (!mapping) {
      // The whole file is the header (or nothing): let the single parser finish it.
      header!.end((fields) => {
        if (!mapping) mapping = mapHeader(jt, fields, file.path);
      });
      if (!mapping) warnings.push('the file is empty (no header)');
      return 0;
    }
    const last = splitter!.end();
    if (last) dispatch(last);
    while (inFlight > 0 || pending.size > 0) await drainOne();
    await cut();
    metrics.bytesRead = source.progress.bytesRead;
    return records;
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    if (err instanceof ImporterError || !(e.syscall || /^Z_/.test(e.code ?? ''))) throw err;
    throw wrapReadError(e, file.path);
  } finally {
    source.stream.destroy();
    await Promise.all(workers.map((w) => w.terminate()));
  }
}
