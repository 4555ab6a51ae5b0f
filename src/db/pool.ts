/**
 * The one way this process opens connections to PostgreSQL: every pool and every single client
 * carries `application_name = 'importer'` (what operators and the tests find in pg_stat_activity)
 * and one of two session settings:
 *
 * - `utc`: TimeZone UTC and ISO dates. The connection budget (values without an offset are read in
 *   UTC unless a job type names a zone) and the read model (status, history, rejects, dashboard:
 *   timestamps come back in one zone whatever the server's default) use it.
 * - `server`: the server's own settings, for what an operator types (`importer sql`).
 */
import pg from 'pg';

export const APPLICATION_NAME = 'importer';

export type SessionSettings = 'utc' | 'server';

const UTC_OPTIONS = '-c TimeZone=UTC -c DateStyle=ISO,YMD';

export function connectionConfig(url: string, settings: SessionSettings): pg.ClientConfig {
  return {
    connectionString: url,
    application_name: APPLICATION_NAME,
    ...(settings === 'utc' ? { options: UTC_OPTIONS } : {}),
  };
}

/** One client, not yet connected. */
export function openClient(url: string, settings: SessionSettings): pg.Client {
  return new pg.Client(connectionConfig(url, settings));
}

export interface PoolOptions {
  /** Connections at most. */
  readonly max: number;
  readonly settings: SessionSettings;
  /**
   * Called when the server drops an idle connection (restart, admin kill). Required: without a
   * listener the pool's 'error' event is an uncaught exception.
   */
  readonly onIdleError: (err: Error) => void;
  /** @default pg's 10000 */
  readonly idleTimeoutMillis?: number;
  /** @default pg's 0 (wait for ever) */
  readonly connectionTimeoutMillis?: number;
}

/** A pool; end it with `closePool` (db/closePool.ts). */
export function openPool(url: string, opts: PoolOptions): pg.Pool {
  const pool = new pg.Pool({
    ...connectionConfig(url, opts.settings),
    max: opts.max,
    ...(opts.idleTimeoutMillis !== undefined ? { idleTimeoutMillis: opts.idleTimeoutMillis } : {}),
    ...(opts.connectionTimeoutMillis !== undefined ? { connectionTimeoutMillis: opts.connectionTimeoutMillis } : {}),
  });
  pool.on('error', opts.onIdleError);
  return pool;
}
