/**
 * The back-pressured pipeline on a real PostgreSQL: completeness under many settings, demand that
 * stops the producer, and one connection budget for 50 job types.
 */
import { cp, mkdir } from 'node:fs/promises';
import path from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generatedJobType, generatedRow, writeGeneratedCsv } from '../../bench/generate.js';
import { run } from '../../src/importer.js';
import { silentLogger } from '../../src/observability/logger.js';
import { jobtypesDir, runCli, tempDir } from '../helpers/cli.js';
import { createTestDatabase, type TestDatabase } from '../helpers/db.js';

let db: TestDatabase;
let dataDir: string;
beforeAll(async () => {
  db = await createTestDatabase('pipeline');
  dataDir = await tempDir();
});
afterAll(async () => {
  await db?.drop();
});

async function expectExactRows(table: string, rows: number): Promise<void> {
  const got = await db.query<Record<string, string | null>>(
    `SELECT id, uuid, customer, email, country, amount, quantity, price, active,
            to_char(created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI:SS') || '+00' AS created_at, birth_date, notes
       FROM ${table} ORDER BY id`,
  );
  expect(got.length).toBe(rows);
  for (let i = 1; i <= rows; i++) {
    const g = generatedRow(i);
    expect(got[i - 1]).toEqual({ ...g, active: g.active ? 't' : 'f' });
  }
}

describe('order and completeness', () => {
  const cases = [
    { name: 'batch_1', rows: 300, batchRows: 1, buffer: 1, consumers: 1 },
    { name: 'batch_larger_than_file', rows: 3000, batchRows: 100000, buffer: 4, consumers: 2 },
    { name: 'buffer_1_consumer_1', rows: 3000, batchRows: 7, buffer: 1, consumers: 1 },
    { name: 'buffer_3_consumers_4', rows: 3000, batchRows: 250, buffer: 3, consumers: 4 },
    // Over 4 MiB: parsed by worker threads, pieces cut on record boundaries (quoted newlines inside).
    { name: 'parse_threads_2', rows: 40000, batchRows: 3000, buffer: 2, consumers: 2, parseThreads: 2 },
  ];
  for (const c of cases) {
    it(`loads every row exactly once: ${c.rows} rows, batch ${c.batchRows}, buffer ${c.buffer}, consumers ${c.consumers}`, async () => {
      const src = await tempDir('importer-src-');
      await writeGeneratedCsv(path.join(src, 'data.csv'), c.rows);
      const dir = await jobtypesDir({ [`${c.name}.yaml`]: generatedJobType({ name: c.name, dir: src, table: c.name, batchRows: c.batchRows }) });
      const report = await run({
        jobtypesDir: dir,
        databaseUrl: db.url,
        dataDir,
        bufferBatches: c.buffer,
        consumers: c.consumers,
        maxConnections: c.consumers + 1,
        parseThreads: c.parseThreads ?? 0,
        logger: silentLogger(),
      });
      expect(report.status).toBe('succeeded');
      expect(report.jobs[0]!.files[0]).toMatchObject({ status: 'loaded', rows_loaded: c.rows, rows_rejected: 0 });
      await expectExactRows(c.name, c.rows);
    });
  }
});

describe('parsing in worker threads', () => {
  it('reports the same physical lines and offsets for rejects as the single-threaded parser', async () => {
    const src = await tempDir('importer-src-');
    const { generatedLine, GENERATED_HEADER } = await import('../../bench/generate.js');
    let text = GENERATED_HEADER + '\r\n';
    const expected: Array<[number, number]> = [];
    for (let i = 1; i <= 40000; i++) {
      let l = generatedLine(i);
      if (i % 4999 === 0) {
        l = l.replace(/^(\d+),/, '$1x,'); // a bad id
        expected.push([text.split(/\r\n|\n/).length, Buffer.byteLength(text)]);
      }
      text += l + '\r\n';
    }
    const { writeFile } = await import('node:fs/promises');
    await writeFile(path.join(src, 'crlf.csv'), text);
    const results: Array<Array<[number, number]>> = [];
    for (const threads of [0, 2]) {
      const name = `lines_threads_${threads}`;
      const dir = await jobtypesDir({ [`${name}.yaml`]: generatedJobType({ name, dir: src, table: name, batchRows: 5000, extra: 'errors: { max_rejects: 100 }\n' }) });
      const report = await run({ jobtypesDir: dir, databaseUrl: db.url, dataDir, parseThreads: threads, logger: silentLogger() });
      expect(report.jobs[0]!.files[0]).toMatchObject({ status: 'loaded', rows_loaded: 40000 - expected.length, rows_rejected: expected.length });
      const rows = await db.query<{ line: string; byte_offset: string }>(`SELECT line, byte_offset FROM importer.rejects WHERE job_type = $1 ORDER BY line`, [name]);
      results.push(rows.map((r) => [Number(r.line), Number(r.byte_offset)]));
    }
    expect(results[0]).toEqual(expected);
    expect(results[1]).toEqual(expected);
  });
});

describe('back-pressure', () => {
  it('stops reading while slow consumers have not asked for more', async () => {
    const src = await tempDir('importer-src-');
    const rows = 60_000;
    const fileBytes = await writeGeneratedCsv(path.join(src, 'big.csv'), rows);
    const dir = await jobtypesDir({ 'slow.yaml': generatedJobType({ name: 'slow', dir: src, table: 'slow', batchRows: 1000 }) });
    const buffer = 2;
    const consumers = 1;
    let takenEnd = 0;
    let maxBatchBytes = 0;
    let prevEnd = 0;
    let worstLead = 0;
    let samples = 0;
    const report = await run({
      jobtypesDir: dir,
      databaseUrl: db.url,
      dataDir,
      bufferBatches: buffer,
      consumers,
      logger: silentLogger(),
      // A deliberately slow consumer: every commit waits 40 ms first.
      beforeCommit: async (batch) => {
        maxBatchBytes = Math.max(maxBatchBytes, batch.endOffset - prevEnd);
        prevEnd = batch.endOffset;
        takenEnd = Math.max(takenEnd, batch.endOffset);
        await new Promise((r) => setTimeout(r, 40));
      },
      onFileProgress: (_jt, _file, m) => {
        samples++;
        worstLead = Math.max(worstLead, m.bytesRead - takenEnd);
      },
    });
    expect(report.status).toBe('succeeded');
    expect(report.jobs[0]!.files[0]).toMatchObject({ rows_loaded: rows });
    // What was read but not yet taken by a consumer: the buffer, the batch being built, the batch
    // waiting in put(), and the read streams' own buffers (256 KiB file chunks).
    const bound = (buffer + consumers + 2) * maxBatchBytes + 1024 * 1024;
    expect(samples).toBeGreaterThan(10);
    expect(fileBytes).toBeGreaterThan(4 * bound);
    expect(worstLead).toBeLessThanOrEqual(bound);
    expect(worstLead).toBeGreaterThan(0);
  });
});

describe('one connection budget', () => {
  it('runs 50 job types at once within --max-connections 3', async () => {
    const src = await tempDir('importer-src-');
    await writeGeneratedCsv(path.join(src, 'seed.csv'), 400);
    const defs: Record<string, string> = {};
    for (let i = 1; i <= 50; i++) {
      const folder = path.join(src, `jt${i}`);
      await mkdir(folder);
      await cp(path.join(src, 'seed.csv'), path.join(folder, 'part.csv'));
      defs[`jt${i}.yaml`] = generatedJobType({ name: `jt${i}`, dir: folder, table: `budget_${i}`, batchRows: 50 });
    }
    const dir = await jobtypesDir(defs);
    const sampler = new pg.Client({ connectionString: db.url });
    await sampler.connect();
    let peak = 0;
    let sampling = true;
    const samples: number[] = [];
    const loop = (async () => {
      while (sampling) {
        const { rows } = await sampler.query<{ n: number }>(
          `SELECT count(*)::int AS n FROM pg_stat_activity WHERE application_name = 'importer' AND datname = current_database()`,
        );
        samples.push(rows[0]!.n);
        peak = Math.max(peak, rows[0]!.n);
        await new Promise((r) => setTimeout(r, 5));
      }
    })();
    const r = await runCli(['run', '--jobtypes', dir, '--max-connections', '3', '--jobs', '50', '--json', '--data-dir', dataDir], { env: { DATABASE_URL: db.url } });
    sampling = false;
    await loop;
    await sampler.end();
    expect(r.code, r.stderr).toBe(0);
    const report = JSON.parse(r.stdout);
    expect(report.jobs).toHaveLength(50);
    expect(report.jobs.every((j: { status: string; rows_loaded: number }) => j.status === 'succeeded' && j.rows_loaded === 400)).toBe(true);
    expect(samples.length).toBeGreaterThan(5);
    expect(peak).toBeGreaterThan(0);
    expect(peak).toBeLessThanOrEqual(3);
  });
});
