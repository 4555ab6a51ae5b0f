/**
 * Publishes live progress of the files being loaded with NOTIFY on channel `importer_progress`,
 * so that a dashboard in another process can follow imports in real time. At most one progress
 * message per file every `minIntervalMs`; start and end always go out.
 */
import type { MetricsSnapshot } from './metrics.js';
import type { SourceFile } from '../source/discover.js';
import type { FileReport } from './report.js';

export const PROGRESS_CHANNEL = 'importer_progress';

export interface ProgressMessage {
  event: 'start' | 'progress' | 'end';
  run_id: number;
  pid: number;
  job_type: string;
  file: string;
  bytes_total: number;
  bytes_read: number;
  rows: number;
  rejected: number;
  rows_per_second: number;
  buffer_size: number;
  buffer_capacity: number;
  connections_in_use: number;
  status?: string;
  seconds: number;
}

export function createPublisher(opts: {
  runId: () => number | null;
  send: (payload: string) => void;
  connectionsInUse: () => number;
  minIntervalMs?: number;
}) {
  const last = new Map<string, number>();
  const min = opts.minIntervalMs ?? 250;
  const emit = (m: Omit<ProgressMessage, 'run_id' | 'pid' | 'connections_in_use'>) => {
    const runId = opts.runId();
    if (runId === null) return;
    opts.send(JSON.stringify({ ...m, run_id: runId, pid: process.pid, connections_in_use: opts.connectionsInUse() }));
  };
  const fromSnapshot = (jobType: string, file: SourceFile, s: MetricsSnapshot | undefined, event: ProgressMessage['event']) => {
    const rows = s ? s.cast.out + s.cast.rejected : 0;
    return {
      event,
      job_type: jobType,
      file: file.path,
      bytes_total: file.size,
      bytes_read: s?.bytesRead ?? 0,
      rows,
      rejected: s?.cast.rejected ?? 0,
      rows_per_second: s && s.seconds > 0 ? Math.round(rows / s.seconds) : 0,
      buffer_size: s?.buffer.size ?? 0,
      buffer_capacity: s?.buffer.capacity ?? 0,
      seconds: s?.seconds ?? 0,
    };
  };
  return {
    onFileStart(jobType: string, file: SourceFile) {
      emit(fromSnapshot(jobType, file, undefined, 'start'));
    },
    onFileProgress(jobType: string, file: SourceFile, s: MetricsSnapshot) {
      const key = `${jobType}\0${file.path}`;
      const now = Date.now();
      if (now - (last.get(key) ?? 0) < min) return;
      last.set(key, now);
      emit(fromSnapshot(jobType, file, s, 'progress'));
    },
    onFileEnd(jobType: string, report: FileReport) {
      const key = `${jobType}\0${report.path}`;
      last.delete(key);
      emit({
        event: 'end',
        job_type: jobType,
        file: report.path,
        bytes_total: report.bytes,
        bytes_read: report.bytes,
        rows: report.rows_loaded + report.rows_rejected,
        rejected: report.rows_rejected,
        rows_per_second: report.rows_per_second,
        buffer_size: 0,
        buffer_capacity: 0,
        status: report.status,
        seconds: report.seconds,
      });
    },
  };
}
