/**
 * The supervisor: one worker per job type, isolated (a failure in one never reaches another), run
 * at most `jobs` at a time, and restarted with exponential backoff when it crashes, like an OTP
 * one_for_one supervisor. Past `restart.max` restarts within `restart.within_seconds`, the job type
 * is marked failed with its last error.
 */
import PQueue from 'p-queue';
import { ImporterError, errorCode, errorMessage, type ErrorCode, type ReportedCode } from '../errors.js';
import type { JobType } from '../jobtypes/normalize.js';
import { isPermanent } from '../db/retry.js';
import { restartPolicy } from './restartPolicy.js';
import { runJobType, type FileReport, type JobReport, type WorkerContext } from './worker.js';

/** Errors a restart cannot fix: the definition or the environment must change first (and isPermanent's). */
const NOT_RESTARTABLE: ReadonlySet<ReportedCode> = new Set<ErrorCode>(['SOURCE_NOT_FOUND', 'TARGET_MISSING', 'JOBTYPE_INVALID', 'INTERRUPTED']);

export interface SuperviseOptions {
  /** Job types that run at once. */
  readonly jobs: number;
  readonly trigger: string;
  readonly onJobEnd?: ((report: JobReport) => void) | undefined;
}

export async function superviseJobType(ctx: WorkerContext, jt: JobType, trigger: string): Promise<JobReport> {
  const started = performance.now();
  const files: FileReport[] = [];
  const policy = restartPolicy(jt.restart);
  let lastError: unknown;
  const jobRunId = await ctx.ledger.startJobRun(ctx.runId, jt.name, trigger).catch(() => undefined);
  for (;;) {
    try {
      await runJobType(ctx, jt, files);
      lastError = undefined;
      break;
    } catch (err) {
      lastError = err;
      const code = errorCode(err);
      ctx.logger.error({ jobType: jt.name, code, err: errorMessage(err), stack: (err as Error)?.stack }, `${jt.name}: worker failed`);
      if (ctx.signal.aborted || (err instanceof ImporterError && NOT_RESTARTABLE.has(code)) || isPermanent(err)) break;
      const next = policy.onFailure();
      if (!next.restart) break;
      ctx.logger.warn({ jobType: jt.name, restart: next.attempt, delayMs: next.delayMs }, `${jt.name}: restarting worker`);
      await new Promise((r) => setTimeout(r, next.delayMs));
      // Files already loaded are skipped by the ledger on the next attempt; keep only their final reports.
      files.splice(0, files.length, ...files.filter((f) => f.status === 'loaded' || f.status === 'skipped'));
    }
  }
  const restarts = policy.restarts;
  const failedFiles = files.filter((f) => f.status === 'failed').length;
  const interrupted = files.some((f) => f.status === 'interrupted') || (ctx.signal.aborted && lastError !== undefined);
  const status: JobReport['status'] = lastError !== undefined || failedFiles > 0 ? (interrupted ? 'interrupted' : 'failed') : interrupted ? 'interrupted' : 'succeeded';
  const report: JobReport = {
    name: jt.name,
    status,
    table: `${jt.target.schema}.${jt.target.table}`,
    files,
    rows_loaded: files.reduce((s, f) => s + f.rows_loaded, 0),
    rows_rejected: files.reduce((s, f) => s + f.rows_rejected, 0),
    seconds: (performance.now() - started) / 1000,
    restarts,
    ...(lastError !== undefined ? { error: { code: errorCode(lastError), message: errorMessage(lastError) } } : {}),
  };
  if (jobRunId !== undefined) {
    await ctx.ledger
      .finishJobRun(jobRunId, {
        status: report.status,
        filesLoaded: files.filter((f) => f.status === 'loaded').length,
        filesFailed: failedFiles,
        filesSkipped: files.filter((f) => f.status === 'skipped').length,
        rowsLoaded: report.rows_loaded,
        rowsRejected: report.rows_rejected,
        restarts,
        error: report.error?.message,
      })
      .catch((err: unknown) => ctx.logger.warn({ err: errorMessage(err) }, 'could not record the job run'));
  }
  return report;
}

/** Runs every job type under supervision; never throws for a job type's failure. */
export async function superviseAll(ctx: WorkerContext, jobTypes: readonly JobType[], opts: SuperviseOptions): Promise<JobReport[]> {
  const queue = new PQueue({ concurrency: opts.jobs });
  const reports = await Promise.all(
    jobTypes.map((jt) =>
      queue.add(async () => {
        const r = await superviseJobType(ctx, jt, opts.trigger);
        opts.onJobEnd?.(r);
        return r;
      }),
    ),
  );
  return reports;
}
