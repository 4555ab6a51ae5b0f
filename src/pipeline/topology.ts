/**
 * The topology of one file's load:
 *
 *   producer (read → decode → parse) → header → cast → encode → batcher → [bounded buffer] → consumers (COPY)
 *
 * Demand flows right to left: consumers `take` batches; the producer `put`s them and waits while the
 * buffer is full, and it reads the next chunk of the file only after its batches found room. So the
 * bytes in memory stay within (buffer capacity + consumers + 1) batches plus one read chunk.
 */
import type { Logger } from 'pino';
import type { ConnectionBudget } from '../db/budget.js';
import { commitBatch, finalizeFile, type BatchTarget } from '../db/copy.js';
import type { CommittedRange, FileOutcome } from '../db/ledger.js';
import { withRetry, type RetryPolicy } from '../db/retry.js';
import { ensureStaging } from '../db/target.js';
import { ImporterError, errorCode, errorMessage } from '../errors.js';
import type { JobType } from '../jobtypes/normalize.js';
import type { SourceFile } from '../source/discover.js';
import type { Batch } from './batcher.js';
import { BoundedBuffer } from './buffer.js';
import { PipelineMetrics } from './metrics.js';
import { produce, thresholdMessage, type ProduceInput } from './producer.js';
import { produceParallel } from './parallelProducer.js';
import type { ParsePool } from './parsePool.js';
import { faultFor } from '../supervisor/faults.js';

export interface PipelineSettings {
  /** Defaults, used when neither the command line nor the definition sets them. */
  readonly bufferBatches: number;
  readonly consumers: number;
  /** Command-line values, which win over the definition's `pipeline` section. */
  readonly overrides?: { readonly bufferBatches?: number | undefined; readonly consumers?: number | undefined };
  readonly retry: RetryPolicy;
  /** The process's parse threads, shared by all files; without one (or with size 0) files parse in the main thread. */
  readonly parsePool?: ParsePool | undefined;
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
  /** Confirms this process still owns the file (its lock survives reconnects) before the final move. */
  readonly confirmOwnership?: (() => Promise<void>) | undefined;
  /** Loads of this file in this call that found their staged rows lost and started again. */
  readonly reloads?: number | undefined;
}

/** How often one run reloads a file whose staged rows were lost (each time by a server crash). */
const MAX_RELOADS = 3;

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
  let produceError: unknown;
  try {
    const produceInput: ProduceInput = {
      jobType: jt,
      file,
      committed: input.committed,
      logger,
      signal: input.signal,
      metrics,
      rejectsByCode,
      warnings,
      put: (batch) => buffer.put(batch),
      onProgress: input.onProgress
        ? (m) => {
            m.buffer.capacity = buffer.capacity;
            m.buffer.size = buffer.size;
            input.onProgress!(m);
          }
        : undefined,
    };
    const pool = settings.parsePool;
    records = pool && useParallel(input, pool.size) ? await produceParallel(produceInput, pool) : await produce(produceInput);
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
    if (errorCode(error) === 'INTERRUPTED' || (input.signal.aborted && error === consumeError)) {
      return { outcome: { ...base, status: 'interrupted', errorCode: 'INTERRUPTED', error: 'stopped by shutdown' }, rejectsByCode, warnings, metrics };
    }
    const code = errorCode(error);
    const message = errorMessage(error);
    const errorLine = error instanceof ImporterError && typeof error.context.line === 'number' ? error.context.line : undefined;
    return {
      outcome: { ...base, status: 'failed', errorCode: code, error: message.startsWith(file.path) ? message : `${file.path}: ${message}` },
      rejectsByCode,
      warnings,
      errorLine,
      metrics,
    };
  }

  try {
    if (input.confirmOwnership) await withRetry(`${file.path}: confirm the file lock`, input.confirmOwnership, settings.retry, logger);
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
    if (result.status === 'reset') {
      const reloads = (input.reloads ?? 0) + 1;
      if (reloads > MAX_RELOADS) {
        throw new ImporterError('STAGING_LOST', `${file.path}: staged rows were lost ${reloads} times (server crashes); the next run loads the file again`, {
          file: file.path,
        });
      }
      logger.warn(
        { file: file.path, staged: result.staged ?? 0, checkpointed: result.expected },
        'staged rows do not match the checkpoints (lost in a server crash); loading the file again from the start',
      );
      return loadFile({ ...input, committed: [], reloads });
    }
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
}

/** Files large enough to pay for worker threads, and cut safely by quote parity. */
const PARALLEL_MIN_BYTES = 4 * 1024 * 1024;
function useParallel(input: LoadFileInput, threads: number): boolean {
  const jt = input.jobType;
  const fault = faultFor(jt.name);
  return (
    threads > 0 &&
    input.file.size >= (input.file.gzip ? PARALLEL_MIN_BYTES / 4 : PARALLEL_MIN_BYTES) &&
    jt.csv.escape === jt.csv.quote &&
    (fault === undefined || fault.kind === 'thread-exit')
  );
}
