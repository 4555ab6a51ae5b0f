/**
 * Dashboard security against a real database: no CORS without a token, DNS-rebinding protection
 * (Host check, --allow-host), validation of what arrives over LISTEN importer_progress, and 400 for
 * malformed ids.
 */
import http from 'node:http';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startDashboard, type Dashboard } from '../../src/dashboard/server.js';
import { silentLogger } from '../../src/observability/logger.js';
import { jobtypesDir, startCli, tempDir } from '../helpers/cli.js';
import { freePort } from '../helpers/wait.js';
import { createTestDatabase, type TestDatabase } from '../helpers/db.js';

const TOKEN = 'sec-token-456';
let db: TestDatabase;
let open: Dashboard;
let guarded: Dashboard;
let dir: string;

interface Answer {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: string;
}

/** One request with full control of the headers (fetch does not let a test set Host). */
function request(base: string, path: string, opts: { method?: string; headers?: Record<string, string>; streamMs?: number } = {}): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const u = new URL(path, base);
    const req = http.request({ host: u.hostname, port: u.port, path: u.pathname + u.search, method: opts.method ?? 'GET', headers: opts.headers ?? {} }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (d: string) => (body += d));
      const done = () => resolve({ status: res.statusCode!, headers: res.headers, body });
      res.on('end', done);
      if (opts.streamMs !== undefined) {
        setTimeout(() => {
          req.destroy();
          done();
        }, opts.streamMs);
      }
    });
    req.on('error', (err) => (opts.streamMs !== undefined ? undefined : reject(err)));
    req.end();
  });
}

beforeAll(async () => {
  db = await createTestDatabase('dashsec');
  dir = await jobtypesDir({ 'a.yaml': `source: { path: /nonexistent }\ntarget: { table: a }\ncolumns: [{ name: id, type: integer }]\n` });
  open = await startDashboard({ host: '127.0.0.1', port: 0, databaseUrl: db.url, jobtypesDir: dir, token: undefined, logger: silentLogger(), throttleMs: 0, allowedHosts: ['dash.example.com'] });
  guarded = await startDashboard({ host: '127.0.0.1', port: 0, databaseUrl: db.url, jobtypesDir: dir, token: TOKEN, logger: silentLogger() });
});
afterAll(async () => {
  await open?.stop();
  await guarded?.stop();
  await db?.drop();
});

describe('dashboard CORS', () => {
  it('sends no CORS header on any answer without a token', async () => {
    for (const p of ['/', '/api/jobtypes', '/api/runs', '/api/runs/1', '/api/files/1/rejects', '/api/nope', '/metrics']) {
      const r = await request(open.url, p);
      expect(r.status, p).toBeLessThan(500);
      expect(Object.keys(r.headers).filter((h) => h.startsWith('access-control-')), p).toEqual([]);
    }
    const pre = await request(open.url, '/api/runs', { method: 'OPTIONS', headers: { origin: 'https://evil.example', 'access-control-request-method': 'GET' } });
    expect(Object.keys(pre.headers).filter((h) => h.startsWith('access-control-'))).toEqual([]);
    const events = await request(open.url, '/api/events', { streamMs: 300 });
    expect(events.status).toBe(200);
    expect(events.headers['access-control-allow-origin']).toBeUndefined();
  });

  it('keeps Access-Control-Allow-Origin: * for bearer-token embedding when a token is set', async () => {
    const r = await request(guarded.url, '/api/runs', { headers: { authorization: `Bearer ${TOKEN}` } });
    expect(r.status).toBe(200);
    expect(r.headers['access-control-allow-origin']).toBe('*');
    const pre = await request(guarded.url, '/api/runs', { method: 'OPTIONS' });
    expect(pre.status).toBe(204);
    expect(pre.headers['access-control-allow-origin']).toBe('*');
  });
});

describe('dashboard Host check (DNS rebinding)', () => {
  it('refuses a Host that is neither localhost, the bound address nor allowed', async () => {
    const port = new URL(open.url).port;
    for (const host of ['evil.example', `evil.example:${port}`, 'localhost.evil.example', '127.0.0.1.nip.io', 'user@127.0.0.1']) {
      const r = await request(open.url, '/api/runs', { headers: { host } });
      expect(r.status, host).toBe(403);
      expect(r.body, host).not.toContain('runs');
    }
    const r = await request(guarded.url, '/', { headers: { host: 'evil.example', authorization: `Bearer ${TOKEN}` } });
    expect(r.status).toBe(403);
  });

  it('answers localhost names, the bound address and allowed names, with or without the port', async () => {
    const port = new URL(open.url).port;
    for (const host of ['localhost', `localhost:${port}`, '127.0.0.1', `127.0.0.1:${port}`, '[::1]', `[::1]:${port}`, 'LocalHost', 'dash.example.com', `dash.example.com:${port}`]) {
      const r = await request(open.url, '/api/runs', { headers: { host } });
      expect(r.status, host).toBe(200);
    }
  });

  it('serve takes --allow-host (repeatable) and IMPORTER_DASHBOARD_ALLOWED_HOSTS, and exits 143 on SIGTERM like run and schedule', async () => {
    const port = await freePort();
    const cli = startCli(['serve', '--port', String(port), '--jobtypes', dir, '--data-dir', await tempDir(), '--allow-host', 'one.example', '--allow-host', 'two.example:8080'], {
      env: { DATABASE_URL: db.url, IMPORTER_DASHBOARD_ALLOWED_HOSTS: 'three.example, four.example', IMPORTER_DASHBOARD_TOKEN: undefined },
    });
    const base = `http://127.0.0.1:${port}/`;
    const until = Date.now() + 30_000;
    while (Date.now() < until && !(await request(base, '/api/runs').then(() => true, () => false))) await new Promise((r) => setTimeout(r, 200));
    try {
      for (const host of ['one.example', 'two.example', 'three.example', `four.example:${port}`]) expect((await request(base, '/api/runs', { headers: { host } })).status, host).toBe(200);
      expect((await request(base, '/api/runs', { headers: { host: 'five.example' } })).status).toBe(403);
    } finally {
      cli.child.kill('SIGTERM');
    }
    const done = await cli.done;
    expect(done.code, done.stderr).toBe(143);
  });
});

describe('dashboard live progress validation', () => {
  const valid = {
    event: 'progress', run_id: 7, pid: 4242, job_type: 'orders', file: '/srv/drop/orders-1.csv', bytes_total: 1000, bytes_read: 500,
    rows: 10, rejected: 1, rows_per_second: 100, buffer_size: 1, buffer_capacity: 4, connections_in_use: 2, seconds: 0.5,
  };
  const forged: unknown[] = [
    'not json',
    '[1,2]',
    'null',
    { ...valid, job_type: '<script>alert(1)</script>' },
    { ...valid, job_type: 'x'.repeat(300) },
    { ...valid, job_type: 42 },
    { ...valid, file: 'a\u0007b' },
    { ...valid, file: 'f'.repeat(5000) },
    { ...valid, rows: -1 },
    { ...valid, rows: '10' },
    { ...valid, seconds: null },
    { ...valid, pid: 1.5 },
    { ...valid, event: 'boom' },
    { ...valid, status: '"><img src=x>' },
    '{"event":"progress","run_id":1,"pid":1,"job_type":"big","file":"/f","bytes_total":1e400,"bytes_read":0,"rows":0,"rejected":0,"rows_per_second":0,"buffer_size":0,"buffer_capacity":0,"connections_in_use":0,"seconds":0}',
  ];

  it('forwards only well-formed messages, without unknown fields, to browsers and /metrics', async () => {
    const notifier = new pg.Client({ connectionString: db.url });
    await notifier.connect();
    try {
      const stream = request(open.url, '/api/events', { streamMs: 1500 });
      await new Promise((r) => setTimeout(r, 300));
      for (const f of forged) await notifier.query(`SELECT pg_notify('importer_progress', $1)`, [typeof f === 'string' ? f : JSON.stringify(f)]);
      await notifier.query(`SELECT pg_notify('importer_progress', $1)`, [JSON.stringify({ ...valid, extra: '<b>x</b>' })]);
      const { body } = await stream;
      const messages = body.split('\n').filter((l) => l.startsWith('data: ')).map((l) => JSON.parse(l.slice(6)) as Record<string, unknown>);
      expect(messages).toEqual([valid]);
      const metrics = (await request(open.url, '/metrics')).body;
      expect(metrics).toContain('importer_buffer_depth{job_type="orders",file="/srv/drop/orders-1.csv"} 1');
      expect(metrics).not.toContain('<script>');
      expect(metrics).not.toContain('job_type="big"');
      expect(metrics).not.toContain('\u0007');
    } finally {
      await notifier.end();
    }
  });
});

describe('dashboard live feed', () => {
  it('LISTENs again after its connection is killed, and still validates what arrives', async () => {
    const admin = new pg.Client({ connectionString: db.url });
    await admin.connect();
    try {
      const killed = await admin.query(`SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = current_database() AND application_name = 'importer' AND query LIKE 'LISTEN%'`);
      expect(killed.rowCount).toBeGreaterThanOrEqual(1);
      const until = Date.now() + 15_000;
      let listening = 0;
      while (Date.now() < until && listening < killed.rowCount!) {
        await new Promise((r) => setTimeout(r, 200));
        listening = (await admin.query(`SELECT 1 FROM pg_stat_activity WHERE datname = current_database() AND application_name = 'importer' AND query LIKE 'LISTEN%'`)).rowCount!;
      }
      expect(listening).toBe(killed.rowCount);
      const stream = request(open.url, '/api/events', { streamMs: 1000 });
      await new Promise((r) => setTimeout(r, 300));
      const m = { event: 'start', run_id: 9, pid: 99, job_type: 'after.reconnect', file: '/x.csv', bytes_total: 1, bytes_read: 0, rows: 0, rejected: 0, rows_per_second: 0, buffer_size: 0, buffer_capacity: 4, connections_in_use: 1, seconds: 0 };
      await admin.query(`SELECT pg_notify('importer_progress', $1)`, [JSON.stringify({ ...m, job_type: '../etc' })]);
      await admin.query(`SELECT pg_notify('importer_progress', $1)`, [JSON.stringify(m)]);
      const { body } = await stream;
      const messages = body.split('\n').filter((l) => l.startsWith('data: ')).map((l) => JSON.parse(l.slice(6)) as { job_type: string });
      expect(messages.map((x) => x.job_type)).toContain('after.reconnect');
      expect(messages.map((x) => x.job_type)).not.toContain('../etc');
    } finally {
      await admin.end();
    }
  });
});

describe('dashboard ids', () => {
  it('answers 400 with a JSON error for a malformed id, 404 for an unknown one', async () => {
    for (const p of ['/api/runs/99999999999999999999', '/api/runs/abc', '/api/runs/-1', '/api/runs/0', '/api/runs/1.5', '/api/files/-1/rejects', '/api/files/abc/rejects', '/api/files/99999999999999999999/rejects']) {
      const r = await request(open.url, p);
      expect(r.status, p).toBe(400);
      expect(r.headers['content-type'], p).toMatch(/^application\/json/);
      expect(typeof (JSON.parse(r.body) as { error: unknown }).error, p).toBe('string');
    }
    expect((await request(open.url, '/api/runs/999999')).status).toBe(404);
    expect((await request(open.url, '/api/files/999999/rejects')).status).toBe(404);
  });
});
