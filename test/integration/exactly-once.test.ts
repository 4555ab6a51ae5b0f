/**
 * Fault tests for exactly-once loading, against a PostgreSQL this file controls (its own embedded
 * server on a fixed port, so it can be stopped and started again mid-import).
 */
import { mkdir, rm } from 'node:fs/promises';
import path from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generatedJobType, writeGeneratedCsv } from '../../bench/generate.js';
import { startEmbedded, type EmbeddedServer } from '../../src/db/embedded.js';
import { closePool } from '../../src/db/closePool.js';
import { silentLogger } from '../../src/observability/logger.js';
import { jobtypesDir, runCli, startCli, tempDir } from '../helpers/cli.js';
import { freePort, waitFor } from '../helpers/wait.js';

let server: EmbeddedServer;
let pgDir: string;
let dataDir: string;
let src: string;
let pool: pg.Pool;
const ROWS = 150_000;

beforeAll(async () => {
  pgDir = await tempDir('importer-faults-pg-');
  server = await startEmbedded(pgDir, silentLogger(), { port: await freePort() });
  pool = new pg.Pool({ connectionString: server.url, max: 2 });
  dataDir = await tempDir();
  src = await tempDir('importer-faults-src-');
  await writeGeneratedCsv(path.join(src, 'big.csv'), ROWS);
});
afterAll(async () => {
  if (pool) await closePool(pool);
  await server?.stop();
  await rm(pgDir, { recursive: true, force: true });
});

async function q<T extends pg.QueryResultRow>(sql: string): Promise<T[]> {
  return (await pool.query<T>(sql)).rows;
}

async function committedBatches(): Promise<number> {
  const r = await q<{ n: number }>(`SELECT count(*)::int AS n FROM importer.checkpoints`).catch(() => [{ n: 0 }]);
  return r[0]!.n;
}

async function expectExactlyOnce(table: string, rows: number): Promise<void> {
  const [r] = await q<{ n: string; d: string; s: string }>(`SELECT count(*) AS n, count(DISTINCT id) AS d, sum(id) AS s FROM ${table}`);
  expect(r).toEqual({ n: String(rows), d: String(rows), s: String((rows * (rows + 1)) / 2) });
}

describe('kill -9 mid-file, then run again', () => {
  const variants = [
    { name: 'kill_nokey', target: '', resumes: true },
    { name: 'kill_key', target: '\n  key: [id]', resumes: true },
    { name: 'kill_batches', target: '\n  strategy: batches', resumes: true },
    { name: 'kill_direct', target: '\n  key: [id]\n  strategy: direct', resumes: false },
  ];
  for (const v of variants) {
    it(`${v.resumes ? 'resumes after the last committed batch' : 'loads the file again from the start'} with no loss and no duplicates (${v.name})`, async () => {
      const { name } = v;
      await q('DELETE FROM importer.checkpoints').catch(() => undefined);
      let def = generatedJobType({ name, dir: src, table: name, batchRows: 2000 }).replace(`table: ${name}`, `table: ${name}${v.target}`);
      // Keyless batches cannot check `required` (the target has no NOT NULL to do it).
      if (name === 'kill_batches') def = def.replace('required: true', 'required: false');
      const dir = await jobtypesDir({ [`${name}.yaml`]: def });
      const env = { DATABASE_URL: server.url };
      const first = startCli(['run', '--jobtypes', dir, '--data-dir', dataDir, '--consumers', '2'], { env });
      if (v.resumes) expect(await waitFor(async () => (await committedBatches()) >= 5), 'some committed batches').toBe(true);
      else expect(await waitFor(async () => (await q(`SELECT 1 FROM pg_stat_activity WHERE query LIKE 'COPY %${name}%'`)).length > 0), 'a COPY running').toBe(true);
      first.child.kill('SIGKILL');
      const killed = await first.done;
      expect(killed.signal).toBe('SIGKILL');
      const [file] = await q<{ status: string }>(`SELECT status FROM importer.files WHERE job_type = '${name}'`);
      expect(file!.status).toBe('loading');

      const second = await runCli(['run', '--jobtypes', dir, '--data-dir', dataDir, '--json'], { env });
      expect(second.code, second.stderr).toBe(0);
      const report = JSON.parse(second.stdout);
      expect(report.jobs[0].files[0]).toMatchObject({ status: 'loaded', resumed: v.resumes, rows_loaded: ROWS });
      await expectExactlyOnce(name, ROWS);

      const third = await runCli(['run', '--jobtypes', dir, '--data-dir', dataDir, '--json'], { env });
      expect(JSON.parse(third.stdout).jobs[0].files[0]).toMatchObject({ status: 'skipped', reason: 'already loaded' });
      await expectExactlyOnce(name, ROWS);
    });
  }
});

describe('the database goes down mid-import', () => {
  it('retries until the server is back; the same run completes with exact rows', async () => {
    const name = 'outage';
    const dir = await jobtypesDir({ [`${name}.yaml`]: generatedJobType({ name, dir: src, table: name, batchRows: 2000 }) });
    const before = await committedBatches();
    const run = startCli(['run', '--jobtypes', dir, '--data-dir', dataDir, '--json', '--retry-deadline', '120'], { env: { DATABASE_URL: server.url } });
    expect(await waitFor(async () => (await committedBatches()) >= before + 3), 'some committed batches').toBe(true);
    await closePool(pool);
    const port = Number(new URL(server.url).port);
    await server.stop(); // fast shutdown, mid-import
    await new Promise((r) => setTimeout(r, 3000));
    server = await startEmbedded(pgDir, silentLogger(), { port });
    pool = new pg.Pool({ connectionString: server.url, max: 2 });
    const r = await run.done;
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toMatch(/transient database error, retrying/);
    expect(JSON.parse(r.stdout).jobs[0].files[0]).toMatchObject({ status: 'loaded', rows_loaded: ROWS });
    await expectExactlyOnce(name, ROWS);
  });
});

describe('several instances at once', () => {
  it.each([
    ['staged', 'multi', ''],
    ['batches', 'multi_batches', '\n  key: [id]\n  strategy: batches'],
    ['direct', 'multi_direct', '\n  key: [id]\n  strategy: direct'],
  ])('four importer processes on the same job types load every file exactly once (strategy %s)', async (_strategy, name, target) => {
    const multi = await tempDir('importer-multi-src-');
    const files = 6;
    const per = 20_000;
    await mkdir(multi, { recursive: true });
    for (let i = 0; i < files; i++) await writeGeneratedCsv(path.join(multi, `part-${i}.csv`), per, i * per + 1);
    const def = generatedJobType({ name, dir: multi, table: name, batchRows: 1000 }).replace(`table: ${name}`, `table: ${name}${target}`);
    const dir = await jobtypesDir({ [`${name}.yaml`]: def });
    const env = { DATABASE_URL: server.url };
    const runs = await Promise.all([0, 1, 2, 3].map(() => runCli(['run', '--jobtypes', dir, '--data-dir', dataDir, '--json'], { env })));
    for (const r of runs) expect(r.code, r.stderr).toBe(0);
    const loadedBy = runs.map((r) => JSON.parse(r.stdout).jobs[0].files.filter((f: { status: string }) => f.status === 'loaded').length);
    expect(loadedBy.reduce((a, b) => a + b, 0)).toBe(files);
    await expectExactlyOnce(name, files * per);
    const ledger = await q<{ status: string; n: number }>(`SELECT status, count(*)::int AS n FROM importer.files WHERE job_type = '${name}' GROUP BY status`);
    expect(ledger).toEqual([{ status: 'loaded', n: files }]);
  });
});
