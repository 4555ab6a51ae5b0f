/**
 * The record source that parses in the process's parse threads (parsePool.ts): bytes are cut into
 * pieces on record boundaries (source/split.ts) and sent to the pool; results come back in any
 * order and are handed on in file order. Demand is kept: at most `2 × pool size` pieces of a file
 * are outstanding (in a thread, or answered and waiting for their turn), and a piece counts until
 * `take` found room for it downstream.
 */
import type { JobType } from '../jobtypes/normalize.js';
import { PieceSplitter, type Piece } from '../source/split.js';
import type { HeaderMapping } from './header.js';
import type { PipelineMetrics } from '../observability/metrics.js';
import type { PieceResult } from './parseProtocol.js';
import type { ParsePool } from './parsePool.js';
import { inlineSource, type RecordSource, type TakeChunk } from './recordSource.js';

/** Bytes per piece handed to a parse thread (512 KiB measured as fast as 1 MiB, with ~10 MB less peak RSS). */
export const PIECE_BYTES = 512 * 1024;

/** Files large enough to pay for threads (a gzip file inflates, so a quarter of that). */
export const POOL_MIN_BYTES = 4 * 1024 * 1024;

export function poolSource(
  pool: ParsePool,
  jt: JobType,
  mapping: HeaderMapping,
  start: { line: number; offset: number },
  metrics: PipelineMetrics,
): RecordSource {
  const threads = pool.size;
  const splitter = new PieceSplitter(jt.csv.quote, PIECE_BYTES, start, jt.csv.delimiter);
  /**
   * Once the splitter meets a quote RFC 4180 does not allow, quote parity cannot cut pieces where the
   * parser ends records (a broken record ends where csv-parse's lenient reading ends it, parse.ts):
   * the rest of the file parses here, in order, as without threads, from the last cut.
   */
  let inline: RecordSource | undefined;
  const context = pool.open(jt, mapping);
  const answered = new Map<number, PieceResult>();
  const waiters = new Map<number, () => void>();
  let workerError: unknown;
  let next = 0;
  let outstanding = 0;
  metrics.parse.threads = threads;

  const dispatch = (p: Piece) => {
    outstanding++;
    metrics.parse.pieces++;
    context.parse(p).then(
      (r) => {
        answered.set(r.seq, r);
        waiters.get(r.seq)?.();
      },
      (err: unknown) => {
        workerError = err;
        for (const wake of waiters.values()) wake();
      },
    );
  };
  /** Hands on the next result in file order, waiting for it. */
  const drainOne = async (take: TakeChunk) => {
    const seq = next;
    if (workerError) throw workerError;
    if (!answered.has(seq)) {
      const started = performance.now();
      await new Promise<void>((resolve) => waiters.set(seq, resolve));
      metrics.parse.waitMs += performance.now() - started;
    }
    waiters.delete(seq);
    if (workerError) throw workerError;
    const r = answered.get(seq)!;
    answered.delete(seq);
    next++;
    await take(r);
    outstanding--;
  };

  return {
    async push(bytes, take) {
      if (inline) return inline.push(bytes, take);
      for (const p of splitter.push(bytes)) {
        dispatch(p);
        while (outstanding >= threads * 2 || answered.has(next)) await drainOne(take);
      }
      if (splitter.dirty) {
        while (outstanding > 0) await drainOne(take);
        const rest = splitter.rest();
        inline = inlineSource(jt, mapping, { line: rest.line, offset: rest.offset });
        await inline.push(rest.buf, take);
      }
    },
    async end(take) {
      if (inline) return inline.end(take);
      const last = splitter.end();
      if (last) dispatch(last);
      while (outstanding > 0) await drainOne(take);
    },
    // Pieces still in flight (after an error) finish in the pool and are dropped with the context.
    close: () => context.close(),
  };
}
