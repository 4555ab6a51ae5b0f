/**
 * `importer run --isolate`: every job type runs in its own child process under the restart policy,
 * so that even a hard crash (process.exit, abort, out of memory, a native fault) of one import is
 * contained. The connection budget is split: each of at most `jobs` children gets an equal share
 * (at least 2). The cost is a process start per job type; the default in-process mode shares one
 * pool instead.
 */
import type { ChildProcess } from 'node:child_process';
import path from 'node:path';
import PQueue from 'p-queue';
import { openDatabase } from '../db/connection.js';
import { ImporterError } from '../errors.js';
import { DEFAULTS, loadSelection, type RunOptions, type RunReport } from '../importer.js';
import { runSupervisedChild } from './child.js';
import type { JobReport } from './worker.js';

export async function runIsolated(opts: RunOptions & { childArgs: readonly string[] }): Promise<RunReport> {
  const started = performance.now();
  const logger = opts.logger;
  const { selected, wantedInvalid } = await loadSelection(opts);
  const max = opts.maxConnections ?? DEFAULTS.maxConnections;
  const jobs = Math.max(1, Math.min(opts.jobs ?? DEFAULTS.jobs, Math.floor(max / 2)));
  if (max < 2) throw new ImporterError('USAGE', `--max-connections must be at least 2, got ${max}`);
  const share = Math.floor(max / jobs);
  const db = await openDatabase({ url: opts.databaseUrl, dataDir: opts.dataDir, logger });
  logger.info(`database: ${db.display}`);
  const children = new Set<ChildProcess>();
  const onAbort = () => {
    for (const c of children) c.kill('SIGTERM');
  };
  opts.signal?.addEventListener('abort', onAbort, { once: true });
  try {
    const queue = new PQueue({ concurrency: jobs });
    const reports = await Promise.all(
      selected.map((jt) =>
        queue.add(async (): Promise<JobReport> => {
          const t0 = performance.now();
          const out = await runSupervisedChild(
            jt,
            {
              jobtypesDir: path.resolve(opts.jobtypesDir),
              databaseUrl: db.url,
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
        }),
      ),
    );
    const status = reports.some((j) => j.status === 'interrupted') ? 'interrupted' : reports.some((j) => j.status === 'failed') || wantedInvalid.length > 0 ? 'failed' : 'succeeded';
    return { run_id: null, status, database: db.display, seconds: (performance.now() - started) / 1000, jobs: reports, invalid: wantedInvalid };
  } finally {
    opts.signal?.removeEventListener('abort', onAbort);
    await db.close();
  }
}
