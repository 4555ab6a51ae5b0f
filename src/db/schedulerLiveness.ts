/**
 * Scheduler daemons' liveness (importer.scheduler_heartbeats, migration 5) and the fires a dead
 * daemon left open. A daemon beats every few seconds; a fire still `running` under a daemon whose
 * beat is old, that stopped, or whose process on this host is gone, was cut short by a crash
 * (kill -9, a power cut): another daemon takes it over (`recovered_from` names the dead one) and
 * redoes it. The takeover is one conditional UPDATE, so two live daemons never both redo a fire.
 */
import type { Queryable } from './read/queryable.js';

export interface Heartbeat {
  readonly daemonId: string;
  readonly hostname: string;
  readonly pid: number;
}

export async function beat(c: Queryable, h: Heartbeat): Promise<void> {
  await c.query(
    `INSERT INTO importer.scheduler_heartbeats (daemon_id, hostname, pid) VALUES ($1, $2, $3)
     ON CONFLICT (daemon_id) DO UPDATE SET beat_at = now(), stopped_at = NULL`,
    [h.daemonId, h.hostname, h.pid],
  );
}

export async function stopBeating(c: Queryable, daemonId: string): Promise<void> {
  await c.query('UPDATE importer.scheduler_heartbeats SET stopped_at = now(), beat_at = now() WHERE daemon_id = $1', [daemonId]);
}

export interface OpenFire {
  readonly jobType: string;
  readonly fireAt: Date;
  readonly instance: string;
  /** Seconds since the owner's last beat; null when it never beat (a daemon older than migration 5). */
  readonly beatAgeSeconds: number | null;
  readonly stopped: boolean;
}

/** Fires still `running` under another daemon, with what is known of that daemon's liveness. */
export async function openFiresOfOthers(c: Queryable, daemonId: string): Promise<OpenFire[]> {
  const { rows } = await c.query<{ job_type: string; fire_at: Date; instance: string; age: string | null; stopped: boolean }>(
    `SELECT f.job_type, f.fire_at, f.instance, extract(epoch FROM now() - h.beat_at) AS age, h.stopped_at IS NOT NULL AS stopped
       FROM importer.schedule_fires f LEFT JOIN importer.scheduler_heartbeats h ON h.daemon_id = f.instance
      WHERE f.status = 'running' AND f.instance <> $1
      ORDER BY f.fire_at`,
    [daemonId],
  );
  return rows.map((r) => ({ jobType: r.job_type, fireAt: r.fire_at, instance: r.instance, beatAgeSeconds: r.age === null ? null : Number(r.age), stopped: r.stopped }));
}

/** Takes over a dead daemon's open fire; false when another daemon took it (or it ended) first. */
export async function takeOverFire(c: Queryable, f: OpenFire, daemonId: string): Promise<boolean> {
  const r = await c.query(
    `UPDATE importer.schedule_fires SET instance = $4, recovered_from = $3, reason = 'recovered', started_at = now(), finished_at = NULL
      WHERE job_type = $1 AND fire_at = $2 AND instance = $3 AND status = 'running'`,
    [f.jobType, f.fireAt, f.instance, daemonId],
  );
  return (r.rowCount ?? 0) > 0;
}

/** Closes a dead daemon's open fire that cannot be redone (its job type is gone or disabled). */
export async function abandonFire(c: Queryable, f: OpenFire, daemonId: string, why: string): Promise<void> {
  await c.query(
    `UPDATE importer.schedule_fires SET status = 'abandoned', finished_at = now(), recovered_from = $3, instance = $4, error = $5
      WHERE job_type = $1 AND fire_at = $2 AND instance = $3 AND status = 'running'`,
    [f.jobType, f.fireAt, f.instance, daemonId, why],
  );
}

/**
 * Runs of this host left `running` by processes that are gone (killed with -9, or their machine
 * restarted): closed as `interrupted`, with their job runs, so that `status` stops showing them
 * running. `alive(pid)` decides; other hosts' runs are left alone.
 */
export async function closeDeadRuns(c: Queryable, hostname: string, alive: (pid: number) => boolean): Promise<number> {
  const { rows } = await c.query<{ id: string; pid: number }>(`SELECT id, pid FROM importer.runs WHERE status = 'running' AND hostname = $1`, [hostname]);
  const dead = rows.filter((r) => !alive(r.pid)).map((r) => r.id);
  if (dead.length === 0) return 0;
  const why = 'the importer process died without recording its end (killed, or its machine stopped)';
  await c.query(`UPDATE importer.runs SET status = 'interrupted', finished_at = now(), error = $2 WHERE id = ANY($1::bigint[]) AND status = 'running'`, [dead, why]);
  await c.query(
    `UPDATE importer.job_runs SET status = 'interrupted', finished_at = now(), error = coalesce(error, $2) WHERE run_id = ANY($1::bigint[]) AND status = 'running'`,
    [dead, why],
  );
  return dead.length;
}
