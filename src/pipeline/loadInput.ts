/** What loading one file takes: the pipeline's settings, and the claimed file with its context. */
import type { Logger } from 'pino';
import type { Batch } from '../db/batch.js';
import type { ConnectionBudget } from '../db/budget.js';
import type { CommittedRange } from '../db/checkpoints.js';
import type { Ledger } from '../db/ledger.js';
import type { RetryPolicy } from '../db/retry.js';
import type { JobType } from '../jobtypes/normalize.js';
import type { PipelineMetrics } from '../observability/metrics.js';
import type { FileReport } from '../observability/report.js';
import type { SourceFile } from '../source/discover.js';
import type { Fingerprint } from '../source/fingerprint.js';
import type { ParsePool } from './parsePool.js';

export interface PipelineSettings {
  readonly retry: RetryPolicy;
  /** The process's parse threads, shared by all files; without one (or with size 0) files parse in the main thread. */
  readonly parsePool?: ParsePool | undefined;
  /** Test hook: called by each consumer before it commits a batch. */
  readonly beforeCommit?: ((batch: Batch) => Promise<void>) | undefined;
}

export interface LoadFileInput {
  readonly jobType: JobType;
  readonly file: SourceFile;
  readonly fileId: number;
  readonly runId: number;
  readonly committed: readonly CommittedRange[];
  /** What the file was when it was claimed: a file that changes while it loads is not loaded. */
  readonly claimed: Fingerprint;
  readonly budget: ConnectionBudget;
  readonly ledger: Ledger;
  readonly logger: Logger;
  readonly settings: PipelineSettings;
  readonly signal: AbortSignal;
  /** Filled in as the file goes. */
  readonly report: FileReport;
  readonly onProgress?: ((m: PipelineMetrics) => void) | undefined;
  /** Loads of this file in this call that found their staged rows lost and started again. */
  readonly reloads?: number | undefined;
}
