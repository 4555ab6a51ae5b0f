/**
 * Supervision and scheduling: failures stay inside their job type, restarts follow the policy,
 * cron fires (and skips overlapping ticks), definitions reload live, shutdown is graceful.
 * Faults are injected with IMPORTER_FAULT (src/supervisor/faults.ts).
 */
import { rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generatedJobType, writeGeneratedCsv } from '../../bench/generate.js';
import { FIXTURES, jobtypesDir, runCli, startCli, tempDir } from '../helpers/cli.js';
import { createTestDatabase, type TestDatabase } from '../helpers/db.js';

let db: TestDatabase;
let dataDir: string;
let big: string;
const BIG_ROWS = 120_000;
beforeAll(async () => {
  db = await createTestDatabase('super');
  dataDir = await tempDir();
  big = await tempDir('importer-big-');
  await writeGeneratedCsv(path.join(big, 'big.csv'), BIG_ROWS);
});
afterAll(async () => {
  await db?.drop();
});

const rt = (name: string, extra = '') => `name: ${name}
source: { path: ${JSON.stringify(path.join(FIXTURES, 'roundtrip'))} }
target: { table: ${name} }
columns: [{ name: id, type: integer }, { name: value, type: text }]
restart: { max: 2, within_seconds: 60, backoff_ms: 10 }
${extra}`;

async function waitFor<T>(fn: () => Promise<T | undefined | false>, what: string, ms = 60_000): Promise<T> {
  const until = Date.now() + ms;
  while (Date.now() < until) {
    const v = await fn().catch(() => undefined);
    if (v) return v;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`timed out waiting for ${what}`);
}

describe('importer run: one failure never reaches the other job types', () => {
  it('contains a throwing row, a crashing worker (restarted by policy), a vanished folder and an invalid definition', async () => {
    const gone = await tempDir('importer-gone-');
    await rm(gone, { recursive: true });
    const dir = await jobtypesDir({
      'good.yaml': rt('sup_good'),
      'rowthrow.yaml': rt('sup_rowthrow'),
      'crashy.yaml': rt('sup_crashy'),
      'vanished.yaml': rt('sup_vanished').replace(JSON.stringify(path.join(FIXTURES, 'roundtrip')), JSON.stringify(gone)),
      'invalid.yaml': 'source: { path: x }\ntarget: { table: y }\ncolumns: [{ name: a, type: nope }]\n',
    });
    const r = await runCli(['run', '--jobtypes', dir, '--json', '--data-dir', dataDir], {
      env: { DATABASE_URL: db.url, IMPORTER_FAULT: 'sup_rowthrow:throw-on-record:3,sup_crashy:throw' },
    });
    expect(r.code).toBe(1);
    const jobs = Object.fromEntries(JSON.parse(r.stdout).jobs.map((j: { name: string }) => [j.name, j]));
    expect(jobs.sup_good).toMatchObject({ status: 'succeeded', rows_loaded: 15 });
    expect(jobs.sup_rowthrow.status).toBe('failed');
    expect(jobs.sup_rowthrow.files[0].error.code).toBe('INTERNAL');
    expect(jobs.sup_rowthrow.files[0].error.message).toContain('processing threw on record 3'); // which fault: the injected one
    expect(jobs.sup_crashy).toMatchObject({ status: 'failed', restarts: 2 });
    expect(jobs.sup_crashy.error.code).toBe('INTERNAL');
    expect(jobs.sup_crashy.error.message).toContain('injected fault'); // which fault: the injected one
    expect(jobs.sup_vanished).toMatchObject({ status: 'failed', restarts: 0, error: { code: 'SOURCE_NOT_FOUND' } });
    expect(JSON.parse(r.stdout).invalid.map((d: { name: string }) => d.name)).toEqual(['invalid']);
    expect(await db.query('SELECT count(*) AS n FROM sup_good')).toEqual([{ n: '15' }]);
    expect(await db.query(`SELECT to_regclass('sup_rowthrow') IS NULL OR (SELECT count(*) FROM sup_rowthrow) = 0 AS nothing`)).toEqual([{ nothing: 't' }]);
    const history = await db.query(`SELECT job_type, status, restarts FROM importer.job_runs WHERE job_type LIKE 'sup_%' ORDER BY job_type`);
    expect(history).toEqual([
      { job_type: 'sup_crashy', status: 'failed', restarts: '2' },
      { job_type: 'sup_good', status: 'succeeded', restarts: '0' },
      { job_type: 'sup_rowthrow', status: 'failed', restarts: '0' },
      { job_type: 'sup_vanished', status: 'failed', restarts: '0' },
    ]);
  });
});

describe('importer run --isolate: hard crashes stay in their child process', () => {
  it('contains process.exit and abort, restarts by policy, and the others complete', async () => {
    const dir = await jobtypesDir({
      'good.yaml': rt('iso_good'),
      'exits.yaml': rt('iso_exits'),
      'aborts.yaml': rt('iso_aborts'),
    });
    const r = await runCli(['run', '--isolate', '--jobtypes', dir, '--json', '--data-dir', dataDir, '--max-connections', '6'], {
      env: { DATABASE_URL: db.url, IMPORTER_FAULT: 'iso_exits:exit,iso_aborts:abort' },
    });
    expect(r.code).toBe(1);
    const jobs = Object.fromEntries(JSON.parse(r.stdout).jobs.map((j: { name: string }) => [j.name, j]));
    expect(jobs.iso_good).toMatchObject({ status: 'succeeded', rows_loaded: 15 });
    expect(jobs.iso_exits).toMatchObject({ status: 'failed', restarts: 2, error: { code: 'WORKER_CRASHED', message: 'iso_exits: import process crashed with exit code 70' } });
    expect(jobs.iso_aborts).toMatchObject({ status: 'failed', restarts: 2, error: { code: 'WORKER_CRASHED', message: 'iso_aborts: import process killed by SIGABRT' } });
    expect(await db.query('SELECT count(*) AS n FROM iso_good')).toEqual([{ n: '15' }]);
  });
});

describe('global crash capture', () => {
  it('logs an uncaught exception once as a structured record with its stack, keeps it in the run history, and exits 70', async () => {
    const dir = await jobtypesDir({ 'boom.yaml': rt('crash_boom') });
    const r = await runCli(['run', '--jobtypes', dir, '--data-dir', dataDir], { env: { DATABASE_URL: db.url, IMPORTER_FAULT: 'crash_boom:uncaught' } });
    expect(r.code).toBe(70);
    const records = r.stderr.split('\n').filter((l) => l.includes('"msg":"importer: uncaught exception"'));
    expect(records).toHaveLength(1);
    const rec = JSON.parse(records[0]!);
    expect(rec).toMatchObject({ level: 60, err: 'injected fault: uncaught exception in crash_boom (IMPORTER_FAULT)' });
    expect(rec.stack).toContain('faults.js');
    const [run] = await db.query<{ status: string; error: string }>(`SELECT status, error FROM importer.runs WHERE command = 'run crash_boom' ORDER BY id DESC LIMIT 1`);
    expect(run!.status).toBe('crashed');
    expect(run!.error).toContain('injected fault: uncaught exception');
  });
});

describe('importer run: graceful shutdown', () => {
  it('SIGTERM mid-import commits or rolls back whole batches, leaves the target untouched, and the next run completes it', async () => {
    const dir = await jobtypesDir({ 'term.yaml': generatedJobType({ name: 'term', dir: big, table: 'term', batchRows: 2000 }) });
    const env = { DATABASE_URL: db.url };
    const run = startCli(['run', '--jobtypes', dir, '--json', '--data-dir', dataDir], { env });
    await waitFor(async () => {
      const [r] = await db.query<{ n: number }>(`SELECT count(*)::int AS n FROM importer.checkpoints c JOIN importer.files f ON f.id = c.file_id WHERE f.job_type = 'term'`);
      return Number(r!.n) >= 3;
    }, 'committed batches');
    run.child.kill('SIGTERM');
    const r = await run.done;
    expect(r.code).toBe(143);
    const report = JSON.parse(r.stdout);
    expect(report.jobs[0].files[0].status).toBe('interrupted');
    expect(await db.query(`SELECT status FROM importer.files WHERE job_type = 'term'`)).toEqual([{ status: 'interrupted' }]);
    expect(await db.query('SELECT count(*) AS n FROM term')).toEqual([{ n: '0' }]);
    const again = await runCli(['run', '--jobtypes', dir, '--json', '--data-dir', dataDir], { env });
    expect(again.code, again.stderr).toBe(0);
    expect(JSON.parse(again.stdout).jobs[0].files[0]).toMatchObject({ status: 'loaded', resumed: true, rows_loaded: BIG_ROWS });
    expect(await db.query('SELECT count(*) AS n, count(DISTINCT id) AS d FROM term')).toEqual([{ n: String(BIG_ROWS), d: String(BIG_ROWS) }]);
  });
});

describe('importer schedule', () => {
  it('fires on cron, skips ticks while an import runs, contains a hard crash, reloads definitions, and stops on SIGTERM', async () => {
    const dir = await jobtypesDir({
      // every second, but each import takes several seconds: later ticks overlap and are skipped
      'slow.yaml': generatedJobType({ name: 'sch_slow', dir: big, table: 'sch_slow', batchRows: 5000, extra: 'schedule: "* * * * * *"\n' }),
      // dies hard (process.exit) every time: restarted twice, then failed; others unaffected
      'dies.yaml': rt('sch_dies', 'schedule: "0 0 1 1 *"\n'),
      'fine.yaml': rt('sch_fine', 'schedule: "0 0 1 1 *"\n'),
    });
    const daemon = startCli(['schedule', '--jobtypes', dir, '--run-now', '--data-dir', dataDir, '--max-connections', '7', '--jobs', '3'], {
      env: { DATABASE_URL: db.url, IMPORTER_FAULT: 'sch_dies:exit' },
    });
    const fires = () => db.query<{ job_type: string; reason: string; status: string; restarts: string; exit_code: string | null }>(
      'SELECT job_type, reason, status, restarts, exit_code FROM importer.schedule_fires ORDER BY job_type, fire_at',
    );
    await waitFor(async () => {
      const f = await fires();
      const done = (jt: string) => f.some((x) => x.job_type === jt && x.status !== 'running');
      return done('sch_dies') && done('sch_fine') && f.some((x) => x.job_type === 'sch_slow' && x.status === 'skipped_overlap');
    }, 'fires to finish');
    // A definition added while the daemon runs is picked up; an invalid one disturbs nothing.
    await writeFile(path.join(dir, 'late.yaml'), rt('sch_late', 'schedule: "*/2 * * * * *"\n'));
    await writeFile(path.join(dir, 'broken.yaml'), 'source: {}\n');
    await waitFor(async () => {
      const f = await fires();
      return f.some((x) => x.job_type === 'sch_late' && x.status === 'succeeded') && f.some((x) => x.job_type === 'sch_slow' && x.status === 'succeeded');
    }, 'the new job type and the slow one to finish a fire');
    daemon.child.kill('SIGTERM');
    const r = await daemon.done;
    expect(r.code).toBe(143);
    expect(r.stderr).toMatch(/tick skipped: the previous import of this job type is still running/);
    expect(r.stderr).toMatch(/broken\.yaml: source\.path: is required .*"code":"JOBTYPE_INVALID"/);
    const f = await fires();
    expect(f.find((x) => x.job_type === 'sch_dies')).toMatchObject({ reason: 'run_now', status: 'failed', restarts: '2', exit_code: '70' });
    expect(f.find((x) => x.job_type === 'sch_fine')).toMatchObject({ reason: 'run_now', status: 'succeeded', restarts: '0', exit_code: '0' });
    expect(f.filter((x) => x.job_type === 'sch_slow' && x.status === 'succeeded').length).toBeGreaterThanOrEqual(1);
    expect(await db.query('SELECT count(*) AS n FROM sch_fine')).toEqual([{ n: '15' }]);
    // Every fire that ran was one `importer run` with trigger schedule (a fire cut short by SIGTERM
    // may have ended before its child recorded a job run).
    const runs = await db.query<{ n: number }>(`SELECT count(*)::int AS n FROM importer.job_runs WHERE trigger = 'schedule' AND job_type IN ('sch_fine', 'sch_late', 'sch_slow')`);
    const mine = f.filter((x) => ['sch_fine', 'sch_late', 'sch_slow'].includes(x.job_type));
    expect(Number(runs[0]!.n)).toBeGreaterThanOrEqual(mine.filter((x) => x.status === 'succeeded').length);
    expect(Number(runs[0]!.n)).toBeLessThanOrEqual(mine.filter((x) => ['succeeded', 'failed', 'interrupted'].includes(x.status)).length);
  });

  it('two daemons on one database fire each scheduled time once, and a missed fire runs once at start', async () => {
    const dir = await jobtypesDir({ 'twin.yaml': rt('sch_twin', 'schedule: "* * * * * *"\nmissed: run_once\n') });
    // A fire an hour ago, so that the fires since then count as missed.
    await db.query(
      `INSERT INTO importer.schedule_fires (job_type, fire_at, instance, status, started_at)
       VALUES ('sch_twin', date_trunc('second', now()) - interval '1 hour', 'test', 'succeeded', now() - interval '1 hour')`,
    );
    const env = { DATABASE_URL: db.url };
    const a = startCli(['schedule', '--jobtypes', dir, '--data-dir', dataDir], { env });
    const b = startCli(['schedule', '--jobtypes', dir, '--data-dir', dataDir], { env });
    await waitFor(async () => {
      const [r] = await db.query<{ n: number }>(`SELECT count(*)::int AS n FROM importer.schedule_fires WHERE job_type = 'sch_twin' AND status = 'succeeded'`);
      return Number(r!.n) >= 5;
    }, 'several fires');
    a.child.kill('SIGTERM');
    b.child.kill('SIGTERM');
    await Promise.all([a.done, b.done]);
    const missed = await db.query(`SELECT count(*)::int AS n FROM importer.schedule_fires WHERE job_type = 'sch_twin' AND reason = 'missed'`);
    expect(missed).toEqual([{ n: '1' }]);
    // Fires are unique per (job type, fire time) by the primary key; each ran one child at most.
    const fired = await db.query<{ ok: string; ran: string }>(
      `SELECT count(*) FILTER (WHERE status = 'succeeded') AS ok, count(*) FILTER (WHERE status IN ('succeeded', 'failed', 'interrupted')) AS ran
         FROM importer.schedule_fires WHERE job_type = 'sch_twin' AND instance <> 'test'`,
    );
    const runs = await db.query<{ n: string }>(`SELECT count(*) AS n FROM importer.job_runs WHERE job_type = 'sch_twin' AND trigger = 'schedule'`);
    expect(Number(runs[0]!.n)).toBeGreaterThanOrEqual(Number(fired[0]!.ok));
    expect(Number(runs[0]!.n)).toBeLessThanOrEqual(Number(fired[0]!.ran));
    const byInstance = await db.query<{ n: number }>(`SELECT count(DISTINCT instance)::int AS n FROM importer.schedule_fires WHERE job_type = 'sch_twin' AND instance <> 'test'`);
    expect(Number(byInstance[0]!.n)).toBeGreaterThanOrEqual(1);
  });

  it('does not catch up when another instance claimed a fire in the last minute (it is running)', async () => {
    const dir = await jobtypesDir({ 'peer.yaml': rt('sch_peer', 'schedule: "* * * * * *"\nmissed: run_once\n') });
    // The last fire is an hour old, but another daemon claimed it 10 seconds ago: that daemon is up
    // (or was until moments ago), so the time since then was not missed by every scheduler.
    await db.query(
      `INSERT INTO importer.schedule_fires (job_type, fire_at, instance, status, started_at)
       VALUES ('sch_peer', date_trunc('second', now()) - interval '1 hour', 'peer', 'succeeded', now() - interval '10 seconds')`,
    );
    const d = startCli(['schedule', '--jobtypes', dir, '--data-dir', dataDir], { env: { DATABASE_URL: db.url } });
    await waitFor(async () => {
      const [r] = await db.query<{ n: number }>(`SELECT count(*)::int AS n FROM importer.schedule_fires WHERE job_type = 'sch_peer' AND status = 'succeeded' AND instance <> 'peer'`);
      return Number(r!.n) >= 2;
    }, 'scheduled fires');
    d.child.kill('SIGTERM');
    await d.done;
    expect(await db.query(`SELECT count(*)::int AS n FROM importer.schedule_fires WHERE job_type = 'sch_peer' AND reason = 'missed'`)).toEqual([{ n: '0' }]);
  });
});
