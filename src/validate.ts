/**
 * Dry run: parse and cast every row of a job type's files exactly as `run` would, report the header
 * check and the rejects it would make, and write nothing anywhere (no database needed).
 */
import path from 'node:path';
import { stat } from 'node:fs/promises';
import type { Logger } from 'pino';
import { errorCode, errorMessage, ImporterError } from './errors.js';
import type { JobType } from './jobtypes/normalize.js';
import type { Reject } from './db/batch.js';
import { decodeRejects } from './db/copyText.js';
import { PipelineMetrics } from './observability/metrics.js';
import { produce } from './pipeline/producer.js';
import { thresholdExceeded } from './pipeline/threshold.js';
import { discoverFiles, type SourceFile } from './source/discover.js';

export interface DryRunFile {
  path: string;
  status: 'ok' | 'over_threshold' | 'failed';
  rows: number;
  would_load: number;
  rejected: number;
  rejects_by_reason: Record<string, number>;
  warnings: string[];
  rejects: Reject[];
  error?: { code: string; message: string; line?: number };
}

/** Validates the given files (or the job type's own) against its definition. */
export async function dryRun(jt: JobType, files: readonly string[], logger: Logger, maxRejectsShown = 1000): Promise<DryRunFile[]> {
  const sources: SourceFile[] = [];
  if (files.length === 0) sources.push(...(await discoverFiles(jt.source.dir, jt.source.pattern)));
  for (const f of files) {
    const abs = path.resolve(f);
    const st = await stat(abs).catch(() => undefined);
    if (!st?.isFile()) throw new ImporterError('SOURCE_NOT_FOUND', `${f}: no such file`, { file: abs });
    sources.push({ path: abs, relative: path.basename(abs), size: st.size, mtimeMs: st.mtimeMs, gzip: /\.gz$/i.test(abs) });
  }
  // No database here: the client parser checks the values, under its own (stricter) rules.
  const serverParsed = jt.csv.parser === 'server';
  const clientJt: JobType = serverParsed ? { ...jt, csv: { ...jt.csv, parser: 'client' } } : jt;
  const out: DryRunFile[] = [];
  for (const file of sources) {
    const report: DryRunFile = { path: file.path, status: 'ok', rows: 0, would_load: 0, rejected: 0, rejects_by_reason: {}, warnings: [], rejects: [] };
    if (serverParsed) {
      report.warnings.push('checked with the client parser (validate needs no database); `run` lets PostgreSQL parse these values, which it may read more leniently (docs/casting.md)');
    }
    const metrics = new PipelineMetrics();
    try {
      ({ records: report.rows } = await produce({
        jobType: clientJt,
        file,
        committed: [],
        logger,
        signal: new AbortController().signal,
        metrics,
        rejectsByCode: report.rejects_by_reason,
        warnings: report.warnings,
        stopAtThreshold: false,
        put: async (batch) => {
          report.would_load += batch.rows;
          if (report.rejects.length < maxRejectsShown) report.rejects.push(...decodeRejects(batch.rejects.data, maxRejectsShown - report.rejects.length));
        },
      }));
      report.rejected = metrics.cast.rejected;
      if (thresholdExceeded(jt, report.rejected, report.rows)) report.status = 'over_threshold';
    } catch (err) {
      report.rejected = metrics.cast.rejected;
      report.status = errorCode(err) === 'REJECT_THRESHOLD' ? 'over_threshold' : 'failed';
      const line = err instanceof ImporterError && typeof err.context.line === 'number' ? err.context.line : undefined;
      report.error = { code: errorCode(err), message: errorMessage(err), ...(line ? { line } : {}) };
    }
    out.push(report);
  }
  return out;
}
