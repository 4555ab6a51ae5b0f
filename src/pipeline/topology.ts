/**
 * The topology of one file's load:
 *
 *   producer (read → decode → parse) → header → cast → encode → batcher → [bounded buffer] → consumers (COPY)
 *
 * Demand flows right to left: consumers `take` batches; the producer `put`s them and waits while the
 * buffer is full, and it reads the next chunk of the file only after its batches found room. So the
 * bytes in memory stay within (buffer capacity + consumers + 1) batches plus one read chunk.
 */
import { isUtf8 } from 'node:buffer';
import type { Logger } from 'pino';
import type { ConnectionBudget } from '../db/budget.js';
import { commitBatch, finalizeFile, type BatchTarget } from '../db/copy.js';
import type { CommittedRange, FileOutcome } from '../db/ledger.js';
import { withRetry, type RetryPolicy } from '../db/retry.js';
import { ensureStaging } from '../db/target.js';
import { ImporterError, errorCode, errorMessage } from '../errors.js';
import type { JobType } from '../jobtypes/normalize.js';
import type { SourceFile } from '../source/discover.js';
import { openSource } from '../source/open.js';
import { RecordParser, type RawRecord } from '../source/parse.js';
import { Batcher, type Batch, type Reject } from './batcher.js';
import { BoundedBuffer } from './buffer.js';
import { CastFailure, compileCaster, type CastOutcome } from './cast.js';
import { encodeValue, isQuotedEmptyField } from './encode.js';
import { mapHeader, type HeaderMapping } from './header.js';
import { PipelineMetrics } from './metrics.js';

export interface PipelineSettings {
  /** Defaults, used when neither the command line nor the definition sets them. */
  readonly bufferBatches: number;
  readonly consumers: number;
  /** Command-line values, which win over the definition's `pipeline` section. */
  readonly overrides?: { readonly bufferBatches?: number | undefined; readonly consumers?: number | undefined };
  readonly retry: RetryPolicy;
  /** Test hook: called by each consumer before it commits a batch. */
  readonly beforeCommit?: ((batch: Batch) => Promise<void>) | undefined;
}

export interface LoadFileInput {
  readonly jobType: JobType;
  readonly file: SourceFile;
  readonly fileId: number;
  readonly runId: number;
  readonly committed: readonly CommittedRange[];
  readonly budget: ConnectionBudget;
  readonly logger: Logger;
  readonly settings: PipelineSettings;
  readonly signal: AbortSignal;
  readonly onProgress?: ((m: PipelineMetrics) => void) | undefined;
}

export interface LoadFileResult {
  readonly outcome: FileOutcome;
  readonly rejectsByCode: Record<string, number>;
  readonly warnings: readonly string[];
  readonly errorLine?: number | undefined;
  readonly metrics: PipelineMetrics;
}

function thresholdExceeded(jt: JobType, rejected: number, total: number): boolean {
  const m = jt.maxRejects;
  if (m.kind === 'count') return rejected > m.value;
  return total > 0 && (rejected * 100) / total > m.value;
}

export async function loadFile(input: LoadFileInput): Promise<LoadFileResult> {
  const { jobType: jt, file, budget, logger, settings } = input;
  const metrics = new PipelineMetrics();
  metrics.bytesTotal = file.size;
  const target: BatchTarget = { jobType: jt, fileId: input.fileId, file: file.path, runId: input.runId };
  const bufferBatches = settings.overrides?.bufferBatches ?? jt.pipeline.bufferBatches ?? settings.bufferBatches;
  const consumerCount = settings.overrides?.consumers ?? jt.pipeline.consumers ?? settings.consumers;
  const buffer = new BoundedBuffer<Batch>(bufferBatches);
  const rejectsByCode: Record<string, number> = {};
  const warnings: string[] = [];
  let previousRejects = 0;
  for (const r of input.committed) previousRejects += r.rejects;

  await withRetry('create staging table', () => budget.withClient((c) => ensureStaging(c, jt, input.fileId)), settings.retry, logger);

  // Consumers: take batches and commit them, each in its own transaction, retrying transient errors.
  const consume = async (): Promise<void> => {
    for (let batch = await buffer.take(); batch; batch = await buffer.take()) {
      metrics.consumers.in++;
      const b = batch;
      await settings.beforeCommit?.(b);
      const started = performance.now();
      await withRetry(
        `${file.path}: batch at line ${b.lastLine}`,
        async (attempt) => {
          if (attempt > 0) metrics.consumers.retries++;
          return budget.withClient((c) => commitBatch(c, target, b));
        },
        settings.retry,
        logger,
      );
      metrics.consumers.copyMs += performance.now() - started;
      metrics.consumers.out++;
      metrics.consumers.rowsCommitted += b.rows;
      input.onProgress?.(metrics);
    }
  };
  const consumers = Array.from({ length: consumerCount }, () =>
    consume().catch((err: unknown) => {
      buffer.fail(err);
      throw err;
    }),
  );

  let records = 0;
  let errorLine: number | undefined;
  let interrupted = false;
  let produceError: unknown;
  try {
    records = await produce();
    buffer.close();
  } catch (err) {
    produceError = err;
    buffer.fail(err);
  }
  const consumed = await Promise.allSettled(consumers);
  const consumeError = consumed.find((r): r is PromiseRejectedResult => r.status === 'rejected')?.reason;
  metrics.buffer = {
    capacity: buffer.capacity,
    size: buffer.size,
    highWater: buffer.highWater,
    producerWaitMs: buffer.putWaitMs,
    consumerWaitMs: buffer.takeWaitMs,
  };
  logger.debug({ file: file.path, metrics: metrics.snapshot() }, 'pipeline metrics');

  const base = {
    rowsTotal: records,
    rowsLoaded: 0,
    rowsRejected: metrics.cast.rejected + previousRejects,
    rowsInserted: 0,
    rowsUpdated: 0,
    rowsDuplicate: 0,
  };
  const error = consumeError ?? produceError;
  if (error !== undefined) {
    if (interrupted && !(error instanceof ImporterError && error.code !== 'INTERRUPTED')) {
      return { outcome: { ...base, status: 'interrupted', errorCode: 'INTERRUPTED', error: 'stopped by shutdown' }, rejectsByCode, warnings, metrics };
    }
    const code = errorCode(error);
    const message = errorMessage(error);
    return {
      outcome: { ...base, status: 'failed', errorCode: code, error: message.startsWith(file.path) ? message : `${file.path}: ${message}` },
      rejectsByCode,
      warnings,
      errorLine,
      metrics,
    };
  }

  try {
    const result = await withRetry(
      `${file.path}: finalize`,
      () => budget.withClient((c) => finalizeFile(c, target, {
            records,
            overThreshold: (rej, total) => thresholdExceeded(jt, rej, total),
            keepStaged: jt.target.mode === 'replace',
          }),),
      settings.retry,
      logger,
    );
    if (result.status === 'threshold') {
      return {
        outcome: {
          ...base,
          rowsRejected: result.rejected,
          status: 'failed',
          errorCode: 'REJECT_THRESHOLD',
          error: thresholdMessage(jt, file.path, result.rejected, records, rejectsByCode),
        },
        rejectsByCode,
        warnings,
        metrics,
      };
    }
    if (result.status === 'staged') {
      return {
        outcome: { ...base, status: 'staged', rowsLoaded: result.rows, rowsRejected: result.rejected },
        rejectsByCode,
        warnings,
        metrics,
      };
    }
    return {
      outcome: {
        status: 'loaded',
        rowsTotal: records,
        rowsLoaded: result.moved.inserted + result.moved.updated,
        rowsRejected: result.rejected,
        rowsInserted: result.moved.inserted,
        rowsUpdated: result.moved.updated,
        rowsDuplicate: result.moved.duplicates,
      },
      rejectsByCode,
      warnings,
      metrics,
    };
  } catch (err) {
    const detail = (err as { detail?: string }).detail;
    return {
      outcome: { ...base, status: 'failed', errorCode: errorCode(err), error: `${file.path}: ${errorMessage(err)}${detail ? ` (${detail})` : ''}` },
      rejectsByCode,
      warnings,
      metrics,
    };
  }

  /** The producer with its synchronous stages. Returns the number of data records in the file. */
  async function produce(): Promise<number> {
    const source = openSource(file.path, { gzip: file.gzip, encoding: jt.csv.encoding });
    const parser = new RecordParser({
      delimiter: jt.csv.delimiter,
      quote: jt.csv.quote,
      escape: jt.csv.escape,
      maxRecordSize: Math.max(jt.csv.maxFieldBytes * 4, 1024 * 1024),
    });
    const batcher = new Batcher(jt.batch.rows, jt.batch.bytes);
    const casters = jt.columns.map((c) => compileCaster(c, { timezone: jt.timezone }));
    const nCols = jt.columns.length;
    const skip = [...input.committed].sort((a, b) => a.first - b.first);
    let skipAt = 0;
    let mapping: HeaderMapping | undefined = jt.csv.header ? undefined : mapHeader(jt, undefined, file.path);
    let recordIndex = 0;
    let rejectedHere = 0;
    const ready: Batch[] = [];
    const values: CastOutcome[] = new Array<CastOutcome>(nCols);
    const checkUtf8 = jt.csv.encoding === 'utf8';

    const cut = () => {
      const b = batcher.cut();
      if (b) {
        metrics.batcher.out++;
        ready.push(b);
      }
    };
    const reject = (index: number, line: number, offset: number, raw: RawRecord, column: string | null, code: string, message: string) => {
      const r: Reject = { line, offset, record: raw.text(), column, code, message };
      batcher.addReject(index, raw.end(), r);
      rejectedHere++;
      metrics.cast.rejected++;
      rejectsByCode[code] = (rejectsByCode[code] ?? 0) + 1;
      if (jt.maxRejects.kind === 'count' && previousRejects + rejectedHere > jt.maxRejects.value) {
        throw new ImporterError('REJECT_THRESHOLD', thresholdMessage(jt, file.path, previousRejects + rejectedHere, undefined, rejectsByCode), {
          file: file.path,
          line,
        });
      }
    };

    const sink = (fields: string[], line: number, offset: number, raw: RawRecord): void => {
      metrics.producer.out++;
      if (!mapping) {
        mapping = mapHeader(jt, fields, file.path);
        for (const w of mapping.warnings) {
          warnings.push(w);
          logger.warn({ jobType: jt.name, file: file.path }, w);
        }
        return;
      }
      const index = recordIndex++;
      // Skip records that committed batches already cover (resume after a crash).
      while (skipAt < skip.length && skip[skipAt]!.first + skip[skipAt]!.count <= index) skipAt++;
      if (skipAt < skip.length && skip[skipAt]!.first <= index) {
        if (batcher.pending > 0) cut();
        return;
      }
      if (!batcher.continues(index)) cut();
      metrics.cast.in++;
      const m = mapping;
      // A blank line in a multi-column file is not a record.
      if (fields.length === 1 && fields[0] === '' && m.width > 1) {
        batcher.addBlank(index, line, raw.end());
        return;
      }
      if (fields.length !== m.width) {
        reject(index, line, offset, raw, null, 'CSV_RECORD_INCONSISTENT_FIELDS_LENGTH', `expected ${m.width} fields, found ${fields.length}`);
      } else {
        let failure: CastFailure | undefined;
        let failedColumn = '';
        for (let i = 0; i < nCols; i++) {
          const idx = m.indexes[i]!;
          const v = idx < 0 ? undefined : fields[idx];
          if (v !== undefined && v.length > jt.csv.maxFieldBytes / 4 && Buffer.byteLength(v) > jt.csv.maxFieldBytes) {
            failure = new CastFailure('FIELD_TOO_LARGE', `column "${jt.columns[i]!.name}": the field has more than ${jt.csv.maxFieldBytes} bytes (csv.max_field_bytes)`);
            failedColumn = jt.columns[i]!.name;
            break;
          }
          if (checkUtf8 && v !== undefined && v.includes('\uFFFD') && !isUtf8(raw.bytes())) {
            failure = new CastFailure('INVALID_UTF8', `column "${jt.columns[i]!.name}": the record is not valid UTF-8 (set csv.encoding if the file uses another charset)`);
            failedColumn = jt.columns[i]!.name;
            break;
          }
          const out = casters[i]!(v, () => isQuotedEmptyField(raw.text(), idx, jt.csv.delimiter, jt.csv.quote));
          if (out instanceof CastFailure) {
            failure = out;
            failedColumn = jt.columns[i]!.name;
            break;
          }
          values[i] = out;
        }
        if (failure) {
          reject(index, line, offset, raw, failedColumn, failure.code, failure.message);
        } else {
          let row = `${index}\t${line}`;
          for (let i = 0; i < nCols; i++) row += '\t' + encodeValue(values[i] as string | null);
          batcher.addRow(index, line, raw.end(), row + '\n');
          metrics.cast.out++;
        }
      }
      metrics.batcher.in++;
      if (batcher.full) cut();
    };

    const flushReady = async () => {
      while (ready.length > 0) await buffer.put(ready.shift()!);
    };

    const it = source.stream[Symbol.asyncIterator]() as AsyncIterator<Buffer>;
    try {
      for (;;) {
        if (input.signal.aborted) {
          interrupted = true;
          throw new ImporterError('INTERRUPTED', `${file.path}: interrupted by shutdown`, { file: file.path });
        }
        const next = it.next();
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
        try {
          parser.write(r.value, sink);
        } catch (err) {
          if (err instanceof ImporterError && err.context.line !== undefined) errorLine = Number(err.context.line);
          throw err;
        }
        await flushReady();
        input.onProgress?.(metrics);
      }
      try {
        parser.end(sink);
      } catch (err) {
        if (err instanceof ImporterError && err.context.line !== undefined) errorLine = Number(err.context.line);
        throw err;
      }
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
}

function thresholdMessage(jt: JobType, file: string, rejected: number, total: number | undefined, byCode: Record<string, number>): string {
  const top = Object.entries(byCode)
    .sort((a, b) => b[1] - a[1])
    .slice(0, 3)
    .map(([code, n]) => `${code} ×${n}`)
    .join(', ');
  const of = total === undefined ? '' : ` of ${total} rows`;
  return `${file}: ${rejected} rejected rows${of} exceed errors.max_rejects ${jt.maxRejects.text}; nothing from this file was loaded. Top reasons: ${top || 'none'}`;
}
