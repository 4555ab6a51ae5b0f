/**
 * The connection budget: the one limit on connections for the whole process. Every connection,
 * for COPY, ledger, rejects or locks, is a lease from here; at most `max` exist at once.
 * A p-queue limiter hands out leases in FIFO order and makes the waiting visible.
 */
import type pg from 'pg';
import PQueue from 'p-queue';
import type { Logger } from 'pino';
import { closePool } from './closePool.js';
import { openPool } from './pool.js';

export { APPLICATION_NAME } from './pool.js';

export interface BudgetOptions {
  readonly connectionString: string;
  /** Connections allowed at once. */
  readonly max: number;
  readonly logger: Logger;
}

export interface Lease {
  readonly client: pg.PoolClient;
  /** Returns the connection; pass an error to discard a broken one instead of reusing it. */
  release(err?: Error): void;
}

export class ConnectionBudget {
  readonly max: number;
  readonly pool: pg.Pool;
  private readonly queue: PQueue;
  private readonly logger: Logger;
  private leased = 0;
  /** Most connections ever leased at once. */
  peak = 0;

  constructor(opts: BudgetOptions) {
    if (!Number.isInteger(opts.max) || opts.max < 1) {
      throw new TypeError(`Expected max connections to be an integer from 1 upwards, got ${String(opts.max)}`);
    }
    this.max = opts.max;
    this.logger = opts.logger;
    this.pool = openPool(opts.connectionString, {
      max: opts.max,
      // Values without an offset are read in UTC unless a job type names a time zone.
      settings: 'utc',
      idleTimeoutMillis: 10_000,
      connectionTimeoutMillis: 30_000,
      // An idle connection that the server drops (restart, admin kill) must not crash the process.
      onIdleError: (err) => this.logger.warn({ err: err.message }, 'an idle database connection was closed'),
    });
    this.queue = new PQueue({ concurrency: opts.max });
  }

  /** Connections leased right now. */
  get inUse(): number {
    return this.leased;
  }

  /** Callers waiting for a connection. */
  get waiting(): number {
    return this.queue.size;
  }

  /** Leases a connection until `release` is called. */
  lease(): Promise<Lease> {
    return new Promise<Lease>((resolveLease, rejectLease) => {
      void this.queue.add(
        () =>
          new Promise<void>((done) => {
            this.pool.connect().then(
              (client) => {
                this.leased++;
                if (this.leased > this.peak) this.peak = this.leased;
                let released = false;
                // A leased connection that drops (server restart) emits 'error'; the query in flight
                // fails and is retried, so the event itself only needs to be observed.
                let broken: Error | undefined;
                const onError = (err: Error) => {
                  broken = err;
                  this.logger.debug({ err: err.message }, 'a leased database connection failed');
                };
                client.on('error', onError);
                resolveLease({
                  client,
                  release: (err?: Error) => {
                    if (released) return;
                    released = true;
                    this.leased--;
                    client.off('error', onError);
                    client.release(err ?? broken ?? false);
                    done();
                  },
                });
              },
              (err: unknown) => {
                done();
                rejectLease(err);
              },
            );
          }),
      );
    });
  }

  /** Runs `fn` with a leased connection; a failing connection is discarded, not reused. */
  async withClient<T>(fn: (client: pg.PoolClient) => Promise<T>): Promise<T> {
    const lease = await this.lease();
    try {
      const result = await fn(lease.client);
      lease.release();
      return result;
    } catch (err) {
      lease.release(isConnectionBroken(err) ? (err as Error) : undefined);
      throw err;
    }
  }

  async end(): Promise<void> {
    await this.queue.onIdle();
    await closePool(this.pool);
  }
}

/** A connection that saw one of these errors is not reused. */
export function isConnectionBroken(err: unknown): boolean {
  const code = (err as { code?: unknown })?.code;
  if (typeof code === 'string') {
    return code.startsWith('08') || code.startsWith('57P') || ['ECONNRESET', 'ECONNREFUSED', 'EPIPE', 'ETIMEDOUT'].includes(code);
  }
  return err instanceof Error && /Connection terminated|not queryable|Connection ended/i.test(err.message);
}
