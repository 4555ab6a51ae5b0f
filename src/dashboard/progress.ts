/**
 * What arrives on `LISTEN importer_progress` is untrusted: any role that can connect may
 * `pg_notify('importer_progress', ...)` anything. A payload becomes a ProgressMessage only if every
 * field has the type, range and length an importer process sends (observability/publish.ts);
 * anything else is dropped before it reaches a browser (SSE) or a /metrics label. The message is
 * rebuilt field by field, so unknown keys never travel on.
 */
import { jobTypeSchema } from '../jobtypes/schema.js';
import type { ProgressMessage } from '../observability/publish.js';

/** NOTIFY payloads are at most 8000 bytes; ours are a few hundred. */
const MAX_PAYLOAD = 8000;
const MAX_PATH = 4096;
const MAX_NAME = 200;
const EVENTS: ReadonlySet<string> = new Set(['start', 'progress', 'end']);
/** File statuses a report can end with (supervisor/worker.ts). */
const STATUSES: ReadonlySet<string> = new Set(['loaded', 'failed', 'skipped', 'interrupted']);
const NUMBERS = ['bytes_total', 'bytes_read', 'rows', 'rejected', 'rows_per_second', 'buffer_size', 'buffer_capacity', 'connections_in_use', 'seconds'] as const;
const nameField = jobTypeSchema.shape.name;

const nonNegative = (v: unknown): v is number => typeof v === 'number' && Number.isFinite(v) && v >= 0;
const id = (v: unknown): v is number => Number.isSafeInteger(v) && (v as number) >= 0;

function validName(v: unknown): v is string {
  return typeof v === 'string' && v.length <= MAX_NAME && nameField.safeParse(v).success;
}

function validPath(v: unknown): v is string {
  // No control characters: a path is shown as text and used as a metrics label.
  return typeof v === 'string' && v.length > 0 && v.length <= MAX_PATH && !/[\u0000-\u001f\u007f]/.test(v);
}

/** The message in `payload`, or undefined when it is not one an importer process would send. */
export function parseProgress(payload: string | undefined): ProgressMessage | undefined {
  if (payload === undefined || payload.length > MAX_PAYLOAD) return undefined;
  let m: unknown;
  try {
    m = JSON.parse(payload);
  } catch {
    return undefined;
  }
  if (typeof m !== 'object' || m === null || Array.isArray(m)) return undefined;
  const o = m as Record<string, unknown>;
  if (typeof o.event !== 'string' || !EVENTS.has(o.event)) return undefined;
  if (!id(o.run_id) || !id(o.pid) || !validName(o.job_type) || !validPath(o.file)) return undefined;
  if (!NUMBERS.every((k) => nonNegative(o[k]))) return undefined;
  if (o.status !== undefined && (typeof o.status !== 'string' || !STATUSES.has(o.status))) return undefined;
  const out: ProgressMessage = {
    event: o.event as ProgressMessage['event'],
    run_id: o.run_id,
    pid: o.pid,
    job_type: o.job_type,
    file: o.file,
    bytes_total: o.bytes_total as number,
    bytes_read: o.bytes_read as number,
    rows: o.rows as number,
    rejected: o.rejected as number,
    rows_per_second: o.rows_per_second as number,
    buffer_size: o.buffer_size as number,
    buffer_capacity: o.buffer_capacity as number,
    connections_in_use: o.connections_in_use as number,
    seconds: o.seconds as number,
  };
  if (typeof o.status === 'string') out.status = o.status;
  return out;
}
