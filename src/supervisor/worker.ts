/** The worker of one job type: discovers its files, claims each in the ledger, loads it and reports. */
import type { Logger } from 'pino';
import type { ConnectionBudget } from '../db/budget.js';
import type { Ledger } from '../db/ledger.js';
import { withRetry } from '../db/retry.js';
import type { PeekedFile } from '../db/ledger.js';
import { recordRunFile } from '../db/runFiles.js';
import { ensureTarget } from '../db/target.js';
import { errorCode, errorMessage } from '../errors.js';
import type { JobType } from '../jobtypes/normalize.js';
import { replaceTables, type StagedReport } from '../pipeline/finish.js';
import type { MetricsSnapshot } from '../observability/metrics.js';
import { newFileReport, skipChanged, type FileReport } from '../observability/report.js';
import { loadSmallFile, mayBeSmall } from '../pipeline/smallFile.js';
import { loadFile, type PipelineSettings } from '../pipeline/topology.js';
import { discoverFiles, type SourceFile } from '../source/discover.js';
import { changedSince, sha256File, type Fingerprint } from '../source/fingerprint.js';
import { injectStartFault } from '../util/faults.js';
import { FileEnds, InFlight, runFileRecord } from './fileFlow.js';

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

/** Files hashed and looked up in the ledger together (one round trip per group, not per file). */
const GROUP_FILES = 100;

/** One job type's run: what its files share. */
interface Job {
  readonly ctx: WorkerContext;
  readonly jt: JobType;
  readonly log: Logger;
  readonly files: FileReport[];
  readonly staged: StagedReport[];
  readonly fileIds: Map<FileReport, number>;
  /** Small files in flight (parsing, or waiting for their turn to commit). */
  readonly flight: InFlight;
  readonly ends: FileEnds;
  /** With a key (or upsert), file order decides which row wins: small files commit in name order. */
  readonly ordered: boolean;
  /** The end of the last small file started (its commit or its ordinary load). */
  lastDone: Promise<void>;
}

/** A discovered file, hashed (or found not ready). */
interface Prepared {
  readonly file: SourceFile;
  readonly started: number;
  readonly unready?: string;
  readonly claimed?: Fingerprint;
  readonly changed?: string | undefined;
}

/**
 * Loads every file of one job type, in name order. File failures are recorded and the next file
 * goes on; an error outside any file (target, source folder) throws to the supervisor.
 *
 * Files go in groups: hashed, then looked up in the ledger at once (`peekFiles`); a loaded one is
 * skipped with no further round trip, and skipped files' records are written once per group. A
 * small file (one batch) loads in one transaction (pipeline/smallFile.ts), up to
 * `pipeline.consumers` of them in flight, each holding a connection only for its commit; any other
 * file loads alone, the ordinary way (claim, staged batches, finalize).
 */
export async function runJobType(ctx: WorkerContext, jt: JobType, files: FileReport[]): Promise<void> {
  const log = ctx.logger.child({ jobType: jt.name });
  injectStartFault(jt.name);
  await withRetry(`${jt.name}: prepare table`, () => ctx.budget.withClient((c) => ensureTarget(c, jt)), ctx.settings.retry, log);
  const sources = await discoverFiles(jt.source.dir, jt.source.pattern);
  if (sources.length === 0) log.warn({ dir: jt.source.dir, pattern: jt.source.pattern }, 'no file matches source.pattern in source.path');
  const job: Job = {
    ctx,
    jt,
    log,
    files,
    staged: [],
    fileIds: new Map(),
    flight: new InFlight(Math.max(1, Math.min(jt.pipeline.consumers, ctx.budget.max - 1))),
    ends: new FileEnds({ budget: ctx.budget, logger: log, runId: ctx.runId, jobType: jt.name, onFileEnd: ctx.onFileEnd }),
    ordered: jt.target.key.length > 0 || jt.target.mode !== 'append',
    lastDone: Promise.resolve(),
  };
  try {
    for (let i = 0; i < sources.length && !ctx.signal.aborted; i += GROUP_FILES) {
      await runGroup(job, sources.slice(i, i + GROUP_FILES));
      await job.ends.flush();
    }
  } finally {
    await job.flight.drain();
    await job.ends.flush();
  }
  if (job.staged.length > 0) {
    // Replace mode: one fresh table from this run's files, swapped in for the target at once.
    await replaceTables({ jobType: jt, budget: ctx.budget, ledger: ctx.ledger, retry: ctx.settings.retry, logger: log, runId: ctx.runId }, job.staged);
    for (const s of job.staged) await endFile(ctx, jt.name, s.report, job.fileIds.get(s.report));
  }
}

async function prepare(jt: JobType, file: SourceFile): Promise<Prepared> {
  const started = performance.now();
  const age = (Date.now() - file.mtimeMs) / 1000;
  if (age < jt.source.settleSeconds) {
    return { file, started, unready: `still being written (modified ${Math.max(0, Math.floor(age))}s ago; source.settle_seconds: ${jt.source.settleSeconds})` };
  }
  const claimed = await sha256File(file.path, file.size);
  return { file, started, claimed, changed: await changedSince(file, claimed) };
}

async function runGroup(job: Job, group: readonly SourceFile[]): Promise<void> {
  const { ctx, jt, log } = job;
  const prepared: Prepared[] = [];
  for (const file of group) prepared.push(await prepare(jt, file));
  const toLoad = prepared.filter((p) => p.claimed && !p.changed);
  const peeked = toLoad.length === 0
    ? new Map<string, PeekedFile>()
    : await withRetry(
        `${jt.name}: look up ${toLoad.length} files in the ledger`,
        () => ctx.ledger.peekFiles(jt.name, toLoad.map((p) => ({ path: p.file.path, size: p.file.size, sha256: p.claimed!.sha256 }))),
        ctx.settings.retry,
        log,
      );
  for (const p of prepared) {
    if (ctx.signal.aborted) break;
    await startFile(job, p, p.claimed ? peeked.get(p.claimed.sha256) : undefined);
  }
}

/** A file's start: skipped at once, handed to the small-file flight, or loaded the ordinary way. */
async function startFile(job: Job, p: Prepared, peek: PeekedFile | undefined): Promise<void> {
  const { ctx, jt, log } = job;
  const report = newFileReport(p.file.path, p.file.size);
  job.files.push(report);
  ctx.onFileStart?.(jt.name, p.file);
  const skip = (fileId?: number) => {
    report.seconds = (performance.now() - p.started) / 1000;
    job.ends.add(report, fileId);
  };
  if (p.unready) {
    report.reason = p.unready;
    log.info({ file: p.file.path, reason: report.reason }, 'file skipped');
    return skip();
  }
  report.sha256 = p.claimed!.sha256;
  if (p.changed) {
    skipChanged(report, p.changed);
    log.warn({ file: p.file.path, why: p.changed }, 'the file is changing (still being written?); skipped, a later run loads it once it is complete');
    return skip();
  }
  if (peek && peek.status === 'loaded' && !ctx.force) {
    report.reason = peek.path !== p.file.path ? `already loaded as ${peek.path}` : 'already loaded';
    log.info({ file: p.file.path, reason: report.reason }, 'file skipped');
    return skip(peek.fileId);
  }
  if (peek && !peek.progress && mayBeSmall(jt, p.file)) {
    const previous = job.ordered ? job.lastDone : Promise.resolve();
    job.lastDone = (await job.flight.add(() => smallFile(job, p, peek.fileId, report, previous))).done;
    return;
  }
  await job.flight.drain();
  await ordinaryFile(job, p, report);
}

/** A small file: one transaction, or the ordinary way when it is not plain (see pipeline/smallFile.ts). */
async function smallFile(job: Job, p: Prepared, fileId: number, report: FileReport, previous: Promise<void>): Promise<void> {
  const { ctx, jt, log } = job;
  try {
    const out = await loadSmallFile({
      jobType: jt,
      file: p.file,
      fileId,
      runId: ctx.runId,
      force: ctx.force,
      claimed: p.claimed!,
      budget: ctx.budget,
      logger: log,
      settings: ctx.settings,
      signal: ctx.signal,
      started: p.started,
      report,
      turn: previous,
    });
    if (out.kind === 'loaded') {
      setSeconds(report, p.started);
      ctx.onFileEnd?.(jt.name, report);
      return;
    }
    if (out.kind === 'skipped') {
      log.info({ file: p.file.path, reason: report.reason }, 'file skipped');
      report.seconds = (performance.now() - p.started) / 1000;
      job.ends.add(report, fileId);
      return;
    }
    log.debug({ file: p.file.path, why: out.why }, 'loading the file the ordinary way');
  } catch (err) {
    report.status = 'failed';
    report.error = { code: errorCode(err), message: errorMessage(err) };
    log.error({ file: p.file.path, code: report.error.code }, report.error.message);
    setSeconds(report, p.started);
    await endFile(ctx, jt.name, report, fileId);
    return;
  }
  await previous;
  await ordinaryFile(job, p, report);
}

function setSeconds(report: FileReport, started: number): void {
  report.seconds = (performance.now() - started) / 1000;
  report.rows_per_second = report.seconds > 0 ? Math.round((report.rows_loaded + report.rows_rejected) / report.seconds) : 0;
}

/** The ordinary way: claim (lock), staged batches, finalize; replace mode's files wait for the swap. */
async function ordinaryFile(job: Job, p: Prepared, report: FileReport): Promise<void> {
  const { ctx, jt, log } = job;
  const { file, claimed } = p;
  let waitsForSwap = false;
  let fileId: number | undefined;
  try {
    const claim = await withRetry(`${file.path}: claim`, () => ctx.ledger.claimFile(jt.name, file, claimed!.sha256, ctx.runId, ctx.force, jt.target.strategy), ctx.settings.retry, log);
    fileId = claim.fileId;
    if (claim.kind === 'skip') {
      report.reason = claim.loadedAs && claim.loadedAs !== file.path ? `${claim.reason} as ${claim.loadedAs}` : claim.reason;
      log.info({ file: file.path, reason: report.reason }, 'file skipped');
      return;
    }
    report.resumed = claim.resumed;
    if (claim.resumed) log.info({ file: file.path, batches: claim.committed.length }, 'resuming after the last committed batch');
    const s = await loadFile({
      jobType: jt,
      file,
      fileId: claim.fileId,
      runId: ctx.runId,
      committed: claim.committed,
      claimed: claimed!,
      budget: ctx.budget,
      ledger: ctx.ledger,
      logger: log,
      settings: ctx.settings,
      signal: ctx.signal,
      report,
      onProgress: ctx.onFileProgress ? (m) => ctx.onFileProgress!(jt.name, file, m.snapshot()) : undefined,
    });
    if (s) {
      job.fileIds.set(s.report, claim.fileId);
      job.staged.push(s);
      waitsForSwap = true;
    }
  } catch (err) {
    report.status = 'failed';
    report.error = { code: errorCode(err), message: errorMessage(err) };
    log.error({ file: file.path, code: report.error.code }, report.error.message);
  } finally {
    setSeconds(report, p.started);
    if (!waitsForSwap) await endFile(ctx, jt.name, report, fileId);
  }
}

/** A file's end: its outcome in this run's history (db/runFiles.ts; a failure to record it fails nothing), then onFileEnd. */
async function endFile(ctx: WorkerContext, jobType: string, r: FileReport, fileId: number | undefined): Promise<void> {
  await ctx.budget
    .withClient((c) => recordRunFile(c, runFileRecord(ctx.runId, jobType, r, fileId)))
    .catch((err: unknown) => ctx.logger.warn({ file: r.path, err: errorMessage(err) }, 'could not record the file in the run history'));
  ctx.onFileEnd?.(jobType, r);
}
