/** The worker of one job type: discovers its files, claims each in the ledger, and loads it. */
import type { Logger } from 'pino';
import type { ConnectionBudget } from '../db/budget.js';
import type { Ledger } from '../db/ledger.js';
import { withRetry } from '../db/retry.js';
import { ensureTarget } from '../db/target.js';
import { errorCode, errorMessage } from '../errors.js';
import type { JobType } from '../jobtypes/normalize.js';
import type { MetricsSnapshot } from '../pipeline/metrics.js';
import { loadFile, type PipelineSettings } from '../pipeline/topology.js';
import { discoverFiles, type SourceFile } from '../source/discover.js';
import { sha256File } from '../source/fingerprint.js';

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
  await withRetry(`${jt.name}: prepare table`, () => ctx.budget.withClient((c) => ensureTarget(c, jt)), ctx.settings.retry, log);
  const sources = await discoverFiles(jt.source.dir, jt.source.pattern);
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
          onProgress: ctx.onFileProgress ? (m) => ctx.onFileProgress!(jt.name, file, m.snapshot()) : undefined,
        });
        const o = result.outcome;
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
        await ctx.ledger.unlock(claim.fileId);
      }
    } catch (err) {
      report.status = 'failed';
      report.error = { code: errorCode(err), message: errorMessage(err) };
      log.error({ file: file.path, code: report.error.code }, report.error.message);
    } finally {
      report.seconds = (performance.now() - started) / 1000;
      report.rows_per_second = report.seconds > 0 ? Math.round((report.rows_loaded + report.rows_rejected) / report.seconds) : 0;
      ctx.onFileEnd?.(jt.name, report);
    }
  }
}
