/**
 * Dry run: parse and cast every row of a job type's files exactly as `run` would, report the header
 * check and the rejects it would make, and write nothing anywhere (a database only for the server
 * parser's check, in a transaction that is rolled back).
 */
import path from 'node:path';
import { stat } from 'node:fs/promises';
import type { Logger } from 'pino';
import { errorCode, errorMessage, ImporterError } from './errors.js';
import type { JobType } from './jobtypes/normalize.js';
import type { Batch, Reject } from './db/batch.js';
import { extraColumns } from './db/csvCopy.js';
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

/** COPYs one server-parsed batch where nothing stays (db/dryRun.ts); returns the rows the server refused. */
export interface DryServer {
  begin(jt: JobType): Promise<void>;
  extras(columns: readonly string[]): Promise<void>;
  copy(jt: JobType, batch: Batch): Promise<readonly Reject[]>;
  end(): Promise<void>;
}

/**
 * Validates the given files (or the job type's own) against its definition. Without a server, or
 * with the client parser, values are checked by the client parser; with a server and the server
 * parser, by PostgreSQL (in a transaction that is rolled back), and the lines where the two parsers
 * disagree are listed as warnings.
 */
export async function dryRun(jt: JobType, files: readonly string[], logger: Logger, maxRejectsShown = 1000, server?: DryServer): Promise<DryRunFile[]> {
  const sources: SourceFile[] = [];
  if (files.length === 0) sources.push(...(await discoverFiles(jt.source.dir, jt.source.pattern)));
  for (const f of files) {
    const abs = path.resolve(f);
    const st = await stat(abs).catch(() => undefined);
    if (!st?.isFile()) throw new ImporterError('SOURCE_NOT_FOUND', `${f}: no such file`, { file: abs });
    sources.push({ path: abs, relative: path.basename(abs), size: st.size, mtimeMs: st.mtimeMs, gzip: /\.gz$/i.test(abs) });
  }
  const serverParsed = jt.csv.parser === 'server';
  const clientJt: JobType = serverParsed ? { ...jt, csv: { ...jt.csv, parser: 'client' } } : jt;
  const out: DryRunFile[] = [];
  for (const file of sources) {
    const byClient = await checkFile(clientJt, file, logger, maxRejectsShown);
    if (!serverParsed) {
      out.push(byClient);
      continue;
    }
    if (!server) {
      byClient.warnings.push('checked with the client parser (no server named: set DATABASE_URL or --database-url to check with PostgreSQL, as `run` will); PostgreSQL may read some values more leniently (docs/casting.md)');
      out.push(byClient);
      continue;
    }
    await server.begin(jt);
    let byServer: DryRunFile;
    try {
      byServer = await checkFile(jt, file, logger, maxRejectsShown, server);
    } finally {
      await server.end();
    }
    byServer.warnings.push(...disagreements(byClient, byServer));
    out.push(byServer);
  }
  return out;
}

/** The lines one parser rejects and the other does not (from the rejects shown). */
function disagreements(byClient: DryRunFile, byServer: DryRunFile): string[] {
  const server = new Map(byServer.rejects.map((r) => [r.line, r]));
  const client = new Map(byClient.rejects.map((r) => [r.line, r]));
  const out: string[] = [];
  for (const [line, r] of client) if (!server.has(line)) out.push(`line ${line}: PostgreSQL takes a value the client parser rejects (${r.code}: ${r.message}); csv.parser: client would reject it`);
  for (const [line, r] of server) if (!client.has(line)) out.push(`line ${line}: PostgreSQL refuses a value the client parser takes (${r.code}: ${r.message})`);
  return out.slice(0, 20);
}

/** One file through the producer; with `server`, its batches are COPYed where nothing stays. */
async function checkFile(jt: JobType, file: SourceFile, logger: Logger, maxRejectsShown: number, server?: DryServer): Promise<DryRunFile> {
  const report: DryRunFile = { path: file.path, status: 'ok', rows: 0, would_load: 0, rejected: 0, rejects_by_reason: {}, warnings: [], rejects: [] };
  const metrics = new PipelineMetrics();
  let refusedCount = 0;
  const show = (rs: readonly Reject[]) => {
    if (report.rejects.length < maxRejectsShown) report.rejects.push(...rs.slice(0, maxRejectsShown - report.rejects.length));
  };
  try {
    ({ records: report.rows } = await produce({
      jobType: jt,
      file,
      committed: [],
      logger,
      signal: new AbortController().signal,
      metrics,
      rejectsByCode: report.rejects_by_reason,
      warnings: report.warnings,
      stopAtThreshold: false,
      prepareCsv: server ? (copy) => server.extras(extraColumns(copy)) : undefined,
      put: async (batch) => {
        const refused = server ? await server.copy(jt, batch) : [];
        refusedCount += refused.length;
        for (const r of refused) report.rejects_by_reason[r.code] = (report.rejects_by_reason[r.code] ?? 0) + 1;
        report.would_load += batch.rows - refused.length;
        show(decodeRejects(batch.rejects.data, maxRejectsShown - report.rejects.length));
        show(refused);
      },
    }));
    report.rejected = metrics.cast.rejected + refusedCount;
    report.rejects.sort((a, b) => a.line - b.line);
    if (thresholdExceeded(jt, report.rejected, report.rows)) report.status = 'over_threshold';
  } catch (err) {
    report.rejected = metrics.cast.rejected + refusedCount;
    report.status = errorCode(err) === 'REJECT_THRESHOLD' ? 'over_threshold' : 'failed';
    const line = err instanceof ImporterError && typeof err.context.line === 'number' ? err.context.line : undefined;
    report.error = { code: errorCode(err), message: errorMessage(err), ...(line ? { line } : {}) };
  }
  return report;
}
