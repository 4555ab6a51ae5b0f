/**
 * The topology of one file's load (strategies staged and batches; direct is direct.ts). It only
 * wires the stages, each in its own module:
 *
 *   producer.ts (read → header → record source → batcher) → buffer.ts (bounded FIFO)
 *     → consumer.ts (COPY, one transaction per batch) → finish.ts (finalize, ledger, lock)
 *
 * Demand flows right to left: consumers `take` batches; the producer `put`s them and waits while the
 * buffer is full, and it reads the next chunk only after its batches found room. So the bytes in
 * memory stay within (buffer capacity + consumers + 1) batches plus one read chunk.
 */
import type { Batch, CsvCopy } from '../db/batch.js';
import type { BatchTarget } from '../db/copy.js';
import { extraColumns } from '../db/csvCopy.js';
import { withRetry } from '../db/retry.js';
import { addStagingExtras, ensureStaging } from '../db/target.js';
import { ImporterError, errorCode } from '../errors.js';
import { PipelineMetrics } from '../observability/metrics.js';
import { changedSince, type Fingerprint } from '../source/fingerprint.js';
import { BoundedBuffer } from './buffer.js';
import { startConsumers } from './consumer.js';
import { checkNoExtras, loadDirect } from './direct.js';
import { endChanged, failReport, finalize, recordUnloaded, type FinishContext, type StagedReport } from './finish.js';
import { keepThresholdRejects } from './keptRejects.js';
import type { LoadFileInput } from './loadInput.js';
import { produce } from './producer.js';
import { refusedRows, rejectCounter } from './threshold.js';

export type { LoadFileInput, PipelineSettings } from './loadInput.js';

/** Server-side parsing: staging keeps the file's columns the definition does not name; the target cannot. */
async function prepareCsv(input: LoadFileInput, copy: CsvCopy): Promise<void> {
  const { jobType: jt, file, budget, settings, logger } = input;
  if (jt.target.strategy !== 'staged') return checkNoExtras(jt, file.path, copy);
  const extras = extraColumns(copy);
  if (extras.length > 0) await withRetry('add staging columns', () => budget.withClient((c) => addStagingExtras(c, input.fileId, extras)), settings.retry, logger);
}

/** How often one run reloads a file whose staged rows were lost (each time by a server crash). */
const MAX_RELOADS = 3;

/**
 * Loads one claimed file (its lock held). Returns the file staged for replace mode's swap (the lock
 * is then still held), or undefined when the file ended (loaded, failed or interrupted; the lock
 * is released).
 */
export async function loadFile(input: LoadFileInput): Promise<StagedReport | undefined> {
  if (input.jobType.target.strategy === 'direct') return loadDirect(input).then(() => undefined);
  let keepLock = false;
  try {
    const staged = await load(input);
    keepLock = staged !== undefined;
    return staged;
  } finally {
    if (!keepLock) await input.ledger.unlock(input.fileId);
  }
}

async function load(input: LoadFileInput): Promise<StagedReport | undefined> {
  const { jobType: jt, file, budget, logger, settings, report } = input;
  const metrics = new PipelineMetrics();
  metrics.bytesTotal = file.size;
  const target: BatchTarget = { jobType: jt, fileId: input.fileId, file: file.path, runId: input.runId };
  const finish: FinishContext = { jobType: jt, file, target, budget, ledger: input.ledger, retry: settings.retry, logger };
  const buffer = new BoundedBuffer<Batch>(jt.pipeline.bufferBatches);
  const previousRejects = input.committed.reduce((s, r) => s + r.rejects, 0);
  report.rejects_by_reason = {};
  report.warnings = [];

  const staged = jt.target.strategy === 'staged';
  if (staged) await withRetry('create staging table', () => budget.withClient((c) => ensureStaging(c, jt, input.fileId)), settings.retry, logger);
  const progress = input.onProgress
    ? () => {
        metrics.buffer.capacity = buffer.capacity;
        metrics.buffer.size = buffer.size;
        input.onProgress!(metrics);
      }
    : undefined;
  const countReject = rejectCounter(jt, file.path, { previous: previousRejects, metrics, byCode: report.rejects_by_reason, stop: true });
  const consumers = startConsumers(jt.pipeline.consumers, buffer, {
    budget,
    target,
    retry: settings.retry,
    logger,
    metrics,
    beforeCommit: settings.beforeCommit,
    onCommitted: progress,
    refused: refusedRows(jt, file.path, previousRejects, metrics, report.rejects_by_reason, countReject),
  });

  let records = 0;
  let read: Fingerprint | undefined;
  let produceError: unknown;
  try {
    ({ records, read } = await produce({
      jobType: jt,
      file,
      committed: input.committed,
      logger,
      signal: input.signal,
      metrics,
      rejectsByCode: report.rejects_by_reason,
      warnings: report.warnings,
      put: (batch) => buffer.put(batch),
      onProgress: progress,
      parsePool: settings.parsePool,
      countReject,
      prepareCsv: (copy) => prepareCsv(input, copy),
    }));
    buffer.close();
  } catch (err) {
    buffer.fail((produceError = err));
  }
  const consumeError = await consumers;
  metrics.buffer = { capacity: buffer.capacity, size: buffer.size, highWater: buffer.highWater, producerWaitMs: buffer.putWaitMs, consumerWaitMs: buffer.takeWaitMs };
  logger.debug({ file: file.path, metrics: metrics.snapshot() }, 'pipeline metrics');

  const error = consumeError ?? produceError;
  if (error !== undefined) {
    await keepThresholdRejects(finish, error);
    report.rows_rejected = metrics.cast.rejected + previousRejects;
    failReport(report, error, errorCode(error) === 'INTERRUPTED' || (input.signal.aborted && error === consumeError));
    await recordUnloaded(finish, report, records);
    return undefined;
  }
  const changed = await changedSince(file, input.claimed, read);
  if (changed) {
    await endChanged(finish, report, changed, records);
    return undefined;
  }
  const end = await finalize(finish, records, report);
  if (end.kind === 'staged') return end.staged;
  if (end.kind === 'ended') return undefined;
  return reload(input, finish, end, records);
}

/** The staged rows were lost (a server crash emptied them): the file's progress was reset; load it again. */
async function reload(input: LoadFileInput, finish: FinishContext, lost: { staged: number | undefined; expected: number }, records: number): Promise<StagedReport | undefined> {
  const { file, report, logger } = input;
  const reloads = (input.reloads ?? 0) + 1;
  if (reloads > MAX_RELOADS) {
    const err = new ImporterError('STAGING_LOST', `${file.path}: staged rows were lost ${reloads} times (server crashes); the next run loads the file again`, { file: file.path });
    failReport(report, err, false);
    await recordUnloaded(finish, report, records);
    return undefined;
  }
  logger.warn(
    { file: file.path, staged: lost.staged ?? 0, checkpointed: lost.expected },
    'staged rows do not match the checkpoints (lost in a server crash); loading the file again from the start',
  );
  report.resumed = false;
  return load({ ...input, committed: [], reloads });
}
