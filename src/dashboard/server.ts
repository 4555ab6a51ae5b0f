/**
 * The dashboard: a read-only HTTP server with one page, a JSON API, server-sent events for live
 * progress, and Prometheus metrics. Live progress comes from importer processes through
 * LISTEN/NOTIFY (channel importer_progress); each file's updates are forwarded at most a few
 * times a second, so a fast import cannot flood browsers.
 *
 * With a token (IMPORTER_DASHBOARD_TOKEN), every request needs `Authorization: Bearer <token>` or
 * the cookie the login form sets; otherwise 401 and no data.
 */
import { timingSafeEqual, createHash } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import pg from 'pg';
import type { Logger } from 'pino';
import client from 'prom-client';
import { APPLICATION_NAME } from '../db/budget.js';
import { closePool } from '../db/closePool.js';
import { migrate } from '../db/migrate.js';
import { loadJobTypes } from '../jobtypes/load.js';
import { status } from '../cli/history.js';
import { PROGRESS_CHANNEL, type ProgressMessage } from '../observability/publish.js';
import { fileRejects, run, runs, totals } from './api.js';
import { loginPage, PAGE } from './page.js';

export interface DashboardOptions {
  readonly host: string;
  readonly port: number;
  readonly databaseUrl: string;
  readonly jobtypesDir: string;
  readonly token: string | undefined;
  readonly logger: Logger;
  /** Least time between two live updates of one file. @default 250 */
  readonly throttleMs?: number;
}

export interface Dashboard {
  readonly url: string;
  stop(): Promise<void>;
}

const COOKIE = 'importer_token';
const LOOPBACK = new Set(['127.0.0.1', 'localhost', '::1']);

function sameToken(given: string, token: string): boolean {
  const a = createHash('sha256').update(given).digest();
  const b = createHash('sha256').update(token).digest();
  return timingSafeEqual(a, b);
}

function cookies(req: http.IncomingMessage): Record<string, string> {
  const out: Record<string, string> = {};
  for (const part of (req.headers.cookie ?? '').split(';')) {
    const i = part.indexOf('=');
    if (i > 0) out[part.slice(0, i).trim()] = decodeURIComponent(part.slice(i + 1).trim());
  }
  return out;
}

function metricsRegistry(pool: pg.Pool) {
  const registry = new client.Registry();
  client.collectDefaultMetrics({ register: registry, prefix: 'importer_process_' });
  new client.Gauge({
    name: 'importer_rows_loaded_total',
    help: 'Rows loaded into target tables, by job type (from the ledger)',
    labelNames: ['job_type'],
    registers: [registry],
    async collect() {
      this.reset();
      for (const t of await totals(pool)) this.set({ job_type: t.job_type }, t.loaded);
    },
  });
  new client.Gauge({
    name: 'importer_rows_rejected_total',
    help: 'Rows rejected into importer.rejects, by job type (from the ledger)',
    labelNames: ['job_type'],
    registers: [registry],
    async collect() {
      this.reset();
      for (const t of await totals(pool)) this.set({ job_type: t.job_type }, t.rejected);
    },
  });
  const duration = new client.Histogram({
    name: 'importer_file_duration_seconds',
    help: 'Seconds per file load, observed live by this dashboard',
    labelNames: ['job_type', 'status'],
    buckets: [0.1, 0.5, 1, 5, 15, 60, 300, 1800],
    registers: [registry],
  });
  const bufferDepth = new client.Gauge({
    name: 'importer_buffer_depth',
    help: 'Batches waiting in the bounded buffer of each file being loaded',
    labelNames: ['job_type', 'file'],
    registers: [registry],
  });
  const bufferCapacity = new client.Gauge({
    name: 'importer_buffer_capacity',
    help: 'Capacity of the bounded buffer of each file being loaded',
    labelNames: ['job_type', 'file'],
    registers: [registry],
  });
  const connections = new client.Gauge({
    name: 'importer_connections_in_use',
    help: 'Database connections leased by each importer process',
    labelNames: ['pid'],
    registers: [registry],
  });
  const observe = (m: ProgressMessage) => {
    const labels = { job_type: m.job_type, file: m.file };
    connections.set({ pid: String(m.pid) }, m.connections_in_use);
    if (m.event === 'end') {
      duration.observe({ job_type: m.job_type, status: m.status ?? 'unknown' }, m.seconds);
      bufferDepth.remove(labels);
      bufferCapacity.remove(labels);
    } else {
      bufferDepth.set(labels, m.buffer_size);
      bufferCapacity.set(labels, m.buffer_capacity);
    }
  };
  return { registry, observe };
}

export async function startDashboard(opts: DashboardOptions): Promise<Dashboard> {
  const log = opts.logger;
  if (!opts.token && !LOOPBACK.has(opts.host)) {
    log.warn({ host: opts.host }, 'the dashboard listens beyond loopback without IMPORTER_DASHBOARD_TOKEN: anyone who can reach it can read it');
  }
  const pool = new pg.Pool({ connectionString: opts.databaseUrl, max: 2, application_name: APPLICATION_NAME });
  pool.on('error', (err) => log.warn({ err: err.message }, 'dashboard database connection closed'));
  const c = await pool.connect();
  try {
    await migrate(c);
  } finally {
    c.release();
  }
  const { registry, observe } = metricsRegistry(pool);
  const throttle = opts.throttleMs ?? 250;

  // Live progress: LISTEN, keep the latest message per file, forward throttled to SSE clients.
  const streams = new Set<http.ServerResponse>();
  const latest = new Map<string, ProgressMessage>();
  const lastSent = new Map<string, number>();
  const timers = new Map<string, NodeJS.Timeout>();
  const send = (key: string) => {
    const m = latest.get(key);
    if (!m) return;
    lastSent.set(key, Date.now());
    const data = `event: progress\ndata: ${JSON.stringify(m)}\n\n`;
    for (const s of streams) s.write(data);
    if (m.event === 'end') {
      latest.delete(key);
      lastSent.delete(key);
    }
  };
  const onProgress = (m: ProgressMessage) => {
    observe(m);
    const key = `${m.pid}\0${m.job_type}\0${m.file}`;
    latest.set(key, m);
    const wait = throttle - (Date.now() - (lastSent.get(key) ?? 0));
    if (m.event !== 'progress' || wait <= 0) {
      clearTimeout(timers.get(key));
      timers.delete(key);
      send(key);
    } else if (!timers.has(key)) {
      timers.set(
        key,
        setTimeout(() => {
          timers.delete(key);
          send(key);
        }, wait),
      );
    }
  };
  let listener: pg.Client | undefined;
  let stopping = false;
  const listen = async (): Promise<void> => {
    const l = new pg.Client({ connectionString: opts.databaseUrl, application_name: APPLICATION_NAME });
    l.on('notification', (n) => {
      try {
        onProgress(JSON.parse(n.payload ?? '{}') as ProgressMessage);
      } catch {
        /* not ours */
      }
    });
    l.on('error', (err) => {
      log.warn({ err: err.message }, 'dashboard LISTEN connection lost; reconnecting');
      listener = undefined;
      if (!stopping) setTimeout(() => void listen().catch(() => undefined), 1000);
    });
    await l.connect();
    await l.query(`LISTEN ${PROGRESS_CHANNEL}`);
    listener = l;
  };
  await listen();

  const authorized = (req: http.IncomingMessage): boolean => {
    if (!opts.token) return true;
    const auth = req.headers.authorization;
    if (auth?.startsWith('Bearer ') && sameToken(auth.slice(7), opts.token)) return true;
    const cookie = cookies(req)[COOKIE];
    return cookie !== undefined && sameToken(cookie, opts.token);
  };

  const json = (res: http.ServerResponse, code: number, body: unknown) => {
    res.writeHead(code, { 'content-type': 'application/json; charset=utf-8', 'access-control-allow-origin': '*', 'cache-control': 'no-store' });
    res.end(JSON.stringify(body));
  };

  const server = http.createServer((req, res) => {
    void (async () => {
      const url = new URL(req.url ?? '/', 'http://dashboard');
      const p = url.pathname;
      res.setHeader('x-content-type-options', 'nosniff');
      if (p === '/login' && req.method === 'POST') {
        let body = '';
        for await (const chunk of req) body += chunk;
        const given = new URLSearchParams(body).get('token') ?? '';
        if (opts.token && sameToken(given, opts.token)) {
          res.writeHead(303, { location: '/', 'set-cookie': `${COOKIE}=${encodeURIComponent(given)}; HttpOnly; SameSite=Strict; Path=/` });
          res.end();
        } else {
          res.writeHead(401, { 'content-type': 'text/html; charset=utf-8' });
          res.end(loginPage('That token is not right.'));
        }
        return;
      }
      if (req.method === 'OPTIONS' && p.startsWith('/api/')) {
        res.writeHead(204, { 'access-control-allow-origin': '*', 'access-control-allow-headers': 'authorization', 'access-control-allow-methods': 'GET' });
        res.end();
        return;
      }
      if (req.method !== 'GET') {
        res.writeHead(405, { allow: 'GET' });
        res.end();
        return;
      }
      if (!authorized(req)) {
        if (p === '/' || p === '/login') {
          res.writeHead(401, { 'content-type': 'text/html; charset=utf-8', 'www-authenticate': 'Bearer' });
          res.end(loginPage());
        } else if (p === '/metrics') {
          res.writeHead(401, { 'www-authenticate': 'Bearer', 'content-type': 'text/plain' });
          res.end('unauthorized\n');
        } else json(res, 401, { error: 'unauthorized' });
        return;
      }
      if (p === '/' || p === '/login') {
        res.writeHead(200, { 'content-type': 'text/html; charset=utf-8', 'content-security-policy': "default-src 'self'; script-src 'unsafe-inline'; style-src 'unsafe-inline'" });
        res.end(PAGE);
        return;
      }
      if (p === '/metrics') {
        res.writeHead(200, { 'content-type': registry.contentType });
        res.end(await registry.metrics());
        return;
      }
      if (p === '/api/events') {
        res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-store', connection: 'keep-alive', 'access-control-allow-origin': '*' });
        res.write(': connected\n\n');
        for (const m of latest.values()) res.write(`event: progress\ndata: ${JSON.stringify(m)}\n\n`);
        streams.add(res);
        req.on('close', () => streams.delete(res));
        return;
      }
      if (p === '/api/jobtypes') {
        const loaded = await loadJobTypes(opts.jobtypesDir);
        const st = await status(pool, loaded.valid);
        json(res, 200, {
          jobtypes: st,
          invalid: loaded.invalid.map((d) => ({ name: d.name, errors: d.problems.map((x) => `${x.path ? `${x.path}: ` : ''}${x.message}`) })),
        });
        return;
      }
      if (p === '/api/runs') {
        const limit = Math.min(1000, Math.max(1, Number(url.searchParams.get('limit') ?? 50) || 50));
        json(res, 200, { runs: await runs(pool, { jobType: url.searchParams.get('job_type') ?? undefined, limit }) });
        return;
      }
      let m = /^\/api\/runs\/(\d+)$/.exec(p);
      if (m) {
        const r = await run(pool, Number(m[1]));
        if (r) json(res, 200, r);
        else json(res, 404, { error: 'no such run' });
        return;
      }
      m = /^\/api\/files\/(\d+)\/rejects$/.exec(p);
      if (m) {
        const r = await fileRejects(pool, Number(m[1]));
        if (r) json(res, 200, r);
        else json(res, 404, { error: 'no such file' });
        return;
      }
      json(res, 404, { error: 'not found' });
    })().catch((err: unknown) => {
      log.error({ err: (err as Error).message }, 'dashboard request failed');
      if (!res.headersSent) json(res, 500, { error: 'internal error' });
      else res.end();
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port, opts.host, () => resolve());
  });
  const addr = server.address() as AddressInfo;
  const host = addr.family === 'IPv6' ? `[${addr.address}]` : addr.address;
  const url = `http://${host}:${addr.port}/`;
  log.info({ address: url, auth: opts.token ? 'token' : 'none' }, 'dashboard listening');
  return {
    url,
    async stop() {
      stopping = true;
      for (const t of timers.values()) clearTimeout(t);
      for (const s of streams) s.end();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await listener?.end().catch(() => undefined);
      await closePool(pool);
    },
  };
}
