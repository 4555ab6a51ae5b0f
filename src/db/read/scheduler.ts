/** The scheduler's liveness for the dashboard: daemons' heartbeats (migration 5) and the latest fire. */
import { iso, num, RAW_TYPES, type Queryable } from './queryable.js';

/** A daemon silent for longer than this is taken for dead (it beats every 5 s: supervisor/recovery.ts). */
export const HEARTBEAT_STALE_SECONDS = 30;

export interface SchedulerHealth {
  /** A daemon beat within HEARTBEAT_STALE_SECONDS and did not stop. */
  alive: boolean;
  daemons: Array<{ daemon_id: string; hostname: string; pid: number; started_at: string; beat_at: string; stopped_at: string | null; seconds_since_beat: number; alive: boolean }>;
  last_fire: null | { job_type: string; fire_at: string; status: string; reason: string; started_at: string; finished_at: string | null };
}

export async function schedulerHealth(c: Queryable): Promise<SchedulerHealth> {
  const { rows } = await c.query<Record<string, string | null>>({
    text: `SELECT daemon_id, hostname, pid, started_at, beat_at, stopped_at, extract(epoch FROM now() - beat_at) AS age
             FROM importer.scheduler_heartbeats ORDER BY beat_at DESC LIMIT 5`,
    types: RAW_TYPES,
  });
  const daemons = rows.map((r) => {
    const age = num(r.age) ?? Infinity;
    return {
      daemon_id: r.daemon_id!,
      hostname: r.hostname!,
      pid: Number(r.pid),
      started_at: iso(r.started_at)!,
      beat_at: iso(r.beat_at)!,
      stopped_at: iso(r.stopped_at),
      seconds_since_beat: Math.round(age),
      alive: r.stopped_at === null && age <= HEARTBEAT_STALE_SECONDS,
    };
  });
  const { rows: fires } = await c.query<Record<string, string | null>>({
    text: `SELECT job_type, fire_at, status, reason, started_at, finished_at FROM importer.schedule_fires ORDER BY started_at DESC LIMIT 1`,
    types: RAW_TYPES,
  });
  const f = fires[0];
  return {
    alive: daemons.some((d) => d.alive),
    daemons,
    last_fire: f ? { job_type: f.job_type!, fire_at: iso(f.fire_at)!, status: f.status!, reason: f.reason!, started_at: iso(f.started_at)!, finished_at: iso(f.finished_at) } : null,
  };
}
