/**
 * The programmatic API. `run()` loads the job types of a folder once and reports what happened;
 * the CLI is a thin shell around it.
 */
import type { ChildProcess } from 'node:child_process';
import os from 'node:os';
import path from 'node:path';
import PQueue from 'p-queue';
import type { Logger } from 'pino';
import { ConnectionBudget } from './db/budget.js';
import { openDatabase, startupLine, type Database } from './db/connection.js';
import { Ledger } from './db/ledger.js';
import { migrate } from './db/migrate.js';
import { DEFAULT_RETRY, withRetry } from './db/retry.js';
import { ImporterError, errorMessage } from './errors.js';
import { formatProblem, loadJobTypes } from './jobtypes/load.js';
import { withPipelineOverrides, type JobType } from './jobtypes/normalize.js';
import { PIPELINE_DEFAULTS } from './jobtypes/schema.js';
import type { MetricsSnapshot } from './observability/metrics.js';
import type { Batch } from './db/batch.js';
import { ParsePool } from './pipeline/parsePool.js';
import type { SourceFile } from './source/discover.js';
import { runSupervisedChild } from './supervisor/child.js';
import { superviseAll } from './supervisor/supervisor.js';
import { createPublisher, PROGRESS_CHANNEL } from './observability/publish.js';
import { onCrash } from './observability/crash.js';
import type { FileReport, JobReport } from './supervisor/worker.js';
import { didYouMean } from './util/didYouMean.js';

export interface RunOptions {
  readonly jobtypesDir: string;
  /** Job type names to run; all when empty. */
  readonly only?: readonly string[];
  readonly databaseUrl?: string | undefined;
  /** What chose `databaseUrl`, for the start-up line (`--database-url`, `DATABASE_URL`, `PGHOST, PGPORT`). @default '--database-url' */
  readonly databaseChosenBy?: string | undefined;
  /** At start, how long a server that refuses or does not answer is tried. @default 10000 */
  readonly connectTimeoutMs?: number | undefined;
  readonly dataDir: string;
  /** Connections to the server at most, for everything the process does. @default 4 */
  readonly maxConnections?: number;
  /** Job types loading at once. @default 4 */
  readonly jobs?: number;
  /** Batches the buffer of a file holds; overrides the definitions. @default 4 */
  readonly bufferBatches?: number | undefined;
  /** COPY consumers per file; overrides the definitions. @default 2 */
  readonly consumers?: number | undefined;
  readonly force?: boolean;
  /** How long transient database errors are retried. @default 300000 */
  readonly retryDeadlineMs?: number;
  readonly trigger?: string;
  readonly logger: Logger;
  readonly signal?: AbortSignal;
  readonly onFileStart?: (jobType: string, file: SourceFile) => void;
  readonly onFileProgress?: (jobType: string, file: SourceFile, m: MetricsSnapshot) => void;
  readonly onFileEnd?: (jobType: string, report: FileReport) => void;
  /**
   * Worker threads that parse and cast large files, one pool for the whole process.
   * @default see DEFAULTS.parseThreads
   */
  readonly parseThreads?: number | undefined;
  /** Test hook, see PipelineSettings.beforeCommit. */
  readonly beforeCommit?: (batch: Batch) => Promise<void>;
}

export interface InvalidReport {
  name: string;
  file: string;
  errors: string[];
}

export interface RunReport {
  run_id: number | null;
  status: 'succeeded' | 'failed' | 'interrupted';
  database: string;
  seconds: number;
  jobs: JobReport[];
  invalid: InvalidReport[];
}

/**
 * Parse threads by default: two on a 2- or 3-core machine (measured on 2 cores, 1M rows: 9.6 s
 * against 12.6 s in the main thread; the main thread then mostly waits, docs/performance.md), and
 * all cores but two (left to the main thread and the server) from 4 cores up.
 */
function defaultParseThreads(cores: number): number {
  if (cores < 2) return 0;
  return cores < 4 ? 2 : cores - 2;
}

export const DEFAULTS = {
  maxConnections: 4,
  jobs: 4,
  bufferBatches: PIPELINE_DEFAULTS.buffer_batches,
  consumers: PIPELINE_DEFAULTS.consumers,
  parseThreads: defaultParseThreads(os.availableParallelism()) } as const;

/** Selects job types by name; unknown names are a usage error with a suggestion. */
export function selectJobTypes(valid: readonly JobType[], invalidNames: readonly string[], only: readonly string[] | undefined): JobType[] {
  if (!only || only.length === 0) return valid.filter((j) => j.enabled);
  const byName = new Map(valid.map((j) => [j.name, j]));
  const out: JobType[] = [];
  for (const name of only) {
    const jt = byName.get(name);
    if (jt) out.push(jt);
    else if (!invalidNames.includes(name)) {
      const guess = didYouMean(name, [...byName.keys()]);
      throw new ImporterError('JOBTYPE_UNKNOWN', `unknown job type "${name}"${guess ? ` (did you mean "${guess}"?)` : ''}`, { name });
    }
  }
  return out;
}

/**
 * Loads the definitions, logs the invalid ones, and selects the job types to run. Returns the
 * invalid definitions that count against this run (all of them, or those named in `only`).
 */
export async function loadSelection(opts: Pick<RunOptions, 'jobtypesDir' | 'only' | 'logger'>): Promise<{ selected: JobType[]; wantedInvalid: InvalidReport[] }> {
  const loaded = await loadJobTypes(opts.jobtypesDir);
  const invalid: InvalidReport[] = loaded.invalid.map((d) => ({
    name: d.name,
    file: d.file,
    errors: d.problems.map((p) => formatProblem(d.file, p)),
  }));
  for (const d of invalid) for (const e of d.errors) opts.logger.error({ jobType: d.name, code: 'JOBTYPE_INVALID' }, `invalid definition skipped: ${e}`);
  const selected = selectJobTypes(loaded.valid, loaded.invalid.map((d) => d.name), opts.only);
  const wantedInvalid = opts.only && opts.only.length > 0 ? invalid.filter((d) => opts.only!.includes(d.name)) : invalid;
  if (selected.length === 0) {
    throw new ImporterError('JOBTYPE_NONE_VALID', `no valid job type to run in ${loaded.dir}`, { dir: loaded.dir, invalid });
  }
  return { selected, wantedInvalid };
}

export async function run(opts: RunOptions): Promise<RunReport> {
  const started = performance.now();
  const logger = opts.logger;
  const { selected, wantedInvalid } = await loadSelection(opts);
  const maxConnections = opts.maxConnections ?? DEFAULTS.maxConnections;
  if (maxConnections < 2) {
    throw new ImporterError('USAGE', `--max-connections must be at least 2 (one holds the file locks), got ${maxConnections}`);
  }
  const db: Database = await openDatabase({ url: opts.databaseUrl, chosenBy: opts.databaseChosenBy, connectTimeoutMs: opts.connectTimeoutMs, dataDir: opts.dataDir, logger });
  logger.info(startupLine(db));
  const budget = new ConnectionBudget({ connectionString: db.url, max: maxConnections, logger });
  const ledger = new Ledger(budget, logger);
  const parsePool = new ParsePool(opts.parseThreads ?? DEFAULTS.parseThreads);
  const retry = { ...DEFAULT_RETRY, deadlineMs: opts.retryDeadlineMs ?? DEFAULT_RETRY.deadlineMs };
  const signal = opts.signal ?? new AbortController().signal;
  let runId: number | null = null;
  let removeCrashHook: () => void = () => undefined;
  try {
    await withRetry('migrate', () => budget.withClient((c) => migrate(c)), retry, logger);
    runId = await withRetry('start run', () => ledger.startRun(`run ${selected.map((j) => j.name).join(' ')}`), retry, logger);
    const currentRun = runId;
    // A process-level crash is kept in the run history too.
    removeCrashHook = onCrash((err) => ledger.finishRun(currentRun, 'crashed', `${err.message}\n${err.stack ?? ''}`));
    const publish = createPublisher({
      runId: () => currentRun,
      send: (payload) => void ledger.notify(PROGRESS_CHANNEL, payload),
      connectionsInUse: () => budget.inUse,
    });
    const jobs = await superviseAll(
      {
        budget,
        ledger,
        logger,
        runId,
        force: opts.force ?? false,
        signal,
        settings: {
          parsePool,
          retry,
          beforeCommit: opts.beforeCommit,
        },
        onFileStart: (jt, f) => {
          publish.onFileStart(jt, f);
          opts.onFileStart?.(jt, f);
        },
        onFileProgress: (jt, f, m) => {
          publish.onFileProgress(jt, f, m);
          opts.onFileProgress?.(jt, f, m);
        },
        onFileEnd: (jt, r) => {
          publish.onFileEnd(jt, r);
          opts.onFileEnd?.(jt, r);
        },
      },
      selected.map((jt) => withPipelineOverrides(jt, opts)),
      { jobs: opts.jobs ?? DEFAULTS.jobs, trigger: opts.trigger ?? 'manual' },
    );
    const failed = jobs.some((j) => j.status === 'failed') || wantedInvalid.length > 0;
    const interrupted = jobs.some((j) => j.status === 'interrupted');
    const status = interrupted ? 'interrupted' : failed ? 'failed' : 'succeeded';
    await ledger.finishRun(runId, status).catch((err: unknown) => logger.warn({ err: errorMessage(err) }, 'could not record the run'));
    return { run_id: runId, status, database: db.display, seconds: (performance.now() - started) / 1000, jobs, invalid: wantedInvalid };
  } finally {
    removeCrashHook();
    await parsePool.close();
    await ledger.close().catch(() => undefined);
    await budget.end().catch(() => undefined);
    await db.close();
  }
}

export type IsolatedOptions = RunOptions & { readonly childArgs: readonly string[] };

/**
 * `importer run --isolate`: every job type runs in its own child process under the restart policy,
 * so that even a hard crash (process.exit, abort, out of memory, a native fault) of one import is
 * contained. The connection budget is split: each of at most `jobs` children gets an equal share
 * (at least 2). The cost is a process start per job type; the default in-process mode shares one
 * pool instead.
 */
export async function runIsolated(opts: IsolatedOptions): Promise<RunReport> {
  const started = performance.now();
  const logger = opts.logger;
  const { selected, wantedInvalid } = await loadSelection(opts);
  const max = opts.maxConnections ?? DEFAULTS.maxConnections;
  const jobs = Math.max(1, Math.min(opts.jobs ?? DEFAULTS.jobs, Math.floor(max / 2)));
  if (max < 2) throw new ImporterError('USAGE', `--max-connections must be at least 2, got ${max}`);
  const share = Math.floor(max / jobs);
  const db = await openDatabase({ url: opts.databaseUrl, chosenBy: opts.databaseChosenBy, connectTimeoutMs: opts.connectTimeoutMs, dataDir: opts.dataDir, logger });
  logger.info(startupLine(db));
  const children = new Set<ChildProcess>();
  const onAbort = () => {
    for (const c of children) c.kill('SIGTERM');
  };
  opts.signal?.addEventListener('abort', onAbort, { once: true });
  try {
    const queue = new PQueue({ concurrency: jobs });
    const reports = await Promise.all(
      selected.map((jt) =>
        queue.add(() => isolatedJob(jt, opts, db.url, share, children)),
      ),
    );
    const status = reports.some((j) => j.status === 'interrupted') ? 'interrupted' : reports.some((j) => j.status === 'failed') || wantedInvalid.length > 0 ? 'failed' : 'succeeded';
    return { run_id: null, status, database: db.display, seconds: (performance.now() - started) / 1000, jobs: reports, invalid: wantedInvalid };
  } finally {
    opts.signal?.removeEventListener('abort', onAbort);
    await db.close();
  }
}

/** One job type in a supervised child process; its report, or a WORKER_CRASHED one. */
async function isolatedJob(jt: JobType, opts: IsolatedOptions, url: string, share: number, children: Set<ChildProcess>): Promise<JobReport> {
  const t0 = performance.now();
  const logger = opts.logger;
  const out = await runSupervisedChild(
    jt,
    {
      jobtypesDir: path.resolve(opts.jobtypesDir),
      databaseUrl: url,
      dataDir: opts.dataDir,
      maxConnections: share,
      trigger: opts.trigger ?? 'manual',
      extraArgs: ['--json', ...(opts.force ? ['--force'] : []), ...opts.childArgs],
      children,
      stopping: () => opts.signal?.aborted ?? false,
    },
    logger,
  );
  let report: JobReport | undefined;
  try {
    report = (JSON.parse(out.stdout) as RunReport).jobs[0];
  } catch {
    report = undefined;
  }
  if (report && !out.error) return { ...report, restarts: report.restarts + out.restarts };
  return {
    name: jt.name,
    status: out.status === 'interrupted' ? 'interrupted' : 'failed',
    table: `${jt.target.schema}.${jt.target.table}`,
    files: report?.files ?? [],
    rows_loaded: report?.rows_loaded ?? 0,
    rows_rejected: report?.rows_rejected ?? 0,
    seconds: (performance.now() - t0) / 1000,
    restarts: out.restarts,
    error: { code: 'WORKER_CRASHED', message: `${jt.name}: ${out.error ?? 'the import process failed'}` },
  };
}
