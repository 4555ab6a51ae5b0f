/**
 * What an operator can do from the dashboard: run one job type now. Each run is a child process
 * `importer run JOBTYPE --trigger dashboard` under the job type's restart policy (as the scheduler
 * runs its fires), at most `jobs` at once with `connectionsPerRun` connections each, and at most one
 * per job type. Its failed files are retried by that run, as by any run. Only POSTs with
 * `Authorization: Bearer` reach here (routes.ts): a cookie alone could be sent by another site's
 * form (CSRF).
 */
import type { ChildProcess } from 'node:child_process';
import PQueue from 'p-queue';
import type { Logger } from 'pino';
import { loadJobTypes } from '../jobtypes/load.js';
import { runSupervisedChild } from '../supervisor/child.js';

export interface ActionOptions {
  readonly jobtypesDir: string;
  readonly databaseUrl: string;
  readonly dataDir: string;
  readonly logger: Logger;
  /** @default 1 */
  readonly jobs?: number;
  /** @default 2 */
  readonly connectionsPerRun?: number;
}

export interface Actions {
  /** 202 with what was started, 404 for an unknown or invalid job type, 409 when it already runs. */
  runNow(name: string): Promise<{ code: number; body: unknown }>;
  stop(): Promise<void>;
}

export function createActions(o: ActionOptions): Actions {
  const queue = new PQueue({ concurrency: o.jobs ?? 1 });
  const children = new Set<ChildProcess>();
  const running = new Set<string>();
  let stopping = false;
  return {
    async runNow(name) {
      const loaded = await loadJobTypes(o.jobtypesDir);
      const jt = loaded.valid.find((j) => j.name === name);
      if (!jt) return { code: 404, body: { error: `no valid job type "${name}"` } };
      if (running.has(name) || stopping) return { code: 409, body: { error: `${name} is already running from this dashboard` } };
      running.add(name);
      const log = o.logger.child({ jobType: name, trigger: 'dashboard' });
      log.info('run requested from the dashboard');
      void queue
        .add(() =>
          runSupervisedChild(
            jt,
            { jobtypesDir: o.jobtypesDir, databaseUrl: o.databaseUrl, dataDir: o.dataDir, maxConnections: o.connectionsPerRun ?? 2, trigger: 'dashboard', children, stopping: () => stopping },
            log,
          ),
        )
        .then((r) => log.info({ status: r?.status, restarts: r?.restarts }, 'dashboard run ended'))
        .catch((err: unknown) => log.error({ err: (err as Error).message }, 'dashboard run failed'))
        .finally(() => running.delete(name));
      return { code: 202, body: { job_type: name, trigger: 'dashboard', queued_at: new Date().toISOString() } };
    },
    async stop() {
      stopping = true;
      queue.clear();
      for (const c of children) c.kill('SIGTERM');
      const until = Date.now() + 30_000;
      while (children.size > 0 && Date.now() < until) await new Promise((r) => setTimeout(r, 100));
      for (const c of children) c.kill('SIGKILL');
    },
  };
}
