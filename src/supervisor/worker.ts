/** The worker of one job type: discovers its files, claims each in the ledger, and loads it. */
import type { Logger } from 'pino';
import type { ConnectionBudget } from '../db/budget.js';
import type { Ledger } from '../db/ledger.js';
import { replaceTarget, type StagedFile } from '../db/copy.js';
import { withRetry } from '../db/retry.js';
import { ensureTarget } from '../db/target.js';
import { errorCode, errorMessage } from '../errors.js';
import type { JobType } from '../jobtypes/normalize.js';
import type { MetricsSnapshot } from '../pipeline/metrics.js';
import { loadFile, type PipelineSettings } from '../pipeline/topology.js';
import { discoverFiles, type SourceFile } from '../source/discover.js';
import { sha256File } from '../source/fingerprint.js';
import { injectStartFault } from './faults.js';

export type FileStatus = 'loaded' | 'failed' | 'skipped' | 'interrupted';

export interface FileReport {
  path: string;
  status: FileStatus;
  reason?: string;
  sha256?: string;
  bytes: number;
  resumed: boolean;
  rows_loaded: number;
  rows_rejected: number;
  rows_inserted: number;
  rows_updated: number;
  rows_duplicate: number;
  rejects_by_reason: Record<string, number>;
  seconds: number;
  rows_per_second: number;
  warnings: string[];
  error?: { code: string; message: string; line?: number };
}

export type JobStatus = 'succeeded' | 'failed' | 'skipped' | 'interrupted';

export interface JobReport {
  name: string;
  status: JobStatus;
  table: string;
  files: FileReport[];
  rows_loaded: number;
  rows_rejected: number;
  seconds: number;
  restarts: number;
  error?: { code: string; message: string };
}

export interface WorkerContext {
  readonly budget: ConnectionBudget;
  readonly ledger: Ledger;
  readonly logger: Logger;
  readonly runId: number;
  readonly force: boolean;
  readonly settings: PipelineSettings;
  readonly signal: AbortSignal;
  readonly onFileStart?: ((jobType: string, file: SourceFile) => void) | undefined;
  readonly onFileProgress?: ((jobType: string, file: SourceFile, m: MetricsSnapshot) => void) | undefined;
  readonly onFileEnd?: ((jobType: string, report: FileReport) => void) | undefined;
}

function emptyFile(path: string, bytes: number): FileReport {
  return {
    path,
    status: 'skipped',
    bytes,
    resumed: false,
    rows_loaded: 0,
    rows_rejected: 0,
    rows_inserted: 0,
    rows_updated: 0,
    rows_duplicate: 0,
    rejects_by_reason: {},
    seconds: 0,
    rows_per_second: 0,
    warnings: [],
  };
}

/**
 * Loads every file of one job type, in name order. File failures are recorded and the next file
 * goes on; an error outside any file (target, source folder) throws to the supervisor.
 */
export async function runJobType(ctx: WorkerContext, jt: JobType, files: FileReport[]): Promise<void> {
  const log = ctx.logger.child({ jobType: jt.name });
  injectStartFault(jt.name);
  await withRetry(`${jt.name}: prepare table`, () => ctx.budget.withClient((c) => ensureTarget(c, jt)), ctx.settings.retry, log);
  const sources = await discoverFiles(jt.source.dir, jt.source.pattern);
  const staged: Array<StagedFile & { report: FileReport }> = [];
  if (sources.length === 0) log.info({ dir: jt.source.dir, pattern: jt.source.pattern }, 'no files match');
  for (const file of sources) {
    if (ctx.signal.aborted) break;
    const started = performance.now();
    const report = emptyFile(file.path, file.size);
    files.push(report);
    ctx.onFileStart?.(jt.name, file);
    try {
      const sha256 = await sha256File(file.path);
      report.sha256 = sha256;
      const claim = await withRetry(`${file.path}: claim`, () => ctx.ledger.claimFile(jt.name, file, sha256, ctx.runId, ctx.force), ctx.settings.retry, log);
      if (claim.kind === 'skip') {
        report.reason = claim.loadedAs && claim.loadedAs !== file.path ? `${claim.reason} as ${claim.loadedAs}` : claim.reason;
        log.info({ file: file.path, reason: report.reason }, 'file skipped');
        continue;
      }
      report.resumed = claim.resumed;
      let keepLock = false;
      if (claim.resumed) log.info({ file: file.path, batches: claim.committed.length }, 'resuming after the last committed batch');
      try {
        const result = await loadFile({
          jobType: jt,
          file,
          fileId: claim.fileId,
          runId: ctx.runId,
          committed: claim.committed,
          budget: ctx.budget,
          logger: log,
          settings: ctx.settings,
          signal: ctx.signal,
          confirmOwnership: () => ctx.ledger.confirmLock(claim.fileId),
          onProgress: ctx.onFileProgress ? (m) => ctx.onFileProgress!(jt.name, file, m.snapshot()) : undefined,
        });
        const o = result.outcome;
        if (o.status === 'staged') {
          staged.push({ fileId: claim.fileId, file: file.path, rows: o.rowsLoaded, rejected: o.rowsRejected, records: o.rowsTotal, report });
          report.rows_rejected = o.rowsRejected;
          report.rejects_by_reason = result.rejectsByCode;
          keepLock = true; // held until the swap, so no other instance swaps these files too
          continue;
        }
        report.status = o.status;
        report.rows_loaded = o.rowsLoaded;
        report.rows_rejected = o.rowsRejected;
        report.rows_inserted = o.rowsInserted;
        report.rows_updated = o.rowsUpdated;
        report.rows_duplicate = o.rowsDuplicate;
        report.rejects_by_reason = result.rejectsByCode;
        report.warnings = [...result.warnings];
        if (o.status !== 'loaded') {
          report.error = { code: o.errorCode ?? 'INTERNAL', message: o.error ?? 'unknown error', ...(result.errorLine ? { line: result.errorLine } : {}) };
          await withRetry(`${file.path}: record outcome`, () => ctx.ledger.endFile(claim.fileId, o), ctx.settings.retry, log);
          log.error({ file: file.path, code: report.error.code, line: result.errorLine }, report.error.message);
        }
      } finally {
        if (!keepLock) await ctx.ledger.unlock(claim.fileId);
      }
    } catch (err) {
      report.status = 'failed';
      report.error = { code: errorCode(err), message: errorMessage(err) };
      log.error({ file: file.path, code: report.error.code }, report.error.message);
    } finally {
      report.seconds = (performance.now() - started) / 1000;
      report.rows_per_second = report.seconds > 0 ? Math.round((report.rows_loaded + report.rows_rejected) / report.seconds) : 0;
      if (!staged.some((s) => s.report === report)) ctx.onFileEnd?.(jt.name, report);
    }
  }
  if (staged.length > 0) {
    // Replace mode: one fresh table from this run's files, swapped in for the target at once.
    let counts: Map<number, { inserted: number; duplicates: number }>;
    try {
      counts = await withRetry(`${jt.name}: replace table`, () => ctx.budget.withClient((c) => replaceTarget(c, jt, ctx.runId, staged)), ctx.settings.retry, log);
    } finally {
      for (const s of staged) await ctx.ledger.unlock(s.fileId);
    }
    for (const s of staged) {
      const m = counts.get(s.fileId)!;
      Object.assign(s.report, { status: 'loaded', rows_loaded: m.inserted, rows_inserted: m.inserted, rows_duplicate: m.duplicates });
      s.report.rows_per_second = s.report.seconds > 0 ? Math.round((s.report.rows_loaded + s.report.rows_rejected) / s.report.seconds) : 0;
      ctx.onFileEnd?.(jt.name, s.report);
    }
    log.info({ table: `${jt.target.schema}.${jt.target.table}`, files: staged.length }, 'table replaced');
  }
}
