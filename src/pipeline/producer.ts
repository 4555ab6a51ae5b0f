/** The producer: file → bytes → records → header → cast → encode → batches. */
import type { Logger } from 'pino';
import type { CommittedRange } from '../db/ledger.js';
import { ImporterError } from '../errors.js';
import type { JobType } from '../jobtypes/normalize.js';
import type { SourceFile } from '../source/discover.js';
import { openSource, wrapReadError } from '../source/open.js';
import { RecordParser, type RawRecord } from '../source/parse.js';
import { Batcher, type Batch, type Reject } from './batcher.js';
import { compileProcessor } from './process.js';
import { mapHeader, type HeaderMapping } from './header.js';
import { faultFor } from '../supervisor/faults.js';
import type { PipelineMetrics } from './metrics.js';

export interface ProduceInput {
  readonly jobType: JobType;
  readonly file: SourceFile;
  /** Record ranges already committed (resume): skipped, never batched again. */
  readonly committed: readonly CommittedRange[];
  readonly logger: Logger;
  readonly signal: AbortSignal;
  readonly metrics: PipelineMetrics;
  /** Filled in as rejects happen, so a caller sees them even when the file fails. */
  readonly rejectsByCode: Record<string, number>;
  readonly warnings: string[];
  /** Hands a batch downstream; resolves when there is room for it. */
  readonly put: (batch: Batch) => Promise<void>;
  readonly onProgress?: ((m: PipelineMetrics) => void) | undefined;
  /** Stop at the first reject past a count threshold (a load does; a dry run reads on). @default true */
  readonly stopAtThreshold?: boolean;
}

export function thresholdMessage(jt: JobType, file: string, rejected: number, total: number | undefined, byCode: Record<string, number>): string {
  const top = Object.entries(byCode)
    .sort((a, b) => b[1] - a[1])
    .slice(0, 3)
    .map(([code, n]) => `${code} ×${n}`)
    .join(', ');
  const of = total === undefined ? '' : ` of ${total} rows`;
  return `${file}: ${rejected} rejected rows${of} exceed errors.max_rejects ${jt.maxRejects.text}; nothing from this file was loaded. Top reasons: ${top || 'none'}`;
}

/**
 * Counts a file's rejects (stage metrics, rejects by reason) and stops the file at the first one
 * past a count threshold, rejects of committed ranges (a resumed file) included. Shared by both
 * producers, so a file stops at the same record with or without parse threads.
 */
export function rejectCounter(input: ProduceInput): (r: Reject) => void {
  const { jobType: jt, file, metrics, rejectsByCode } = input;
  let total = input.committed.reduce((s, c) => s + c.rejects, 0);
  return (r) => {
    total++;
    metrics.cast.rejected++;
    rejectsByCode[r.code] = (rejectsByCode[r.code] ?? 0) + 1;
    if (input.stopAtThreshold !== false && jt.maxRejects.kind === 'count' && total > jt.maxRejects.value) {
      throw new ImporterError('REJECT_THRESHOLD', thresholdMessage(jt, file.path, total, undefined, rejectsByCode), { file: file.path, line: r.line });
    }
  };
}

/**
 * The producer with its synchronous stages (header → cast → encode → batcher). It reads the next
 * chunk only after `put` accepted the batches of the previous one: `put` is where demand arrives.
 * Returns the number of data records in the file. Throws an ImporterError (with `context.line`)
 * when the file itself is unusable.
 */
export async function produce(input: ProduceInput): Promise<number> {
  const { jobType: jt, file, logger, metrics, warnings } = input;
  const source = openSource(file.path, { gzip: file.gzip, encoding: jt.csv.encoding });
  const parser = new RecordParser({
    delimiter: jt.csv.delimiter,
    quote: jt.csv.quote,
    escape: jt.csv.escape,
    maxRecordSize: Math.max(jt.csv.maxFieldBytes * 4, 1024 * 1024),
  });
  const batcher = new Batcher(jt.batch.rows, jt.batch.bytes);
  const skip = [...input.committed].sort((a, b) => a.first - b.first);
  let skipAt = 0;
  let mapping: HeaderMapping | undefined = jt.csv.header ? undefined : mapHeader(jt, undefined, file.path);
  let recordIndex = 0;
  const ready: Batch[] = [];
  const fault = faultFor(jt.name);
  const throwAt = fault?.kind === 'throw-on-record' ? fault.record - 1 : -1;

  const cut = () => {
    const b = batcher.cut();
    if (b) {
      metrics.batcher.out++;
      ready.push(b);
    }
  };
  const countReject = rejectCounter(input);
  const reject = (index: number, endOffset: number, r: Reject) => {
    batcher.addReject(index, endOffset, r);
    countReject(r);
  };

  let process: ReturnType<typeof compileProcessor> | undefined = mapping ? compileProcessor(jt, mapping) : undefined;
  const sink = (fields: string[], line: number, offset: number, raw: RawRecord): void => {
    metrics.producer.out++;
    if (!mapping) {
      mapping = mapHeader(jt, fields, file.path);
      process = compileProcessor(jt, mapping);
      for (const w of mapping.warnings) {
        warnings.push(w);
        logger.warn({ jobType: jt.name, file: file.path }, w);
      }
      return;
    }
    const index = recordIndex++;
    if (index === throwAt) throw new Error(`injected fault: processing threw on record ${index + 1} (IMPORTER_FAULT)`);
    // Skip records that committed batches already cover (resume after a crash).
    while (skipAt < skip.length && skip[skipAt]!.first + skip[skipAt]!.count <= index) skipAt++;
    if (skipAt < skip.length && skip[skipAt]!.first <= index) {
      if (batcher.pending > 0) cut();
      return;
    }
    if (!batcher.continues(index)) cut();
    metrics.cast.in++;
    const out = process!(fields, line, offset, raw);
    if (out === null) {
      batcher.addBlank(index, line, raw.end());
      return;
    }
    if (typeof out === 'string') {
      batcher.addRow(index, line, raw.end(), out);
      metrics.cast.out++;
    } else {
      reject(index, raw.end(), out);
    }
    metrics.batcher.in++;
    if (batcher.full) cut();
  };

  const flushReady = async () => {
    while (ready.length > 0) await input.put(ready.shift()!);
  };

  const it = source.stream[Symbol.asyncIterator]() as AsyncIterator<Buffer>;
  try {
    for (;;) {
      if (input.signal.aborted) {
        throw new ImporterError('INTERRUPTED', `${file.path}: interrupted by shutdown`, { file: file.path });
      }
      const next = it.next().catch((err: unknown) => {
        throw wrapReadError(err as Error, file.path);
      });
      let r: IteratorResult<Buffer>;
      if (batcher.pending > 0) {
        // Flush a partial batch when the source goes quiet.
        let timer: NodeJS.Timeout | undefined;
        const quiet = new Promise<'quiet'>((resolve) => (timer = setTimeout(() => resolve('quiet'), jt.batch.flushMs)));
        const first = await Promise.race([next, quiet]);
        clearTimeout(timer);
        if (first === 'quiet') {
          cut();
          await flushReady();
          r = await next;
        } else r = first;
      } else r = await next;
      if (r.done) break;
      metrics.bytesRead = source.progress.bytesRead;
      parser.write(r.value, sink);
      await flushReady();
      input.onProgress?.(metrics);
    }
    parser.end(sink);
    if (!mapping && jt.csv.header) {
      warnings.push('the file is empty (no header)');
    }
    cut();
    await flushReady();
    metrics.bytesRead = source.progress.bytesRead;
    return recordIndex;
  } finally {
    source.stream.destroy();
  }
}
