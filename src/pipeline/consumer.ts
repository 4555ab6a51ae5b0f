/**
 * The consumers: each takes batches from the bounded buffer and commits them, one transaction per
 * batch (rows + rejects + checkpoint, db/copy.ts), retrying transient database errors. A consumer
 * that fails fails the buffer, which stops the producer and the other consumers.
 */
import type { Logger } from 'pino';
import type { Batch } from '../db/batch.js';
import type { RefusedRows } from './threshold.js';
import type { ConnectionBudget } from '../db/budget.js';
import { commitBatch, type BatchTarget } from '../db/copy.js';
import { withRetry, type RetryPolicy } from '../db/retry.js';
import type { BoundedBuffer } from './buffer.js';
import type { PipelineMetrics } from '../observability/metrics.js';

export interface ConsumerContext {
  readonly budget: ConnectionBudget;
  readonly target: BatchTarget;
  readonly retry: RetryPolicy;
  readonly logger: Logger;
  readonly metrics: PipelineMetrics;
  /** Test hook: called before each commit. */
  readonly beforeCommit?: ((batch: Batch) => Promise<void>) | undefined;
  readonly onCommitted?: (() => void) | undefined;
  /** The rows a batch's COPY refused, against the threshold (threshold.ts). */
  readonly refused?: RefusedRows | undefined;
}

/**
 * Starts `count` consumers. The promise resolves once all of them ended: with the first error, or
 * undefined. It never rejects: a consumer's error must not become an unhandled rejection while the
 * producer is still reading (that took the whole process down on a full disk).
 */
export function startConsumers(count: number, buffer: BoundedBuffer<Batch>, ctx: ConsumerContext): Promise<unknown> {
  const consume = async (): Promise<void> => {
    const { metrics } = ctx;
    for (let batch = await buffer.take(); batch; batch = await buffer.take()) {
      metrics.consumers.in++;
      const b = batch;
      await ctx.beforeCommit?.(b);
      const started = performance.now();
      const { refused } = await withRetry(
        `${ctx.target.file}: batch at line ${b.lastLine}`,
        async (attempt) => {
          if (attempt > 0) metrics.consumers.retries++;
          const onRefused = ctx.refused?.attempt();
          return ctx.budget.withClient((c) => commitBatch(c, ctx.target, b, onRefused));
        },
        ctx.retry,
        ctx.logger,
      );
      if (refused.length > 0) ctx.refused?.count(refused);
      metrics.consumers.copyMs += performance.now() - started;
      metrics.consumers.out++;
      metrics.consumers.rowsCommitted += b.rows - refused.length;
      ctx.onCommitted?.();
    }
  };
  const consumers = Array.from({ length: count }, () =>
    consume().catch((err: unknown) => {
      buffer.fail(err);
      throw err;
    }),
  );
  return Promise.allSettled(consumers).then((all) => all.find((r): r is PromiseRejectedResult => r.status === 'rejected')?.reason);
}
