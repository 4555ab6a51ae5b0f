/**
 * The dashboard: an HTTP server with one page, a JSON API, server-sent events for live progress,
 * Prometheus metrics, and one action (run a job type now: actions.ts, POST with a bearer token). This module wires the parts: the read model's pool
 * (src/db/read/), routing (routes.ts: Host check, auth, CORS), live updates (listen.ts: LISTEN with
 * reconnect; sse.ts: throttled streams) and metrics (metrics.ts).
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Logger } from 'pino';
import { closePool } from '../db/closePool.js';
import { migratePool } from '../db/migrate.js';
import { openPool } from '../db/pool.js';
import { createActions } from './actions.js';
import { hostCheck } from './hosts.js';
import { listenProgress } from './listen.js';
import { createMetrics } from './metrics.js';
import { route } from './routes.js';
import { createLiveUpdates } from './sse.js';

export interface DashboardOptions {
  readonly host: string;
  readonly port: number;
  readonly databaseUrl: string;
  readonly jobtypesDir: string;
  readonly token: string | undefined;
  readonly logger: Logger;
  /** Host names (besides localhost and the bound address) that requests may name. @default [] */
  readonly allowedHosts?: readonly string[];
  /** Least time between two live updates of one file. @default 250 */
  readonly throttleMs?: number;
  /** Where runs started from the dashboard keep an embedded server's data (their --data-dir). @default '.importer' */
  readonly dataDir?: string;
}

export interface Dashboard {
  readonly url: string;
  stop(): Promise<void>;
}

const LOOPBACK = new Set(['127.0.0.1', 'localhost', '::1']);

function listen(server: http.Server, port: number, host: string): Promise<string> {
  return new Promise<string>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      const addr = server.address() as AddressInfo;
      resolve(`http://${addr.family === 'IPv6' ? `[${addr.address}]` : addr.address}:${addr.port}/`);
    });
  });
}

export async function startDashboard(opts: DashboardOptions): Promise<Dashboard> {
  const log = opts.logger;
  if (!opts.token && !LOOPBACK.has(opts.host)) {
    log.warn({ host: opts.host }, 'the dashboard listens beyond loopback without IMPORTER_DASHBOARD_TOKEN: anyone who can reach it can read it');
  }
  const pool = openPool(opts.databaseUrl, { max: 2, settings: 'utc', onIdleError: (err) => log.warn({ err: err.message }, 'dashboard database connection closed') });
  await migratePool(pool);
  const metrics = createMetrics(pool);
  const live = createLiveUpdates(opts.throttleMs ?? 250);
  const listener = await listenProgress(opts.databaseUrl, log, (m) => {
    metrics.observe(m);
    live.publish(m);
  });
  const actions = createActions({ jobtypesDir: opts.jobtypesDir, databaseUrl: opts.databaseUrl, dataDir: opts.dataDir ?? '.importer', logger: log });
  const ctx = { db: pool, jobtypesDir: opts.jobtypesDir, token: opts.token, hostAllowed: hostCheck(opts.host, opts.allowedHosts ?? []), metrics, live, actions };
  const server = http.createServer((req, res) => {
    route(ctx, req, res).catch((err: unknown) => {
      log.error({ err: (err as Error).message }, 'dashboard request failed');
      if (res.headersSent) res.end();
      else {
        res.writeHead(500, { 'content-type': 'application/json; charset=utf-8', 'cache-control': 'no-store' });
        res.end(JSON.stringify({ error: 'internal error' }));
      }
    });
  });
  const url = await listen(server, opts.port, opts.host).catch(async (err: unknown) => {
    await listener.stop();
    await closePool(pool);
    throw err;
  });
  log.info({ address: url, auth: opts.token ? 'token' : 'none' }, 'dashboard listening');
  return {
    url,
    async stop() {
      live.stop();
      await actions.stop();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await listener.stop();
      await closePool(pool);
    },
  };
}
