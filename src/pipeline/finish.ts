/**
 * The end of a file in the database: the final move (finalize), the ledger's record of a file that
 * did not load, replace mode's table swap, and the file lock's release. What the file's report says
 * is decided here, once.
 */
import type { Logger } from 'pino';
import type { ConnectionBudget } from '../db/budget.js';
import { finalizeFile, replaceTarget, type BatchTarget, type StagedFile } from '../db/copy.js';
import type { Ledger } from '../db/ledger.js';
import { withRetry, type RetryPolicy } from '../db/retry.js';
import { ImporterError, errorCode, errorMessage } from '../errors.js';
import type { JobType } from '../jobtypes/normalize.js';
import type { FileReport } from '../observability/report.js';
import { thresholdExceeded, thresholdMessage } from './threshold.js';

export interface FinishContext {
  readonly jobType: JobType;
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
 * After every batch committed: confirms the file lock, then in one transaction checks coverage and
 * the staged rows, applies the threshold and moves the rows (or, in replace mode, leaves them staged).
 */
export async function finalize(ctx: FinishContext, records: number, report: FileReport): Promise<Finalized> {
  const jt = ctx.jobType;
  try {
    await withRetry(`${report.path}: confirm the file lock`, () => ctx.ledger.confirmLock(ctx.target.fileId), ctx.retry, ctx.logger);
    const result = await withRetry(
      `${report.path}: finalize`,
      () =>
        ctx.budget.withClient((c) =>
          finalizeFile(c, ctx.target, { records, overThreshold: (rej, total) => thresholdExceeded(jt, rej, total), keepStaged: jt.target.mode === 'replace' }),
        ),
      ctx.retry,
      ctx.logger,
    );
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
