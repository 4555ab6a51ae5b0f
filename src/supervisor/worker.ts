/** The worker of one job type: discovers its files, claims each in the ledger, loads it and reports. */
import type { Logger } from 'pino';
import type { ConnectionBudget } from '../db/budget.js';
import type { Ledger } from '../db/ledger.js';
import { withRetry } from '../db/retry.js';
import { recordRunFile } from '../db/runFiles.js';
import { ensureTarget } from '../db/target.js';
import { errorCode, errorMessage } from '../errors.js';
import type { JobType } from '../jobtypes/normalize.js';
import { replaceTables, type StagedReport } from '../pipeline/finish.js';
import type { MetricsSnapshot } from '../observability/metrics.js';
import { newFileReport, skipChanged, type FileReport } from '../observability/report.js';
import { loadFile, type PipelineSettings } from '../pipeline/topology.js';
import { discoverFiles, type SourceFile } from '../source/discover.js';
import { changedSince, sha256File } from '../source/fingerprint.js';
import { injectStartFault } from '../util/faults.js';

export type { FileReport, FileStatus } from '../observability/report.js';

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

/**
 * Loads every file of one job type, in name order. File failures are recorded and the next file
 * goes on; an error outside any file (target, source folder) throws to the supervisor.
 */
export async function runJobType(ctx: WorkerContext, jt: JobType, files: FileReport[]): Promise<void> {
  const log = ctx.logger.child({ jobType: jt.name });
  injectStartFault(jt.name);
  await withRetry(`${jt.name}: prepare table`, () => ctx.budget.withClient((c) => ensureTarget(c, jt)), ctx.settings.retry, log);
  const sources = await discoverFiles(jt.source.dir, jt.source.pattern);
  const staged: StagedReport[] = [];
  const fileIds = new Map<FileReport, number>();
  if (sources.length === 0) log.warn({ dir: jt.source.dir, pattern: jt.source.pattern }, 'no file matches source.pattern in source.path');
  for (const file of sources) {
    if (ctx.signal.aborted) break;
    const started = performance.now();
    const report = newFileReport(file.path, file.size);
    files.push(report);
    ctx.onFileStart?.(jt.name, file);
    let waitsForSwap = false;
    let fileId: number | undefined;
    try {
      const age = (Date.now() - file.mtimeMs) / 1000;
      if (age < jt.source.settleSeconds) {
        report.reason = `still being written (modified ${Math.max(0, Math.floor(age))}s ago; source.settle_seconds: ${jt.source.settleSeconds})`;
        log.info({ file: file.path, reason: report.reason }, 'file skipped');
        continue;
      }
      const claimed = await sha256File(file.path);
      report.sha256 = claimed.sha256;
      const changed = await changedSince(file, claimed);
      if (changed) {
        skipChanged(report, changed);
        log.warn({ file: file.path, why: changed }, 'the file is changing (still being written?); skipped, a later run loads it once it is complete');
        continue;
      }
      const claim = await withRetry(`${file.path}: claim`, () => ctx.ledger.claimFile(jt.name, file, claimed.sha256, ctx.runId, ctx.force, jt.target.strategy), ctx.settings.retry, log);
      fileId = claim.fileId;
      if (claim.kind === 'skip') {
        report.reason = claim.loadedAs && claim.loadedAs !== file.path ? `${claim.reason} as ${claim.loadedAs}` : claim.reason;
        log.info({ file: file.path, reason: report.reason }, 'file skipped');
        continue;
      }
      report.resumed = claim.resumed;
      if (claim.resumed) log.info({ file: file.path, batches: claim.committed.length }, 'resuming after the last committed batch');
      const s = await loadFile({
        jobType: jt,
        file,
        fileId: claim.fileId,
        runId: ctx.runId,
        committed: claim.committed,
        claimed,
        budget: ctx.budget,
        ledger: ctx.ledger,
        logger: log,
        settings: ctx.settings,
        signal: ctx.signal,
        report,
        onProgress: ctx.onFileProgress ? (m) => ctx.onFileProgress!(jt.name, file, m.snapshot()) : undefined,
      });
      if (s) {
        fileIds.set(s.report, claim.fileId);
        staged.push(s);
        waitsForSwap = true;
      }
    } catch (err) {
      report.status = 'failed';
      report.error = { code: errorCode(err), message: errorMessage(err) };
      log.error({ file: file.path, code: report.error.code }, report.error.message);
    } finally {
      report.seconds = (performance.now() - started) / 1000;
      report.rows_per_second = report.seconds > 0 ? Math.round((report.rows_loaded + report.rows_rejected) / report.seconds) : 0;
      if (!waitsForSwap) await endFile(ctx, jt.name, report, fileId);
    }
  }
  if (staged.length > 0) {
    // Replace mode: one fresh table from this run's files, swapped in for the target at once.
    await replaceTables({ jobType: jt, budget: ctx.budget, ledger: ctx.ledger, retry: ctx.settings.retry, logger: log, runId: ctx.runId }, staged);
    for (const s of staged) await endFile(ctx, jt.name, s.report, fileIds.get(s.report));
  }
}

/** A file's end: its outcome in this run's history (db/runFiles.ts; a failure to record it fails nothing), then onFileEnd. */
async function endFile(ctx: WorkerContext, jobType: string, r: FileReport, fileId: number | undefined): Promise<void> {
  await ctx.budget
    .withClient((c) =>
      recordRunFile(c, {
        runId: ctx.runId,
        jobType,
        fileId,
        path: r.path,
        sha256: r.sha256,
        bytes: r.bytes,
        status: r.status,
        reason: r.reason,
        resumed: r.resumed,
        rowsLoaded: r.rows_loaded,
        rowsRejected: r.rows_rejected,
        errorCode: r.error?.code,
        error: r.error?.message,
        line: r.error?.line,
        seconds: r.seconds,
      }),
    )
    .catch((err: unknown) => ctx.logger.warn({ file: r.path, err: errorMessage(err) }, 'could not record the file in the run history'));
  ctx.onFileEnd?.(jobType, r);
}
