/**
 * What a worker needs to keep several small files in flight: a bound on them (`InFlight`), and the
 * ends of skipped files written in one statement per group (`FileEnds`) instead of one commit each.
 */
import type { ConnectionBudget } from '../db/budget.js';
import { recordRunFiles, type RunFileRecord } from '../db/runFiles.js';
import { errorMessage } from '../errors.js';
import type { Logger } from 'pino';
import type { FileReport } from '../observability/report.js';

/** At most `limit` tasks at once; `add` waits for room. Tasks must not reject (each catches its file's errors). */
export class InFlight {
  private readonly running = new Set<Promise<void>>();

  constructor(readonly limit: number) {
    if (!Number.isInteger(limit) || limit < 1) throw new TypeError(`Expected an in-flight limit from 1 upwards, got ${String(limit)}`);
  }

  get size(): number {
    return this.running.size;
  }

  /** Starts `task` once there is room; resolves then, with the task's end (wrapped: a promise resolved with a promise would wait for it). */
  async add(task: () => Promise<void>): Promise<{ readonly done: Promise<void> }> {
    while (this.running.size >= this.limit) await Promise.race(this.running);
    const p: Promise<void> = task().finally(() => this.running.delete(p));
    this.running.add(p);
    return { done: p };
  }

  async drain(): Promise<void> {
    while (this.running.size > 0) await Promise.all(this.running);
  }
}

/** A file's outcome in this run's history (db/runFiles.ts). */
export function runFileRecord(runId: number, jobType: string, r: FileReport, fileId: number | undefined): RunFileRecord {
  return {
    runId,
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
  };
}

/**
 * Skipped files' ends, held until `flush` writes their records in one statement and then reports
 * them (onFileEnd). A rerun that skips 2,000 files wrote 2,000 rows in 2,000 commits.
 */
export class FileEnds {
  private pending: { report: FileReport; fileId: number | undefined }[] = [];

  constructor(
    private readonly opts: {
      readonly budget: ConnectionBudget;
      readonly logger: Logger;
      readonly runId: number;
      readonly jobType: string;
      readonly onFileEnd?: ((jobType: string, report: FileReport) => void) | undefined;
    },
  ) {}

  add(report: FileReport, fileId: number | undefined): void {
    this.pending.push({ report, fileId });
  }

  async flush(): Promise<void> {
    const ends = this.pending;
    if (ends.length === 0) return;
    this.pending = [];
    const { budget, runId, jobType } = this.opts;
    await budget
      .withClient((c) => recordRunFiles(c, ends.map((e) => runFileRecord(runId, jobType, e.report, e.fileId))))
      .catch((err: unknown) => this.opts.logger.warn({ files: ends.length, err: errorMessage(err) }, 'could not record skipped files in the run history'));
    for (const e of ends) this.opts.onFileEnd?.(jobType, e.report);
  }
}
