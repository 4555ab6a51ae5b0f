/**
 * A server crash (immediate shutdown: no checkpoint, crash recovery on the next start) in the middle
 * of a load, in every mode, at a seeded random moment. Either the same run finishes with every row
 * exactly once, or it fails and the file is not recorded as loaded, and the next run makes it exact.
 * Never a file recorded as loaded with rows missing.
 *
 * The server is this file's own embedded PostgreSQL, crashed with SIGQUIT to the postmaster (what
 * `pg_ctl stop -m immediate` sends). CRASH_REPEAT=N repeats each mode N times (default 1 in CI);
 * CRASH_SEED fixes the seed.
 */
import { readFile, rm } from 'node:fs/promises';
import path from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generatedJobType, rng, writeGeneratedCsv } from '../../bench/generate.js';
import { closePool } from '../../src/db/closePool.js';
import { startEmbedded, type EmbeddedServer } from '../../src/db/embedded.js';
import { silentLogger } from '../../src/observability/logger.js';
import { jobtypesDir, runCli, startCli, tempDir } from '../helpers/cli.js';
import { freePort, waitFor } from '../helpers/wait.js';

const ROWS = 120_000;
const REPEAT = Number(process.env.CRASH_REPEAT ?? 1);
const SEED = Number(process.env.CRASH_SEED ?? Date.now() % 100_000);

let server: EmbeddedServer;
let pgDir: string;
let port: number;
let dataDir: string;
let src: string;
let pool: pg.Pool;

const random = rng(SEED);

beforeAll(async () => {
  // Each start of the embedded server hooks process 'exit' to stop it; a crashed one never unhooks.
  process.setMaxListeners(10 + 4 * REPEAT + 10);
  process.stderr.write(`crash.test: seed ${SEED} (CRASH_SEED=${SEED} repeats it), ${REPEAT} crash(es) per mode\n`);
  pgDir = await tempDir('importer-crash-pg-');
  port = await freePort();
  server = await startEmbedded(pgDir, silentLogger(), { port });
  pool = new pg.Pool({ connectionString: server.url, max: 2 });
  pool.on('error', () => undefined);
  dataDir = await tempDir();
  src = await tempDir('importer-crash-src-');
  await writeGeneratedCsv(path.join(src, 'big.csv'), ROWS);
});
afterAll(async () => {
  if (pool) await closePool(pool);
  await server?.stop();
  await rm(pgDir, { recursive: true, force: true });
  await rm(src, { recursive: true, force: true });
});

async function q<T extends pg.QueryResultRow>(sql: string): Promise<T[]> {
  return (await pool.query<T>(sql)).rows;
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** Immediate shutdown: the postmaster kills its backends without a checkpoint, as in a crash. */
async function crashServer(): Promise<void> {
  const pid = Number((await readFile(path.join(pgDir, 'pg', 'postmaster.pid'), 'utf8')).split('\n')[0]);
  await closePool(pool).catch(() => undefined);
  process.kill(pid, 'SIGQUIT');
  const until = Date.now() + 30_000;
  while (alive(pid) && Date.now() < until) await new Promise((r) => setTimeout(r, 50));
  expect(alive(pid)).toBe(false);
}

async function restartServer(): Promise<void> {
  server = await startEmbedded(pgDir, silentLogger(), { port });
  pool = new pg.Pool({ connectionString: server.url, max: 2 });
  pool.on('error', () => undefined);
}

/** Batches committed so far for a job type's files. */
async function batches(jobType: string): Promise<number> {
  const [r] = await q<{ n: number }>(`SELECT count(*)::int AS n FROM importer.checkpoints c JOIN importer.files f ON f.id = c.file_id WHERE f.job_type = '${jobType}'`);
  return r!.n;
}

async function expectExact(table: string): Promise<void> {
  const [r] = await q<{ n: string; d: string; s: string }>(`SELECT count(*) AS n, count(DISTINCT id) AS d, sum(id) AS s FROM ${table}`);
  expect(r).toEqual({ n: String(ROWS), d: String(ROWS), s: String((ROWS * (ROWS + 1)) / 2) });
}

const MODES: Record<string, string> = {
  append: '',
  append_key: '\n  key: [id]',
  upsert: '\n  key: [id]\n  mode: upsert',
  replace: '\n  mode: replace',
  // The strategies that COPY straight into the target (keyless batches: nothing but the checkpoints
  // stands between a crash and a doubled batch).
  batches: '\n  strategy: batches',
  direct: '\n  key: [id]\n  strategy: direct',
};

/** The generated job type in a mode; keyless direct and batches cannot check `required` (the target has no NOT NULL). */
function definition(name: string, extra: string): string {
  const def = generatedJobType({ name, dir: src, table: name, batchRows: 2000 }).replace(`table: ${name}`, `table: ${name}${extra}`);
  return /strategy: (direct|batches)/.test(extra) && !extra.includes('key:') ? def.replace('required: true', 'required: false') : def;
}

describe('the server crashes mid-import (immediate shutdown, crash recovery)', () => {
  for (const [mode, extra] of Object.entries(MODES)) {
    for (let round = 0; round < REPEAT; round++) {
      it(`${mode}${REPEAT > 1 ? ` #${round + 1}` : ''}: ends exact, and never records a partial file as loaded`, async () => {
        const name = `crash_${mode}_${round}`;
        const dir = await jobtypesDir({
          [`${name}.yaml`]: definition(name, extra),
        });
        const env = { DATABASE_URL: server.url };
        const args = ['run', '--jobtypes', dir, '--data-dir', dataDir, '--json', '--consumers', '2', '--retry-deadline', '120'];
        const run = startCli(args, { env });
        // A random moment after the first committed batch (direct has none: after its file is claimed);
        // late ones land in the final move or after it.
        if (mode === 'direct') await waitFor(async () => (await q(`SELECT 1 FROM importer.files WHERE job_type = '${name}'`)).length > 0);
        else await waitFor(async () => (await batches(name)) >= 1);
        const delay = Math.floor(random() * 2500);
        await new Promise((r) => setTimeout(r, delay));
        await crashServer();
        await new Promise((r) => setTimeout(r, 500 + Math.floor(random() * 1500)));
        await restartServer();
        const first = await run.done;
        const [file] = await q<{ status: string }>(`SELECT status FROM importer.files WHERE job_type = '${name}'`);
        const context = `seed ${SEED}, mode ${mode}, crash ${delay} ms after the first batch; exit ${first.code}\n${first.stderr.slice(-3000)}`;
        if (first.code === 0) {
          const report = JSON.parse(first.stdout);
          expect(report.jobs[0].files[0], context).toMatchObject({ status: 'loaded', rows_loaded: ROWS, rows_rejected: 0 });
          if (mode === 'append') expect(report.jobs[0].files[0].rows_duplicate, context).toBe(0);
          expect(file!.status, context).toBe('loaded');
        } else {
          expect(file?.status, context).not.toBe('loaded');
        }
        if (first.code === 0) await expectExact(name);
        // The next run makes it exact (or skips a file that is already exact).
        const second = await runCli(args, { env });
        expect(second.code, second.stderr).toBe(0);
        const f2 = JSON.parse(second.stdout).jobs[0].files[0];
        expect(f2.status === 'loaded' || (f2.status === 'skipped' && f2.reason === 'already loaded'), JSON.stringify(f2)).toBe(true);
        await expectExact(name);
      });
    }
  }
});

describe('an outage past --retry-deadline', () => {
  it('gives up once, naming the batch that gave up; the next run finishes the file exactly', async () => {
    const name = 'outage_deadline';
    const dir = await jobtypesDir({ [`${name}.yaml`]: generatedJobType({ name, dir: src, table: name, batchRows: 2000 }) });
    const env = { DATABASE_URL: server.url };
    const args = ['run', '--jobtypes', dir, '--data-dir', dataDir, '--json', '--consumers', '1'];
    const run = startCli([...args, '--retry-deadline', '2'], { env });
    await waitFor(async () => (await batches(name)) >= 1);
    await closePool(pool);
    await server.stop(); // down, and it stays down past the deadline
    const first = await run.done;
    await restartServer();
    expect(first.code, first.stderr).toBe(1);
    const file = JSON.parse(first.stdout).jobs[0].files[0];
    expect(file).toMatchObject({ status: 'failed', error: { code: 'DB_TRANSIENT' } });
    expect(file.error.message).toMatch(/batch at line \d+/);
    // Recording the outcome did not retry for the deadline a second time.
    expect(first.stderr).not.toMatch(/record outcome: transient database error, retrying/);
    const second = await runCli(args, { env });
    expect(second.code, second.stderr).toBe(0);
    expect(JSON.parse(second.stdout).jobs[0].files[0]).toMatchObject({ status: 'loaded', resumed: true, rows_loaded: ROWS });
    await expectExact(name);
  });
});

describe('backends terminated, and a kill -9, at the worst moments', () => {
  /** A target whose move into it takes at least two seconds, so the test can act during it. */
  async function slowTarget(table: string): Promise<void> {
    await q(`CREATE TABLE public.${table} (id bigint, uuid uuid, customer text, email text, country text, amount numeric, quantity integer,
               price double precision, active boolean, created_at timestamptz, birth_date date, notes text)`);
    await q(`CREATE OR REPLACE FUNCTION public.slow_move() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN PERFORM pg_sleep(2); RETURN NULL; END $$`);
    await q(`CREATE TRIGGER slow BEFORE INSERT ON public.${table} FOR EACH STATEMENT EXECUTE FUNCTION public.slow_move()`);
  }
  const moving = (table: string) => async () =>
    (await q<{ n: number }>(`SELECT count(*)::int AS n FROM pg_stat_activity WHERE state = 'active' AND query LIKE 'INSERT INTO "public"."${table}"%'`))[0]!.n > 0;
  const terminate = (where: string) => q(`SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = 'importer' AND ${where}`);
  const definition = (name: string) =>
    jobtypesDir({ [`${name}.yaml`]: generatedJobType({ name, dir: src, table: name, batchRows: 2000 }).replace(`table: ${name}`, `table: ${name}\n  create: false`) });

  it('mid-COPY: the run retries the batches and ends exact', async () => {
    const name = 'term_copy';
    await q(`CREATE TABLE public.${name} (id bigint, uuid uuid, customer text, email text, country text, amount numeric, quantity integer,
               price double precision, active boolean, created_at timestamptz, birth_date date, notes text)`);
    const args = ['run', '--jobtypes', await definition(name), '--data-dir', dataDir, '--json'];
    const run = startCli(args, { env: { DATABASE_URL: server.url } });
    await waitFor(async () => (await batches(name)) >= 3);
    let killed = 0;
    for (let i = 0; i < 200 && killed < 3; i++) {
      killed += (await terminate(`query LIKE 'COPY%' AND state = 'active'`)).length;
      await new Promise((r) => setTimeout(r, 30));
    }
    expect(killed).toBeGreaterThanOrEqual(1);
    const r = await run.done;
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toMatch(/batch at line \d+: transient database error, retrying/);
    expect(JSON.parse(r.stdout).jobs[0].files[0]).toMatchObject({ status: 'loaded', rows_loaded: ROWS });
    await expectExact(name);
  });

  it('mid-move: the final move rolls back whole and is retried; the file lands once', async () => {
    const name = 'term_move';
    await slowTarget(name);
    const args = ['run', '--jobtypes', await definition(name), '--data-dir', dataDir, '--json'];
    const run = startCli(args, { env: { DATABASE_URL: server.url } });
    expect(await waitFor(moving(name))).toBe(true);
    await terminate(`query LIKE 'INSERT INTO "public"."${name}"%'`);
    const r = await run.done;
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toMatch(/finalize: transient database error, retrying/);
    expect(JSON.parse(r.stdout).jobs[0].files[0]).toMatchObject({ status: 'loaded', rows_loaded: ROWS });
    await expectExact(name);
  });

  it('kill -9 of the importer during the final move: nothing is visible, and the next run makes it exact', async () => {
    const name = 'kill_move';
    await slowTarget(name);
    const args = ['run', '--jobtypes', await definition(name), '--data-dir', dataDir, '--json'];
    const run = startCli(args, { env: { DATABASE_URL: server.url } });
    expect(await waitFor(moving(name))).toBe(true);
    run.child.kill('SIGKILL');
    await run.done;
    // The server rolls the move back once it sees the connection gone.
    expect(await waitFor(async () => !(await moving(name)()))).toBe(true);
    expect(await q(`SELECT count(*)::int AS n FROM public.${name}`)).toEqual([{ n: 0 }]);
    const [file] = await q<{ status: string }>(`SELECT status FROM importer.files WHERE job_type = '${name}'`);
    expect(file!.status).toBe('loading');
    const second = await runCli(args, { env: { DATABASE_URL: server.url } });
    expect(second.code, second.stderr).toBe(0);
    expect(JSON.parse(second.stdout).jobs[0].files[0]).toMatchObject({ status: 'loaded', resumed: true, rows_loaded: ROWS });
    await expectExact(name);
  });
});
