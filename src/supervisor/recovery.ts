/**
 * The fires a dead scheduler daemon left open (issue: a kill -9 mid-import left its fire `running`
 * for ever and the fire was never redone). At start and at every heartbeat, a daemon looks for
 * fires still `running` under another daemon that is gone, takes each over and redoes it (the
 * import resumes its files from their checkpoints), or closes it as `abandoned` when its job type
 * is gone. It also closes this host's runs left `running` by dead processes.
 */
import { readFileSync } from 'node:fs';
import type { Logger } from 'pino';
import { abandonFire, closeDeadRuns, openFiresOfOthers, takeOverFire, type OpenFire } from '../db/schedulerLiveness.js';
import type { Queryable } from '../db/read/queryable.js';
import type { JobType } from '../jobtypes/normalize.js';

/** A daemon that has not beaten for this long is dead (it beats every HEARTBEAT_MS). */
export const HEARTBEAT_MS = 5_000;
export const DEAD_AFTER_SECONDS = 30;

/** Whether a process of this host runs; a zombie (killed, not yet reaped: a container without an init) does not. */
export function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) !== 'Z';
  } catch {
    return true;
  }
}

/** `host:pid`, the scheduler's instance name. */
export function parseInstance(instance: string): { host: string; pid: number } | undefined {
  const i = instance.lastIndexOf(':');
  const pid = Number(instance.slice(i + 1));
  return i > 0 && Number.isInteger(pid) && pid > 0 ? { host: instance.slice(0, i), pid } : undefined;
}

/**
 * Whether the daemon that owns an open fire is gone: on this host, its process is gone; anywhere,
 * it stopped or its last beat is older than DEAD_AFTER_SECONDS. A daemon that never beat (older
 * than migration 5) on another host is left alone: nothing proves it dead.
 */
export function ownerDead(f: OpenFire, hostname: string, alive: (pid: number) => boolean = processAlive): boolean {
  const owner = parseInstance(f.instance);
  if (owner && owner.host === hostname && !alive(owner.pid)) return true;
  if (f.beatAgeSeconds === null) return false;
  return f.stopped || f.beatAgeSeconds > DEAD_AFTER_SECONDS;
}

export interface RecoveryContext {
  readonly db: Queryable;
  readonly daemonId: string;
  readonly hostname: string;
  readonly logger: Logger;
  /** The job type to redo a fire of, if it is still defined and enabled. */
  readonly jobType: (name: string) => JobType | undefined;
  /** Runs the taken-over fire (already claimed by this daemon). */
  readonly redo: (jt: JobType, fireAt: Date) => void;
}

export async function recoverOpenFires(ctx: RecoveryContext): Promise<void> {
  const closed = await closeDeadRuns(ctx.db, ctx.hostname, processAlive);
  if (closed > 0) ctx.logger.warn({ runs: closed }, 'closed runs left running by importer processes that died');
  for (const f of await openFiresOfOthers(ctx.db, ctx.daemonId)) {
    if (!ownerDead(f, ctx.hostname)) continue;
    const jt = ctx.jobType(f.jobType);
    const fields = { jobType: f.jobType, fireAt: f.fireAt.toISOString(), deadDaemon: f.instance };
    if (!jt || !jt.enabled) {
      await abandonFire(ctx.db, f, ctx.daemonId, `the scheduler ${f.instance} died during this fire, and the job type is ${jt ? 'disabled' : 'gone'}`);
      ctx.logger.warn(fields, 'a fire left open by a scheduler that died was closed as abandoned (its job type is gone or disabled)');
      continue;
    }
    if (!(await takeOverFire(ctx.db, f, ctx.daemonId))) continue;
    ctx.logger.warn(fields, 'redoing a fire that a scheduler left open when it died (its files resume from their checkpoints)');
    ctx.redo(jt, f.fireAt);
  }
}
