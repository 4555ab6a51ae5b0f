/**
 * A small file's load: parsed into memory (one batch at most), then loaded in one transaction
 * (db/smallFile.ts). Anything out of the ordinary goes back to the ordinary path (topology.ts),
 * which reads the file again: a second batch (the file is not small), a file that fails (bad CSV,
 * the reject threshold), a file that changed while read, rows the target refuses, progress of an
 * earlier attempt. That path then reports and records the file exactly as it always did; the cost
 * of reading a small file twice is paid only by files that do not load plainly.
 */
import type { Logger } from 'pino';
import type { Batch } from '../db/batch.js';
import type { ConnectionBudget } from '../db/budget.js';
import { withRetry } from '../db/retry.js';
import { commitSmallFile } from '../db/smallFile.js';
import type { JobType } from '../jobtypes/normalize.js';
import { PipelineMetrics } from '../observability/metrics.js';
import type { FileReport } from '../observability/report.js';
import type { SourceFile } from '../source/discover.js';
import type { Fingerprint } from '../source/fingerprint.js';
import { produce } from './producer.js';
import { thresholdExceeded } from './threshold.js';
import type { PipelineSettings } from './topology.js';

/**
 * Whether a file may try the one-transaction path: it fits in one batch's bytes, replace mode stages
 * every file for its swap, and strategies direct and batches have their own transactions (and
 * reject a repeated key, where this path, like staged, skips it).
 */
export function mayBeSmall(jt: JobType, file: SourceFile): boolean {
  return jt.target.mode !== 'replace' && jt.target.strategy === 'staged' && file.size <= jt.batch.bytes;
}

export interface SmallFileLoad {
  readonly jobType: JobType;
  readonly file: SourceFile;
  readonly fileId: number;
  readonly runId: number;
  readonly force: boolean;
  readonly claimed: Fingerprint;
  readonly budget: ConnectionBudget;
  readonly logger: Logger;
  readonly settings: PipelineSettings;
  readonly signal: AbortSignal;
  /** When the file started (performance.now()), for its seconds. */
  readonly started: number;
  readonly report: FileReport;
  /** Resolves when the file may commit: the previous file ended (job types where file order decides which row wins). */
  readonly turn: Promise<void>;
}

/**
 * 'loaded': the report says so and the run's record of the file is written (in the same commit);
 * 'skipped': loaded already, or by another instance (report.reason says which); 'ordinary': load it the ordinary way.
 */
export type SmallOutcome = { readonly kind: 'loaded' } | { readonly kind: 'skipped' } | { readonly kind: 'ordinary'; readonly why: string };

/** Thrown by `put` at a second batch: the file is not small. */
const NOT_SMALL = Symbol('not small');

interface Parsed {
  readonly batch: Batch | undefined;
  readonly records: number;
  readonly rejected: number;
  readonly rejectsByCode: Record<string, number>;
  readonly warnings: string[];
}

/** Parses the file into memory: its one batch, or why it must load the ordinary way. */
async function parseSmall(input: SmallFileLoad): Promise<Parsed | string> {
  const rejectsByCode: Record<string, number> = {};
  const warnings: string[] = [];
  let batch: Batch | undefined;
  let produced: Awaited<ReturnType<typeof produce>>;
  try {
    produced = await produce({
      jobType: input.jobType,
      file: input.file,
      committed: [],
      logger: input.logger,
      signal: input.signal,
      metrics: new PipelineMetrics(),
      rejectsByCode,
      warnings,
      put: async (b) => {
        if (batch) throw NOT_SMALL;
        batch = b;
      },
    });
  } catch (err) {
    return err === NOT_SMALL ? 'more than one batch' : 'the file does not load plainly';
  }
  const { records } = produced;
  const rejected = batch?.rejects.count ?? 0;
  if (thresholdExceeded(input.jobType, rejected, records)) return 'over the reject threshold';
  // The bytes parsed are the bytes hashed (the ledger's key): then what loads is that file, whatever
  // its modification time says since (the ordinary path's changedSince also looks at size and mtime).
  const read = produced.read;
  if (!read || read.sha256 !== input.claimed.sha256 || read.bytes !== input.claimed.bytes) return 'changed while read';
  return { batch, records, rejected, rejectsByCode, warnings };
}

export async function loadSmallFile(input: SmallFileLoad): Promise<SmallOutcome> {
  const { jobType: jt, file, report } = input;
  const parsed = await parseSmall(input);
  if (typeof parsed === 'string') return { kind: 'ordinary', why: parsed };
  const { batch, rejected } = parsed;
  await input.turn;
  if (batch) await input.settings.beforeCommit?.(batch);
  const seconds = () => (performance.now() - input.started) / 1000;
  const target = { jobType: jt, fileId: input.fileId, file: file.path, runId: input.runId };
  const result = await withRetry(
    `${file.path}: load in one transaction`,
    () =>
      input.budget.withClient((c) =>
        commitSmallFile(c, { target, size: file.size, sha256: input.claimed.sha256, force: input.force, batch, records: parsed.records, rejected, seconds }),
      ),
    input.settings.retry,
    input.logger,
  );
  if (result.status === 'ordinary') return { kind: 'ordinary', why: result.why };
  if (result.status === 'skip') {
    report.reason = result.loadedAs && result.loadedAs !== file.path ? `${result.reason} as ${result.loadedAs}` : result.reason;
    return { kind: 'skipped' };
  }
  const m = result.moved;
  Object.assign(report, {
    status: 'loaded',
    resumed: false,
    rows_loaded: m.inserted + m.updated,
    rows_inserted: m.inserted,
    rows_updated: m.updated,
    rows_duplicate: m.duplicates,
    rows_rejected: rejected,
    rejects_by_reason: parsed.rejectsByCode,
    warnings: parsed.warnings,
  });
  return { kind: 'loaded' };
}
