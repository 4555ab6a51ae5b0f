/**
 * The outcome of one file, as `run --json`, the progress display and the dashboard show it. The
 * field names are a contract (operators' scripts read them). One shape from the load to the report:
 * the topology fills it in as the file goes.
 */
export type FileStatus = 'loaded' | 'failed' | 'skipped' | 'interrupted';

export interface FileReport {
  path: string;
  status: FileStatus;
  reason?: string;
  sha256?: string;
  bytes: number;
  resumed: boolean;
  rows_loaded: number;
  rows_rejected: number;
  rows_inserted: number;
  rows_updated: number;
  rows_duplicate: number;
  rejects_by_reason: Record<string, number>;
  seconds: number;
  rows_per_second: number;
  warnings: string[];
  error?: { code: string; message: string; line?: number };
}

/**
 * A file that changed while it was read (an exporter still writing it): skipped, not failed, with
 * the code SOURCE_CHANGED; a later run loads it once it is complete.
 */
export function skipChanged(report: FileReport, why: string): void {
  report.status = 'skipped';
  report.reason = 'changed while loading';
  report.error = { code: 'SOURCE_CHANGED', message: `${report.path}: ${why}; nothing of it was loaded, a later run loads it once it is complete` };
  report.warnings.push(report.error.message);
}

/** A file not (yet) loaded: skipped until something says otherwise. */
export function newFileReport(path: string, bytes: number): FileReport {
  return {
    path,
    status: 'skipped',
    bytes,
    resumed: false,
    rows_loaded: 0,
    rows_rejected: 0,
    rows_inserted: 0,
    rows_updated: 0,
    rows_duplicate: 0,
    rejects_by_reason: {},
    seconds: 0,
    rows_per_second: 0,
    warnings: [],
  };
}
