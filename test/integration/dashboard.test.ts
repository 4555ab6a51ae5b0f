/**
 * The dashboard against a real database while an import runs: token auth, the JSON API, metrics,
 * escaping, and a real browser (Debian's chromium through playwright-core) watching live progress.
 */
import { existsSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generatedJobType, writeGeneratedCsv } from '../../bench/generate.js';
import { startDashboard, type Dashboard } from '../../src/dashboard/server.js';
import { silentLogger } from '../../src/observability/logger.js';
import { ROOT, jobtypesDir, runCli, startCli, tempDir } from '../helpers/cli.js';
import { createTestDatabase, type TestDatabase } from '../helpers/db.js';

const TOKEN = 'test-token-123';
const CHROMIUM = '/usr/bin/chromium';
let db: TestDatabase;
let dashboard: Dashboard;
let dir: string;
let dataDir: string;
let bigSrc: string;

beforeAll(async () => {
  db = await createTestDatabase('dash');
  dataDir = await tempDir();
  const xss = await tempDir('importer-xss-');
  await writeFile(path.join(xss, 'x.csv'), 'id,name\n1,ok\nnot-a-number,<script>window.__xss = 1</script>\n');
  bigSrc = await tempDir('importer-dash-big-');
  await writeGeneratedCsv(path.join(bigSrc, 'big.csv'), 150_000);
  dir = await jobtypesDir({
    'xss.yaml': `source: { path: ${JSON.stringify(xss)} }\ntarget: { table: xss }\ncolumns: [{ name: id, type: integer }, { name: name, type: text }]\nerrors: { max_rejects: 5 }\nschedule: "0 3 * * *"\n`,
    'big.yaml': generatedJobType({ name: 'big', dir: bigSrc, table: 'big', batchRows: 2000 }),
  });
  const first = await runCli(['run', 'xss', '--jobtypes', dir, '--data-dir', dataDir], { env: { DATABASE_URL: db.url } });
  expect(first.code, first.stderr).toBe(0);
  dashboard = await startDashboard({ host: '127.0.0.1', port: 0, databaseUrl: db.url, jobtypesDir: dir, token: TOKEN, logger: silentLogger(), throttleMs: 200 });
});
afterAll(async () => {
  await dashboard?.stop();
  await db?.drop();
});

const get = (p: string, auth = true) => fetch(new URL(p, dashboard.url), { headers: auth ? { authorization: `Bearer ${TOKEN}` } : {} });

describe('dashboard API', () => {
  it('answers 401 with no data without the token, on every route', async () => {
    for (const p of ['/', '/api/jobtypes', '/api/runs', '/api/runs/1', '/api/files/1/rejects', '/metrics', '/api/events']) {
      const r = await get(p, false);
      expect(r.status, p).toBe(401);
      const body = await r.text();
      expect(body, p).not.toContain('xss');
    }
    const wrong = await fetch(new URL('/api/runs', dashboard.url), { headers: { authorization: 'Bearer nope' } });
    expect(wrong.status).toBe(401);
  });

  it('logs in through the form with a cookie', async () => {
    const r = await fetch(new URL('/login', dashboard.url), { method: 'POST', body: `token=${TOKEN}`, headers: { 'content-type': 'application/x-www-form-urlencoded' }, redirect: 'manual' });
    expect(r.status).toBe(303);
    const cookie = r.headers.get('set-cookie')!;
    expect(cookie).toMatch(/^importer_token=.*HttpOnly/);
    const page = await fetch(new URL('/', dashboard.url), { headers: { cookie: cookie.split(';')[0]! } });
    expect(page.status).toBe(200);
    expect(await page.text()).toContain('<h2>Running imports</h2>');
  });

  it('serves job types, runs, a run, and rejects grouped by reason as JSON', async () => {
    const jt = (await (await get('/api/jobtypes')).json()) as any;
    const xss = jt.jobtypes.find((j: { name: string }) => j.name === 'xss');
    expect(xss).toMatchObject({ schedule: '0 3 * * *', last_run: { status: 'succeeded', rows_loaded: 1, rows_rejected: 1 } });
    expect(xss.next_fire).toMatch(/T03:00:00/);
    const { runs } = (await (await get('/api/runs?job_type=xss')).json()) as any;
    expect(runs[0]).toMatchObject({ job_type: 'xss', status: 'succeeded', rows_loaded: 1 });
    const run = (await (await get(`/api/runs/${runs[0].run_id}`)).json()) as any;
    const file = run.files.find((f: { job_type: string }) => f.job_type === 'xss');
    expect(file).toMatchObject({ status: 'loaded', rows_loaded: 1, rows_rejected: 1 });
    const rejects = (await (await get(`/api/files/${file.id}/rejects`)).json()) as any;
    expect(rejects.groups).toEqual([
      { code: 'CAST_INVALID_INTEGER', count: 1, samples: [{ line: 3, column: 'id', message: 'column "id": invalid input syntax for type integer: "not-a-number"', record: 'not-a-number,<script>window.__xss = 1</script>' }] },
    ]);
    expect((await get('/api/runs/999999')).status).toBe(404);
  });

  it('exposes Prometheus metrics prefixed importer_', async () => {
    const text = await (await get('/metrics')).text();
    // The ledger's sums are gauges without _total; _total names counters that only go up.
    expect(text).toMatch(/# TYPE importer_rows_loaded gauge\n(.*\n)*importer_rows_loaded\{job_type="xss"\} 1/);
    expect(text).toMatch(/importer_rows_rejected\{job_type="xss"\} 1/);
    expect(text).toContain('# TYPE importer_rows_loaded_total counter');
    expect(text).toContain('# TYPE importer_rows_rejected_total counter');
    expect(text).toContain('# TYPE importer_files_total counter');
    // (prom-client's own importer_process_nodejs_active_*_total are gauges; ours never are.)
    expect(text).not.toMatch(/# TYPE importer_(?!process_)\w+_total gauge/);
    expect(text).toContain('# TYPE importer_file_duration_seconds histogram');
    expect(text).toContain('importer_buffer_depth');
    expect(text).toContain('importer_connections_in_use');
    expect(text).not.toMatch(/^(?!#)(?!importer_)\w+/m);
  });
});

describe('dashboard actions and the scheduler heartbeat', () => {
  it('runs a job type on a POST with Authorization: Bearer (not with the cookie alone), recorded as trigger dashboard', async () => {
    const url = new URL('/api/jobtypes/xss/run', dashboard.url);
    expect((await fetch(url, { method: 'POST', headers: { cookie: `importer_token=${TOKEN}` } })).status).toBe(401);
    expect((await fetch(url, { method: 'POST' })).status).toBe(401);
    expect((await fetch(new URL('/api/jobtypes/nosuch/run', dashboard.url), { method: 'POST', headers: { authorization: `Bearer ${TOKEN}` } })).status).toBe(404);
    const r = await fetch(url, { method: 'POST', headers: { authorization: `Bearer ${TOKEN}` } });
    expect(r.status).toBe(202);
    expect(await r.json()).toMatchObject({ job_type: 'xss', trigger: 'dashboard' });
    const until = Date.now() + 60_000;
    let rows: Array<{ status: string }> = [];
    while (Date.now() < until) {
      rows = await db.query<{ status: string }>(`SELECT status FROM importer.job_runs WHERE job_type = 'xss' AND trigger = 'dashboard'`);
      if (rows.length > 0 && rows.every((x) => x.status !== 'running')) break;
      await new Promise((res) => setTimeout(res, 200));
    }
    expect(rows).toEqual([{ status: 'succeeded' }]);
    await db.query(`DELETE FROM importer.runs WHERE id IN (SELECT run_id FROM importer.job_runs WHERE trigger = 'dashboard')`);
  });

  it('refuses actions when no token is configured', async () => {
    const open = await startDashboard({ host: '127.0.0.1', port: 0, databaseUrl: db.url, jobtypesDir: dir, token: undefined, logger: silentLogger() });
    try {
      expect((await fetch(new URL('/api/jobtypes/xss/run', open.url), { method: 'POST' })).status).toBe(403);
    } finally {
      await open.stop();
    }
  });

  it('/api/scheduler says whether a daemon beats', async () => {
    const h = await (await get('/api/scheduler')).json();
    expect(h).toMatchObject({ alive: false, daemons: [] });
  });
});

describe('dashboard in a real browser', () => {
  const haveChromium = existsSync(CHROMIUM);
  if (!haveChromium && process.env.CI !== 'true') {
    process.stderr.write(`SKIPPING the browser tests: ${CHROMIUM} is missing (apt-get install -y chromium); with CI=true they must run\n`);
  }
  it.skipIf(!haveChromium && process.env.CI !== 'true')('shows live progress while an import runs, renders the history chart, and escapes CSV values', async () => {
    const { chromium } = await import('playwright-core');
    const browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
    });
    try {
      const page = await browser.newPage({ viewport: { width: 1280, height: 1000 } });
      await page.goto(dashboard.url);
      await page.fill('input[name=token]', TOKEN);
      await page.click('button[type=submit]');
      await page.waitForSelector('#jobtypes tr');
      await page.waitForFunction(() => (globalThis as any).document.getElementById('conn')?.textContent === 'live');
      // The morning after: last run and next fire with their zone, history open on the latest run,
      // a chart with axes, units and its time range, the scheduler's heartbeat.
      await page.waitForSelector('#run-title');
      expect(await page.locator('tr[data-jobtype=xss] td.last-run').textContent()).toMatch(/^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC$/);
      expect(await page.locator('tr[data-jobtype=xss] td.next-fire').textContent()).toMatch(/03:00:00 UTC$/);
      expect(await page.inputValue('#jt-select')).toBe('xss');
      expect(await page.locator('#run-title').textContent()).toMatch(/^Run \d+ \(succeeded\), started .* UTC$/);
      expect(await page.locator('#history-chart .y-unit').allTextContents()).toEqual(['rows', 'duration']);
      expect(await page.locator('#history-chart .x-unit').textContent()).toContain('run start (UTC)');
      expect(await page.locator('#chart-range').textContent()).toMatch(/^last 1 runs, .* – .* UTC$/);
      await page.waitForSelector('#heartbeat.dead');
      await db.query(`INSERT INTO importer.scheduler_heartbeats (daemon_id, hostname, pid) VALUES ('h:1', 'h', 1)`);
      await page.evaluate(() => (globalThis as any).loadHeartbeat());
      await page.waitForSelector('#heartbeat.alive');
      expect(await page.locator('#heartbeat').textContent()).toMatch(/^scheduler up since .* UTC, last beat \d+ s ago/);
      await db.query(`UPDATE importer.scheduler_heartbeats SET beat_at = now() - interval '2 minutes'`);
      await page.evaluate(() => (globalThis as any).loadHeartbeat());
      await page.waitForSelector('#heartbeat.dead');
      expect(await page.locator('#heartbeat').textContent()).toMatch(/^scheduler DOWN: last beat/);
      // Start an import now, and watch its figures change on the page.
      const importRun = startCli(['run', 'big', '--jobtypes', dir, '--data-dir', dataDir, '--consumers', '1'], { env: { DATABASE_URL: db.url } });
      const rowsSeen = new Set<string>();
      const until = Date.now() + 60_000;
      while (Date.now() < until && rowsSeen.size < 3) {
        const rows = await page.locator('#running tr[data-file] td.rows').allTextContents();
        for (const r of rows) if (r !== '0') rowsSeen.add(r);
        await page.waitForTimeout(100);
      }
      expect(rowsSeen.size).toBeGreaterThanOrEqual(3);
      const done = await importRun.done;
      expect(done.code, done.stderr).toBe(0);
      await page.waitForSelector('#running td.loaded', { timeout: 10_000 });
      // History chart of the finished job type.
      await page.selectOption('#jt-select', 'big');
      await page.waitForSelector('#history-chart rect.run-bar');
      expect(await page.locator('#history-chart rect.run-bar').count()).toBeGreaterThanOrEqual(1);
      // Rejects of the xss file: the <script> shows as text and never runs.
      await page.selectOption('#jt-select', 'xss');
      await page.waitForSelector('#runs tr a');
      await page.locator('#runs tr a').first().click();
      await page.getByText('1 rejects').click();
      await page.waitForSelector('.reject-group pre');
      expect(await page.locator('.reject-group pre').first().textContent()).toBe('not-a-number,<script>window.__xss = 1</script>');
      expect(await page.evaluate(() => (globalThis as unknown as { __xss?: number }).__xss)).toBeUndefined();
      // Run now: a POST with the bearer token the operator types, recorded as trigger dashboard.
      page.on('dialog', (d) => void d.accept(TOKEN));
      await page.locator('tr[data-jobtype=xss] button.run').click();
      await page.waitForFunction(() => /started xss/.test((globalThis as any).document.getElementById('action')?.textContent ?? ''));
      const until2 = Date.now() + 60_000;
      let triggered: unknown[] = [];
      while (Date.now() < until2 && triggered.length === 0) {
        triggered = await db.query(`SELECT status FROM importer.job_runs WHERE job_type = 'xss' AND trigger = 'dashboard' AND status <> 'running'`);
        await page.waitForTimeout(200);
      }
      expect(triggered).toEqual([{ status: 'succeeded' }]);
      await mkdir(path.join(ROOT, 'test-artifacts'), { recursive: true });
      await page.screenshot({ path: path.join(ROOT, 'test-artifacts', 'dashboard.png'), fullPage: true });
    } finally {
      await browser.close();
    }
  });
});
