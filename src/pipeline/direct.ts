/**
 * Strategy direct: the producer's batches COPY straight into the target inside one transaction per
 * file (db/direct.ts), on one connection: no buffer, no checkpoints, no staging, one server pass.
 * The ledger row commits with the rows. Anything that stops the file (its threshold, a change of
 * the source, a crash) leaves nothing behind; a transient database error loads it again from the
 * start, within the retry deadline.
 */
import type { Batch, CsvCopy } from '../db/batch.js';
import { abortDirect, beginDirect, commitDirect, copyDirectBatch } from '../db/direct.js';
import type { BatchTarget } from '../db/copy.js';
import { extraColumns } from '../db/csvCopy.js';
import { withRetry } from '../db/retry.js';
import { ImporterError } from '../errors.js';
import type { JobType } from '../jobtypes/normalize.js';
import { PipelineMetrics } from '../observability/metrics.js';
import { changedSince } from '../source/fingerprint.js';
import { endChanged, failReport, recordUnloaded, type FinishContext } from './finish.js';
import { BoundedBuffer } from './buffer.js';
import { produce, type Produced } from './producer.js';
import { refusedRows, rejectCounter, thresholdExceeded, thresholdMessage } from './threshold.js';
import type { LoadFileInput } from './loadInput.js';

/** A file column the definition does not name cannot go into the target (staging would keep it). */
export function checkNoExtras(jt: JobType, file: string, copy: CsvCopy): void {
  if (extraColumns(copy).length === 0) return;
  throw new ImporterError(
    'HEADER_EXTRA_COLUMNS',
    `${file}: line 1: the header has columns the definition does not name, and strategy ${jt.target.strategy} COPYs straight into the target; name them in the definition or use strategy staged`,
    { file, line: 1 },
  );
}

type Outcome = { kind: 'loaded'; records: number; rows: number; rejected: number } | { kind: 'changed'; why: string } | { kind: 'threshold'; records: number; rejected: number };

export async function loadDirect(input: LoadFileInput): Promise<void> {
  const { jobType: jt, file, budget, logger, settings, report } = input;
  const target: BatchTarget = { jobType: jt, fileId: input.fileId, file: file.path, runId: input.runId };
  const finish: FinishContext = { jobType: jt, file, target, budget, ledger: input.ledger, retry: settings.retry, logger };
  let records = 0;
  try {
    const out = await withRetry(`${file.path}: load in one transaction`, () => attempt(input, target), settings.retry, logger);
    if (out.kind === 'changed') return await endChanged(finish, report, out.why, 0);
    records = out.records;
    report.rows_rejected = out.rejected;
    if (out.kind === 'threshold') {
      failReport(report, new ImporterError('REJECT_THRESHOLD', thresholdMessage(jt, file.path, out.rejected, out.records, report.rejects_by_reason), { file: file.path }), false);
      await recordUnloaded(finish, report, records);
      return;
    }
    Object.assign(report, { status: 'loaded', rows_loaded: out.rows, rows_inserted: out.rows, rows_updated: 0, rows_duplicate: 0 });
  } catch (err) {
    failReport(report, err, errorIsInterrupt(err) || input.signal.aborted);
    await recordUnloaded(finish, report, records);
  } finally {
    await input.ledger.unlock(input.fileId);
  }
}

const errorIsInterrupt = (err: unknown) => err instanceof ImporterError && err.code === 'INTERRUPTED';

/** One try at the whole file, in one transaction. */
async function attempt(input: LoadFileInput, target: BatchTarget): Promise<Outcome> {
  const { jobType: jt, file, report } = input;
  const metrics = new PipelineMetrics();
  metrics.bytesTotal = file.size;
  report.rejects_by_reason = {};
  report.warnings = [];
  const countReject = rejectCounter(jt, file.path, { previous: 0, metrics, byCode: report.rejects_by_reason, stop: true });
  const refused = refusedRows(jt, file.path, 0, metrics, report.rejects_by_reason, countReject);
  return input.budget.withClient(async (client) => {
    await beginDirect(client, target);
    try {
      // One consumer (the file's one transaction) behind the bounded buffer: reading and cutting
      // the next batches overlaps the COPY of this one.
      const buffer = new BoundedBuffer<Batch>(jt.pipeline.bufferBatches);
      let rows = 0;
      const consumer = (async () => {
        for (let batch = await buffer.take(); batch; batch = await buffer.take()) {
          const r = await copyDirectBatch(client, target, batch, refused.attempt());
          refused.count(r);
          rows += batch.rows - r.length;
          metrics.consumers.rowsCommitted = rows;
          input.onProgress?.(metrics);
        }
      })().catch((err: unknown) => {
        buffer.fail(err);
        throw err;
      });
      let produced: Produced;
      try {
        produced = await produce({
          jobType: jt,
          file,
          committed: [],
          logger: input.logger,
          signal: input.signal,
          metrics,
          rejectsByCode: report.rejects_by_reason,
          warnings: report.warnings,
          countReject,
          prepareCsv: async (copy) => checkNoExtras(jt, file.path, copy),
          onProgress: input.onProgress,
          put: (batch) => buffer.put(batch),
        });
        buffer.close();
      } catch (err) {
        buffer.fail(err);
        await consumer.catch(() => undefined);
        throw err;
      }
      await consumer;
      const changed = await changedSince(file, input.claimed, produced.read);
      if (changed) {
        await abortDirect(client);
        return { kind: 'changed', why: changed };
      }
      const rejected = metrics.cast.rejected;
      if (thresholdExceeded(jt, rejected, produced.records)) {
        await abortDirect(client);
        return { kind: 'threshold', records: produced.records, rejected };
      }
      await input.ledger.confirmLock(input.fileId);
      await commitDirect(client, target, { records: produced.records, rows, rejected });
      return { kind: 'loaded', records: produced.records, rows, rejected };
    } catch (err) {
      await abortDirect(client);
      throw err;
    }
  });
}
