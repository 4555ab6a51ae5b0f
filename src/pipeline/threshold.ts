/**
 * The reject threshold (errors.max_rejects), written once: the producer stops a file at the first
 * reject past a count threshold, finalize checks the whole file (a percentage needs the total), and
 * `importer validate` reports whether a file would fail.
 */
import type { Reject, RejectInfo } from '../db/batch.js';
import { decodeRejects, encodeReject } from '../db/copyText.js';
import { ImporterError } from '../errors.js';
import type { JobType } from '../jobtypes/normalize.js';
import type { PipelineMetrics } from '../observability/metrics.js';

/** Whether `rejected` of `total` records is more than the job type allows. */
export function thresholdExceeded(jt: JobType, rejected: number, total: number): boolean {
  const m = jt.maxRejects;
  if (m.kind === 'count') return rejected > m.value;
  return total > 0 && (rejected * 100) / total > m.value;
}

export function thresholdMessage(jt: JobType, file: string, rejected: number, total: number | undefined, byCode: Record<string, number>): string {
  const top = Object.entries(byCode)
    .sort((a, b) => b[1] - a[1])
    .slice(0, 3)
    .map(([code, n]) => `${code} ×${n}`)
    .join(', ');
  const of = total === undefined ? '' : ` of ${total} rows`;
  return `${file}: ${rejected} rejected rows${of} exceed errors.max_rejects ${jt.maxRejects.text}; nothing from this file was loaded. Top reasons: ${top || 'none'}`;
}

/** At most this many of a failed attempt's rejects are kept in the quarantine. */
const KEPT_REJECTS = 1000;

/**
 * Counts a file's rejects (stage metrics, rejects by reason) and, when `stop` is set, stops the
 * file at the first one past a count threshold, counting the rejects of committed ranges (a
 * resumed file) too. A percentage threshold needs the whole file: finalize decides it.
 */
export function rejectCounter(
  jt: JobType,
  file: string,
  opts: { readonly previous: number; readonly metrics: PipelineMetrics; readonly byCode: Record<string, number>; readonly stop: boolean },
): (r: RejectInfo, encoded: Uint8Array) => void {
  let total = opts.previous;
  // This attempt's rejects (bounded), carried by the error so that the quarantine keeps why the
  // file failed: the batch holding them is never committed.
  // Copies of their COPY lines (a few hundred bytes each), not views that would pin whole chunks.
  const seen: Buffer[] = [];
  return (r, encoded) => {
    total++;
    opts.metrics.cast.rejected++;
    opts.byCode[r.code] = (opts.byCode[r.code] ?? 0) + 1;
    if (seen.length < KEPT_REJECTS) seen.push(Buffer.from(encoded));
    if (opts.stop && jt.maxRejects.kind === 'count' && total > jt.maxRejects.value) {
      if (seen.length === KEPT_REJECTS) seen[seen.length - 1] = Buffer.from(encoded);
      throw new ImporterError('REJECT_THRESHOLD', thresholdMessage(jt, file, total, undefined, opts.byCode), { file, line: r.line, rejects: decodeRejects(seen) });
    }
  };
}

/** Rows the server refused in batches' COPYs, against the threshold. */
export interface RefusedRows {
  /** For one attempt at one batch: told of each refused row as it is found; throws past a count threshold. */
  attempt(): (r: Reject) => void;
  /** A committed batch's refused rows, counted like any reject. */
  count(rejects: readonly Reject[]): void;
}

/**
 * The consumers' side of the threshold for server-side parsing, whose bad rows are found by the
 * COPY: `check` stops a batch's attempt at the first refused row past a count threshold (before a
 * COPY per bad row adds up), `count` counts a committed batch's refused rows like any reject.
 */
export function refusedRows(
  jt: JobType,
  file: string,
  previous: number,
  metrics: PipelineMetrics,
  byCode: Record<string, number>,
  countReject: (r: RejectInfo, encoded: Uint8Array) => void,
): RefusedRows {
  return {
    attempt() {
      const inBatch: Reject[] = [];
      return (r) => {
        inBatch.push(r);
        const total = previous + metrics.cast.rejected + inBatch.length;
        if (jt.maxRejects.kind === 'count' && total > jt.maxRejects.value) {
          const codes = { ...byCode };
          for (const f of inBatch) codes[f.code] = (codes[f.code] ?? 0) + 1;
          throw new ImporterError('REJECT_THRESHOLD', thresholdMessage(jt, file, total, undefined, codes), { file, line: r.line, rejects: inBatch.slice(-KEPT_REJECTS) });
        }
      };
    },
    count(rejects) {
      for (const r of rejects) countReject({ code: r.code, line: r.line }, Buffer.from(encodeReject(r)));
    },
  };
}
