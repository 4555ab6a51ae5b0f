/**
 * The end of a file in the database: the final move (finalize), the ledger's record of a file that
 * did not load, replace mode's table swap, and the file lock's release. What the file's report says
 * is decided here, once.
 */
import type { Logger } from 'pino';
import type { ConnectionBudget } from '../db/budget.js';
import { finalizeFile, rejectRefusedRows, replaceTarget, type BatchTarget, type FinalizeInput, type StagedFile } from '../db/copy.js';
import type { RefusedRow } from '../db/rowErrors.js';
import type { Ledger } from '../db/ledger.js';
import { withRetry, type RetryPolicy } from '../db/retry.js';
import { ImporterError, errorCode, errorMessage } from '../errors.js';
import type { JobType } from '../jobtypes/normalize.js';
import type { SourceFile } from '../source/discover.js';
import { readRawRecords } from './rawRecords.js';
import { skipChanged, type FileReport } from '../observability/report.js';
import { thresholdExceeded, thresholdMessage } from './threshold.js';

export interface FinishContext {
  readonly jobType: JobType;
  readonly file: SourceFile;
  readonly target: BatchTarget;
  readonly budget: ConnectionBudget;
  readonly ledger: Ledger;
  readonly retry: RetryPolicy;
  readonly logger: Logger;
}

/** A replace-mode file, staged and checked, waiting for its job type's swap (its lock still held). */
export interface StagedReport extends StagedFile {
  readonly report: FileReport;
}

export type Finalized = { readonly kind: 'ended' } | { readonly kind: 'staged'; readonly staged: StagedReport } | { readonly kind: 'reset'; readonly staged: number | undefined; readonly expected: number };

/** Marks a report failed (or interrupted) with the error that ended the file. */
export function failReport(report: FileReport, err: unknown, interrupted: boolean): void {
  if (interrupted) {
    report.status = 'interrupted';
    report.error = { code: 'INTERRUPTED', message: 'stopped by shutdown' };
    return;
  }
  const message = errorMessage(err);
  const detail = (err as { detail?: string }).detail;
  const line = err instanceof ImporterError && typeof err.context.line === 'number' ? err.context.line : undefined;
  report.status = 'failed';
  report.error = {
    code: errorCode(err),
    message: `${message.startsWith(report.path) ? message : `${report.path}: ${message}`}${detail ? ` (${detail})` : ''}`,
    ...(line ? { line } : {}),
  };
}

/**
 * Records in the ledger a file that ended without loading (failed or interrupted). When the file
 * failed because the database stayed away past the deadline, this tries once: retrying for the
 * deadline again would double the wait, and the report keeps naming the step that gave up.
 */
export async function recordUnloaded(ctx: FinishContext, report: FileReport, records: number): Promise<void> {
  const status = report.status === 'interrupted' ? 'interrupted' : 'failed';
  const write = () =>
    ctx.ledger.endFile(ctx.target.fileId, {
      status,
      rowsTotal: records,
      rowsLoaded: 0,
      rowsRejected: report.rows_rejected,
      rowsInserted: 0,
      rowsUpdated: 0,
      rowsDuplicate: 0,
      errorCode: report.error?.code,
      error: report.error?.message,
    });
  try {
    if (report.error?.code === 'DB_TRANSIENT') await write();
    else await withRetry(`${report.path}: record outcome`, write, ctx.retry, ctx.logger);
  } catch (err) {
    ctx.logger.warn({ file: report.path, err: errorMessage(err) }, 'could not record the file as not loaded; the next run picks it up');
  }
  ctx.logger.error({ file: report.path, code: report.error?.code, line: report.error?.line }, report.error?.message ?? 'file not loaded');
}

/**
 * A file that changed while it loaded. When nothing of it is visible (staged, direct) it is
 * forgotten and skipped (SOURCE_CHANGED), for a later run to load whole; under strategy batches its
 * committed batches are in the target already, so it fails, loudly, and its checkpoints say what loaded.
 */
export async function endChanged(ctx: FinishContext, report: FileReport, why: string, records: number): Promise<void> {
  const path = ctx.file.path;
  if (ctx.jobType.target.strategy === 'batches') {
    failReport(report, new ImporterError('SOURCE_CHANGED', `${path}: the file changed while it was loading (${why}); the batches committed so far stay in the target`, { file: path }), false);
    await recordUnloaded(ctx, report, records);
    return;
  }
  await withRetry(`${path}: forget a changed file`, () => ctx.ledger.abandonFile(ctx.target.fileId, `changed while loading: ${why}`), ctx.retry, ctx.logger);
  skipChanged(report, why);
  ctx.logger.warn({ file: path, why }, 'the file changed while it was loading; nothing of it was loaded, a later run loads it once it is complete');
}

/**
 * After every batch committed: confirms the file lock, then in one transaction checks coverage and
 * the staged rows, applies the threshold and moves the rows (or, in replace mode, leaves them staged).
 */
export async function finalize(ctx: FinishContext, records: number, report: FileReport): Promise<Finalized> {
  const jt = ctx.jobType;
  const input: FinalizeInput = {
    records,
    overThreshold: (rej, total) => thresholdExceeded(jt, rej, total),
    // With a count threshold, finding more refused rows than it allows only delays the failure.
    refuseLimit: (rejected) => (jt.maxRejects.kind === 'count' ? Math.max(1, jt.maxRejects.value - rejected + 1) : Infinity),
    keepStaged: jt.target.mode === 'replace',
  };
  try {
    await withRetry(`${report.path}: confirm the file lock`, () => ctx.ledger.confirmLock(ctx.target.fileId), ctx.retry, ctx.logger);
    let result = await withRetry(`${report.path}: finalize`, () => ctx.budget.withClient((c) => finalizeFile(c, ctx.target, input)), ctx.retry, ctx.logger);
    // Each round takes the refused rows out of staging, so it ends; a bound guards against a bug.
    for (let round = 1; result.status === 'refused'; round++) {
      if (round > 100) throw new ImporterError('INTERNAL', `${report.path}: the target kept refusing rows after ${round - 1} rounds`, { file: report.path });
      await rejectRefused(ctx, report, result.refused);
      result = await withRetry(`${report.path}: finalize`, () => ctx.budget.withClient((c) => finalizeFile(c, ctx.target, input)), ctx.retry, ctx.logger);
    }
    if (result.status === 'reset') return { kind: 'reset', staged: result.staged, expected: result.expected };
    report.rows_rejected = result.rejected;
    if (result.status === 'threshold') {
      report.status = 'failed';
      report.error = { code: 'REJECT_THRESHOLD', message: thresholdMessage(jt, report.path, result.rejected, records, report.rejects_by_reason) };
      await recordUnloaded(ctx, report, records);
      return { kind: 'ended' };
    }
    if (result.status === 'staged') {
      return { kind: 'staged', staged: { fileId: ctx.target.fileId, file: report.path, rows: result.rows, rejected: result.rejected, records, report } };
    }
    Object.assign(report, {
      status: 'loaded',
      rows_loaded: result.moved.inserted + result.moved.updated,
      rows_inserted: result.moved.inserted,
      rows_updated: result.moved.updated,
      rows_duplicate: result.moved.duplicates,
    });
    return { kind: 'ended' };
  } catch (err) {
    failReport(report, err, false);
    await recordUnloaded(ctx, report, records);
    return { kind: 'ended' };
  }
}

/** Rows the target refused become rejects, with their raw records read back from the file. */
async function rejectRefused(ctx: FinishContext, report: FileReport, refused: readonly RefusedRow[]): Promise<void> {
  const raw = await readRawRecords(ctx.file, ctx.jobType, refused.map((r) => r.rec));
  const rejects = refused.map((r) => ({
    rec: r.rec,
    line: r.line,
    offset: r.rec,
    record: raw.get(r.rec) ?? '',
    column: r.column,
    code: `PG_${r.sqlstate}`,
    message: r.message,
    constraint: r.constraint,
  }));
  await withRetry(`${report.path}: reject refused rows`, () => ctx.budget.withClient((c) => rejectRefusedRows(c, ctx.target, rejects)), ctx.retry, ctx.logger);
  for (const r of rejects) report.rejects_by_reason[r.code] = (report.rejects_by_reason[r.code] ?? 0) + 1;
  ctx.logger.warn({ file: report.path, rows: rejects.length, codes: [...new Set(rejects.map((r) => r.code))] }, 'the target refused rows; they are rejected, the rest of the file loads');
}

/**
 * Replace mode: one fresh table from this run's staged files, swapped in for the target at once;
 * then the files' locks are released and their reports say what loaded.
 */
export async function replaceTables(
  ctx: { readonly jobType: JobType; readonly budget: ConnectionBudget; readonly ledger: Ledger; readonly retry: RetryPolicy; readonly logger: Logger; readonly runId: number },
  staged: readonly StagedReport[],
): Promise<void> {
  const jt = ctx.jobType;
  let counts: Map<number, { inserted: number; duplicates: number }>;
  try {
    counts = await withRetry(`${jt.name}: replace table`, () => ctx.budget.withClient((c) => replaceTarget(c, jt, ctx.runId, staged)), ctx.retry, ctx.logger);
  } finally {
    for (const s of staged) await ctx.ledger.unlock(s.fileId);
  }
  for (const s of staged) {
    const m = counts.get(s.fileId)!;
    Object.assign(s.report, { status: 'loaded', rows_loaded: m.inserted, rows_inserted: m.inserted, rows_duplicate: m.duplicates });
    s.report.rows_per_second = s.report.seconds > 0 ? Math.round((s.report.rows_loaded + s.report.rows_rejected) / s.report.seconds) : 0;
  }
  ctx.logger.info({ table: `${jt.target.schema}.${jt.target.table}`, files: staged.length }, 'table replaced');
}
