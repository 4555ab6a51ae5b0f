/**
 * `importer schedule`: a long-lived daemon that fires each job type on its cron schedule.
 *
 * Each fire runs `importer run JOBTYPE` in a child process, so that even a hard crash of an import
 * (process.exit, abort, out of memory) is contained: the daemon restarts it with backoff under the
 * job type's restart policy, and every other job type carries on. The connection budget is split:
 * the daemon keeps one connection, and each of at most `jobs` children gets an equal share.
 *
 * A job type never overlaps itself: a tick while its import runs is skipped and recorded. A fire is
 * claimed in importer.schedule_fires first, so with several daemons on one database each fire time
 * runs once. Definitions are reloaded when the folder changes.
 */
import type { ChildProcess } from 'node:child_process';
import { watch, type FSWatcher } from 'node:fs';
import os from 'node:os';
import PQueue from 'p-queue';
import type pg from 'pg';
import type { Logger } from 'pino';
import { closePool } from '../db/closePool.js';
import { migratePool } from '../db/migrate.js';
import { openPool } from '../db/pool.js';
import { claimFire, claimMissedFire, finishFire, recordUnrunFire } from '../db/scheduleFires.js';
import { beat, stopBeating } from '../db/schedulerLiveness.js';
import { ImporterError } from '../errors.js';
import { formatProblem, loadJobTypes } from '../jobtypes/load.js';
import type { JobType } from '../jobtypes/normalize.js';
import { DEFAULT_TIMEZONE, lastMissedFire } from '../util/cron.js';
import { runSupervisedChild, type ChildOutcome } from './child.js';
import { startCronTimer, type CronTimer } from './cronTimer.js';
import { HEARTBEAT_MS, recoverOpenFires } from './recovery.js';

export interface SchedulerOptions {
  readonly jobtypesDir: string;
  readonly databaseUrl: string;
  readonly logger: Logger;
  /** Connections for the daemon and all its imports together. */
  readonly maxConnections: number;
  /** Imports running at once. */
  readonly jobs: number;
  readonly runNow: boolean;
  readonly shutdownTimeoutMs: number;
  readonly dataDir: string;
  /** Extra arguments for each `importer run` child (e.g. --log-format json). */
  readonly childArgs?: readonly string[];
}

interface Entry {
  readonly jt: JobType;
  readonly key: string;
  readonly task: CronTimer | undefined;
}

export class Scheduler {
  private readonly pool: pg.Pool;
  private readonly entries = new Map<string, Entry>();
  private readonly active = new Set<string>();
  private readonly children = new Set<ChildProcess>();
  private readonly queue: PQueue;
  private readonly share: number;
  private readonly instance = `${os.hostname()}:${process.pid}`;
  private watcher: FSWatcher | undefined;
  private reloadTimer: NodeJS.Timeout | undefined;
  private heartbeat: NodeJS.Timeout | undefined;
  private stopping = false;

  constructor(private readonly opts: SchedulerOptions) {
    if (opts.maxConnections < 3) {
      throw new ImporterError('USAGE', `schedule needs --max-connections of at least 3 (one for the daemon, two per import), got ${opts.maxConnections}`);
    }
    const jobs = Math.max(1, Math.min(opts.jobs, Math.floor((opts.maxConnections - 1) / 2)));
    this.share = Math.floor((opts.maxConnections - 1) / jobs);
    this.queue = new PQueue({ concurrency: jobs });
    this.pool = openPool(opts.databaseUrl, {
      max: 1,
      settings: 'utc',
      onIdleError: (err) => opts.logger.warn({ err: err.message }, 'scheduler database connection closed'),
    });
  }

  async start(): Promise<void> {
    await migratePool(this.pool);
    await beat(this.pool, { daemonId: this.instance, hostname: os.hostname(), pid: process.pid });
    await this.reload(true);
    await this.recover();
    this.heartbeat = setInterval(() => void this.beatAndRecover(), HEARTBEAT_MS);
    this.heartbeat.unref();
    this.watcher = watch(this.opts.jobtypesDir, () => {
      clearTimeout(this.reloadTimer);
      this.reloadTimer = setTimeout(() => void this.reload(false), 250);
    });
    if (this.opts.runNow) {
      const now = new Date(Math.floor(Date.now() / 1000) * 1000);
      for (const e of this.entries.values()) void this.fire(e.jt, now, 'run_now');
    }
    this.opts.logger.info(
      { jobTypes: [...this.entries.values()].filter((e) => e.task).map((e) => e.jt.name), importsAtOnce: this.queue.concurrency, connectionsPerImport: this.share },
      'scheduler started',
    );
  }

  /** Loads the folder again and applies what changed. */
  async reload(initial: boolean): Promise<void> {
    if (this.stopping) return;
    const log = this.opts.logger;
    let loaded;
    try {
      loaded = await loadJobTypes(this.opts.jobtypesDir);
    } catch (err) {
      log.error({ err: (err as Error).message }, 'cannot read the jobtypes folder; keeping the current schedule');
      return;
    }
    for (const d of loaded.invalid) {
      for (const p of d.problems) log.error({ jobType: d.name, code: 'JOBTYPE_INVALID' }, `invalid definition ignored: ${formatProblem(d.file, p)}`);
    }
    const seen = new Set<string>();
    for (const jt of loaded.valid) {
      seen.add(jt.name);
      const key = JSON.stringify(jt);
      const current = this.entries.get(jt.name);
      if (current?.key === key) continue;
      current?.task?.stop();
      const scheduledFrom = new Date();
      const task = jt.enabled && jt.schedule ? this.schedule(jt) : undefined;
      this.entries.set(jt.name, { jt, key, task });
      if (!initial) log.info({ jobType: jt.name, schedule: jt.schedule ?? null }, current ? 'definition changed: rescheduled' : 'definition added');
      if (task) await this.catchUp(jt, scheduledFrom);
    }
    // A definition that became invalid keeps its last valid schedule; only a removed file unschedules.
    const invalidNames = new Set(loaded.invalid.map((d) => d.name));
    for (const [name, e] of this.entries) {
      if (seen.has(name) || invalidNames.has(name)) continue;
      e.task?.stop();
      this.entries.delete(name);
      log.info({ jobType: name }, 'definition removed: unscheduled');
    }
  }

  /** Redoes the fires a dead daemon left open (supervisor/recovery.ts). */
  private async recover(): Promise<void> {
    await recoverOpenFires({
      db: this.pool,
      daemonId: this.instance,
      hostname: os.hostname(),
      logger: this.opts.logger,
      jobType: (name) => this.entries.get(name)?.jt,
      redo: (jt, fireAt) => void this.fire(jt, fireAt, 'recovered', true),
    });
  }

  private async beatAndRecover(): Promise<void> {
    if (this.stopping) return;
    try {
      await beat(this.pool, { daemonId: this.instance, hostname: os.hostname(), pid: process.pid });
      await this.recover();
    } catch (err) {
      this.opts.logger.warn({ err: (err as Error).message }, 'scheduler heartbeat failed; retrying at the next beat');
    }
  }

  /** The live timer of one job type (supervisor/cronTimer.ts), in its timezone (UTC when none is given). */
  private schedule(jt: JobType): CronTimer {
    const zone = jt.timezone ?? DEFAULT_TIMEZONE;
    const timer = startCronTimer(jt.schedule!, zone, (at) => void this.fire(jt, at, 'scheduled'));
    const next = timer.next();
    this.opts.logger.info(
      { jobType: jt.name, schedule: jt.schedule, timezone: zone, nextFire: next?.toISOString() ?? null, nextFireLocal: next ? localTime(next, zone) : null },
      next ? `${jt.name}: next fire ${next.toISOString()} (${localTime(next, zone)} ${zone})` : `${jt.name}: the schedule never fires again`,
    );
    if (!jt.timezone && machineZone() !== 'UTC') {
      this.opts.logger.warn(
        { jobType: jt.name, machineZone: machineZone() },
        `${jt.name}: schedule "${jt.schedule}" has no timezone, so it is read in UTC, not in this machine's zone (${machineZone()}); add "timezone: ${machineZone()}" to keep local times`,
      );
    }
    return timer;
  }

  /**
   * Applies the job type's `missed` policy to fire times missed while no scheduler ran. Decided
   * under a per-job-type lock, so that daemons starting together catch up once: if another
   * instance claimed a fire of this job type in the last minute, a scheduler is running (or was,
   * moments ago) and nothing was missed; otherwise the last missed fire time is claimed here.
   */
  private async catchUp(jt: JobType, scheduledFrom: Date): Promise<void> {
    const runOnce = jt.missed === 'run_once';
    const client = await this.pool.connect();
    let missed: Date | undefined;
    try {
      missed = await claimMissedFire(client, {
        jobType: jt.name,
        instance: this.instance,
        runOnce,
        scheduledFrom,
        missedSince: (last) => lastMissedFire(jt.schedule!, jt.timezone, last, new Date(scheduledFrom.getTime() - 1000)),
      });
    } finally {
      client.release();
    }
    if (missed && !runOnce) {
      this.opts.logger.info({ jobType: jt.name, missed: missed.toISOString() }, 'a fire was missed while the scheduler was down; skipped (missed: skip)');
    }
    if (missed && runOnce) {
      this.opts.logger.info({ jobType: jt.name, missed: missed.toISOString() }, 'running a fire missed while the scheduler was down');
      void this.fire(jt, missed, 'missed', true);
    }
  }

  /** One fire: skip on overlap, claim it across instances, run it in a child under the restart policy. */
  async fire(jt: JobType, at: Date, reason: string, alreadyClaimed = false): Promise<void> {
    const log = this.opts.logger.child({ jobType: jt.name });
    const fireAt = new Date(Math.floor(at.getTime() / 1000) * 1000);
    if (this.stopping || this.active.has(jt.name)) {
      if (!this.stopping) log.warn({ fireAt: fireAt.toISOString() }, 'tick skipped: the previous import of this job type is still running');
      const status = this.stopping ? 'interrupted' : 'skipped_overlap';
      // A fire claimed beforehand (a missed one, see catchUp) is closed here, never left 'running'.
      if (alreadyClaimed) {
        await finishFire(this.pool, jt.name, fireAt, { status }).catch(() => undefined);
      } else if (!this.stopping) {
        await recordUnrunFire(this.pool, { jobType: jt.name, fireAt, instance: this.instance }, reason, status).catch(() => undefined);
      }
      return;
    }
    this.active.add(jt.name);
    try {
      if (!alreadyClaimed) {
        const claimed = await claimFire(this.pool, { jobType: jt.name, fireAt, instance: this.instance }, reason);
        if (!claimed) {
          log.debug({ fireAt: fireAt.toISOString() }, 'fire already taken by another scheduler instance');
          return;
        }
      }
      const result = await this.queue.add(() => this.runSupervised(jt, log));
      await finishFire(this.pool, jt.name, fireAt, { status: result.status, restarts: result.restarts, exitCode: result.exitCode, error: result.error ?? null });
    } catch (err) {
      log.error({ err: (err as Error).message }, 'scheduled fire failed');
    } finally {
      this.active.delete(jt.name);
    }
  }

  private runSupervised(jt: JobType, log: Logger): Promise<ChildOutcome> {
    return runSupervisedChild(
      jt,
      {
        jobtypesDir: this.opts.jobtypesDir,
        databaseUrl: this.opts.databaseUrl,
        dataDir: this.opts.dataDir,
        maxConnections: this.share,
        trigger: 'schedule',
        extraArgs: this.opts.childArgs,
        children: this.children,
        stopping: () => this.stopping,
      },
      log,
    );
  }

  /** Stops firing, asks running imports to stop (SIGTERM), and kills them after the timeout. */
  async stop(): Promise<void> {
    this.stopping = true;
    clearTimeout(this.reloadTimer);
    clearInterval(this.heartbeat);
    this.watcher?.close();
    for (const e of this.entries.values()) e.task?.stop();
    this.queue.clear();
    for (const c of this.children) c.kill('SIGTERM');
    const until = Date.now() + this.opts.shutdownTimeoutMs;
    while (this.children.size > 0 && Date.now() < until) await new Promise((r) => setTimeout(r, 100));
    for (const c of this.children) c.kill('SIGKILL');
    while (this.active.size > 0 && Date.now() < until + 5000) await new Promise((r) => setTimeout(r, 50));
    await stopBeating(this.pool, this.instance).catch(() => undefined);
    await closePool(this.pool);
  }

  /** Kills running imports at once (second signal). */
  kill(): void {
    for (const c of this.children) c.kill('SIGKILL');
  }
}

/** `2026-03-08 03:00:00` in `zone`. */
function localTime(t: Date, zone: string): string {
  return t.toLocaleString('sv-SE', { timeZone: zone });
}

/** The machine's zone (TZ, else the system's); UTC and its aliases read as UTC. */
function machineZone(): string {
  const z = Intl.DateTimeFormat().resolvedOptions().timeZone;
  return ['UTC', 'Etc/UTC', 'Etc/GMT', 'GMT', 'Etc/Universal', 'Universal', 'Etc/Zulu', 'Zulu'].includes(z) ? 'UTC' : z;
}
