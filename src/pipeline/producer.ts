/**
 * The producer: file → bytes → header → record source (inline or parse threads) → batcher → `put`.
 * It reads the next chunk of the file only after the batches cut from the previous one found room
 * downstream: `put` is where demand arrives. Returns the number of data records in the file and
 * the fingerprint of the bytes read.
 * Throws an ImporterError (with `context.line`) when the file itself is unusable.
 */
import type { Logger } from 'pino';
import type { Batch, CsvCopy, RejectInfo } from '../db/batch.js';
import { resumePoint, type CommittedRange } from '../db/checkpoints.js';
import { ImporterError } from '../errors.js';
import type { JobType } from '../jobtypes/normalize.js';
import type { SourceFile } from '../source/discover.js';
import type { Fingerprint } from '../source/fingerprint.js';
import { faultFor } from '../util/faults.js';
import { Batcher } from './batcher.js';
import type { ProcessedChunk } from './chunk.js';
import { HeaderReader, type HeaderMapping, type HeaderRead } from './header.js';
import type { PipelineMetrics } from '../observability/metrics.js';
import type { ParsePool } from './parsePool.js';
import { poolSource, POOL_MIN_BYTES } from './poolSource.js';
import { piecesByParity } from './recordParser.js';
import { inlineSource, type RecordSource } from './recordSource.js';
import { SourceReader } from './reader.js';
import { serverSource } from './serverSource.js';
import { rejectCounter } from './threshold.js';

export interface ProduceInput {
  readonly jobType: JobType;
  readonly file: SourceFile;
  /** Record ranges already committed (resume): skipped, never batched again. */
  readonly committed: readonly CommittedRange[];
  readonly logger: Logger;
  readonly signal: AbortSignal;
  readonly metrics: PipelineMetrics;
  /** Filled in as rejects happen, so a caller sees them even when the file fails. */
  readonly rejectsByCode: Record<string, number>;
  readonly warnings: string[];
  /** Hands a batch downstream; resolves when there is room for it. */
  readonly put: (batch: Batch) => Promise<void>;
  readonly onProgress?: ((m: PipelineMetrics) => void) | undefined;
  /** Stop at the first reject past a count threshold (a load does; a dry run reads on). @default true */
  readonly stopAtThreshold?: boolean;
  /** The process's parse threads; large files parse there. */
  readonly parsePool?: ParsePool | undefined;
  /** Counts rejects and applies the threshold (shared with the consumers); made here when not given. */
  readonly countReject?: ((r: RejectInfo, encoded: Uint8Array) => void) | undefined;
  /** Server-side parsing: told how the file's rows are COPYed, before the first batch (staging's extra columns). */
  readonly prepareCsv?: ((copy: CsvCopy) => Promise<void>) | undefined;
}

/** How a server-parsed file's rows are COPYed: each field's column, by the header mapping. */
export function csvCopyFor(jt: JobType, mapping: HeaderMapping): CsvCopy {
  const columns: (string | null)[] = new Array<string | null>(mapping.width).fill(null);
  jt.columns.forEach((c, i) => {
    const f = mapping.indexes[i]!;
    if (f >= 0) columns[f] = c.name;
  });
  return {
    columns,
    prefixed: jt.target.strategy === 'staged',
    delimiter: jt.csv.delimiter,
    quote: jt.csv.quote,
    escape: jt.csv.escape,
    forceNull: jt.columns.filter((c, i) => c.type !== 'text' && mapping.indexes[i]! >= 0).map((c) => c.name),
    timezone: jt.timezone,
  };
}

/** Parse threads pay for themselves on large files, and need quote parity to cut pieces (piecesByParity). */
function usesPool(input: ProduceInput): input is ProduceInput & { parsePool: ParsePool } {
  const { jobType: jt, file, parsePool } = input;
  const fault = faultFor(jt.name);
  return (
    parsePool !== undefined &&
    parsePool.size > 0 &&
    file.size >= (file.gzip ? POOL_MIN_BYTES / 4 : POOL_MIN_BYTES) &&
    piecesByParity(jt) &&
    (fault === undefined || fault.kind === 'thread-exit')
  );
}

export interface Produced {
  /** Data records in the file (committed ones included). */
  readonly records: number;
  /** The bytes read from disk, when the whole file was read: how many, and their sha256. */
  readonly read: Fingerprint | undefined;
}

export async function produce(input: ProduceInput): Promise<Produced> {
  const { jobType: jt, file, metrics } = input;
  const reader = new SourceReader(file, jt.csv.encoding);
  const header = new HeaderReader(jt, file.path);
  const countReject = input.countReject ?? rejectCounter(jt, file.path, {
    previous: input.committed.reduce((s, c) => s + c.rejects, 0),
    metrics,
    byCode: input.rejectsByCode,
    stop: input.stopAtThreshold !== false,
  });
  const resume = resumePoint(input.committed);
  const fault = faultFor(jt.name);
  const throwAt = fault?.kind === 'throw-on-record' ? fault.record - 1 : -1;
  let batcher: Batcher | undefined;
  let records: RecordSource | undefined;

  const put = async (batches: Batch[]) => {
    for (const b of batches) await input.put(b);
  };
  const take = async (chunk: ProcessedChunk) => {
    const b = batcher!;
    if (throwAt >= b.records && throwAt < b.records + chunk.records) {
      throw new Error(`injected fault: processing threw on record ${throwAt + 1} (IMPORTER_FAULT)`);
    }
    await put(b.add(chunk));
    const e = chunk.error;
    if (e) throw new ImporterError(e.code, `${file.path}: ${e.message}`, { file: file.path, ...(e.line ? { line: e.line } : {}) });
  };
  /** The header is read: start the record source, past the committed part of a resumed file. */
  const begin = async (h: HeaderRead, at: number) => {
    for (const w of h.mapping.warnings) noteWarning(input, w);
    let start = { line: h.line, offset: h.offset };
    let rest = h.rest;
    if (resume && resume.offset > h.offset) {
      const r = await reader.resumeAt(resume.offset, at, rest);
      rest = r.rest;
      start = { line: resume.line, offset: resume.offset };
      Object.assign(metrics.resume, { record: resume.record, offset: resume.offset, seek: r.seek });
      input.logger.info({ file: file.path, record: resume.record, offset: resume.offset, seek: r.seek }, 'resuming past the committed records');
    }
    const csv = jt.csv.parser === 'server' ? csvCopyFor(jt, h.mapping) : undefined;
    if (csv) await input.prepareCsv?.(csv);
    batcher = new Batcher(jt.batch.rows, jt.batch.bytes, input.committed, resume && resume.offset > h.offset ? resume.record : 0, countReject, metrics, csv);
    records = recordSourceFor(input, h.mapping, start, csv);
    if (rest.length > 0) await records.push(rest, take);
  };

  try {
    const byPosition = header.byPosition;
    if (byPosition) await begin(byPosition, 0);
    let decoded = 0;
    for (;;) {
      if (input.signal.aborted) throw new ImporterError('INTERRUPTED', `${file.path}: interrupted by shutdown`, { file: file.path });
      const flushMs = batcher && batcher.pending > 0 ? jt.batch.flushMs : undefined;
      const r = await reader.next(flushMs, () => put(cutOne(batcher!)));
      if (r.done) break;
      metrics.bytesRead = reader.bytesRead;
      decoded += r.value.length;
      if (records) await records.push(r.value, take);
      else {
        const h = header.push(r.value);
        if (h) await begin(h, decoded);
      }
      input.onProgress?.(metrics);
    }
    if (!records) {
      if (!header.end()) input.warnings.push('the file is empty (no header)');
      return { records: 0, read: reader.fingerprint() };
    }
    await records.end(take);
    await put(cutOne(batcher!));
    metrics.bytesRead = reader.bytesRead;
    return { records: batcher!.records, read: reader.fingerprint() };
  } finally {
    reader.close();
    records?.close();
  }
}

function noteWarning(input: ProduceInput, w: string): void {
  input.warnings.push(w);
  input.logger.warn({ jobType: input.jobType.name, file: input.file.path }, w);
}

/** The record source of a file: server-side parsing (`csv` set), the parse threads, or inline. */
function recordSourceFor(input: ProduceInput, mapping: HeaderMapping, start: { line: number; offset: number }, csv: CsvCopy | undefined): RecordSource {
  if (csv) return serverSource(input.jobType, mapping, start, csv.prefixed);
  if (usesPool(input)) return poolSource(input.parsePool, input.jobType, mapping, start, input.metrics);
  return inlineSource(input.jobType, mapping, start);
}

function cutOne(batcher: Batcher): Batch[] {
  const b = batcher.cut();
  return b ? [b] : [];
}
