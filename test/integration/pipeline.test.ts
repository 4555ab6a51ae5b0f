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
import { PIECE_BYTES } from '../../src/pipeline/poolSource.js';
import { silentLogger } from '../../src/observability/logger.js';
import { jobtypesDir, runCli, tempDir } from '../helpers/cli.js';
import { createTestDatabase, type TestDatabase } from '../helpers/db.js';

/** The parse threads are the client parser's: server-parsed files never use them. */
const CLIENT = 'csv: { parser: client }\n';

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
    // The client parser in the main thread (the cases above parse on the server).
    { name: 'client_inline', rows: 3000, batchRows: 250, buffer: 2, consumers: 2, client: true },
  ] as { name: string; rows: number; batchRows: number; buffer: number; consumers: number; parseThreads?: number; client?: boolean }[];
  for (const c of cases) {
    it(`loads every row exactly once: ${c.rows} rows, batch ${c.batchRows}, buffer ${c.buffer}, consumers ${c.consumers}`, async () => {
      const src = await tempDir('importer-src-');
      await writeGeneratedCsv(path.join(src, 'data.csv'), c.rows);
      const extra = c.parseThreads || c.client ? CLIENT : '';
      const dir = await jobtypesDir({ [`${c.name}.yaml`]: generatedJobType({ name: c.name, dir: src, table: c.name, batchRows: c.batchRows, extra }) });
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

describe('one parse-thread pool for the process', () => {
  it('serves files of several job types at once, each with its own header mapping', async () => {
    const { GENERATED_HEADER } = await import('../../bench/generate.js');
    const { writeFile } = await import('node:fs/promises');
    const rows = 40000; // ~6.6 MB per file: over the 4 MiB at which files go to the threads
    const names = GENERATED_HEADER.split(',');
    const csv = (v: string | boolean | null) => {
      const t = v === null ? '' : typeof v === 'boolean' ? String(v) : v;
      return /[",\n\r]/.test(t) ? `"${t.replace(/"/g, '""')}"` : t;
    };
    const defs: Record<string, string> = {};
    // Three orders of the same columns: the threads must apply each file's own mapping.
    const orders = [names, [...names].reverse(), [...names.slice(6), ...names.slice(0, 6)]];
    for (const [k, order] of orders.entries()) {
      const src = await tempDir('importer-src-');
      const lines = [order.join(',')];
      for (let i = 1; i <= rows; i++) {
        const g = generatedRow(i) as unknown as Record<string, string | boolean | null>;
        lines.push(order.map((n) => csv(g[n]!)).join(','));
      }
      await writeFile(path.join(src, 'data.csv'), lines.join('\n') + '\n');
      defs[`pool_${k}.yaml`] = generatedJobType({ name: `pool_${k}`, dir: src, table: `pool_${k}`, batchRows: 2500, extra: CLIENT });
    }
    const dir = await jobtypesDir(defs);
    const report = await run({ jobtypesDir: dir, databaseUrl: db.url, dataDir, jobs: 3, parseThreads: 2, maxConnections: 7, logger: silentLogger() });
    expect(report.status).toBe('succeeded');
    for (const k of [0, 1, 2]) {
      expect(report.jobs.find((j) => j.name === `pool_${k}`)!.files[0]).toMatchObject({ status: 'loaded', rows_loaded: rows, rows_rejected: 0 });
      await expectExactRows(`pool_${k}`, rows);
    }
  });
});

describe('a parse thread that dies', () => {
  it('fails only the file whose piece killed it; another file sharing the pool loads whole', async () => {
    const dirs: Record<string, string> = {};
    for (const name of ['thread_ok', 'thread_dies']) {
      const src = await tempDir('importer-src-');
      await writeGeneratedCsv(path.join(src, 'data.csv'), 40000); // over 4 MiB: parsed in the pool
      dirs[`${name}.yaml`] = generatedJobType({ name, dir: src, table: name, batchRows: 2500, extra: CLIENT });
    }
    const dir = await jobtypesDir(dirs);
    process.env.IMPORTER_FAULT = 'thread_dies:thread-exit';
    let report;
    try {
      report = await run({ jobtypesDir: dir, databaseUrl: db.url, dataDir, jobs: 2, parseThreads: 2, maxConnections: 5, logger: silentLogger() });
    } finally {
      delete process.env.IMPORTER_FAULT;
    }
    const file = (name: string) => report.jobs.find((j) => j.name === name)!.files[0]!;
    expect(file('thread_ok')).toMatchObject({ status: 'loaded', rows_loaded: 40000 });
    await expectExactRows('thread_ok', 40000);
    expect(file('thread_dies')).toMatchObject({ status: 'failed', error: { code: 'PARSE_THREAD_FAILED' } });
    // The error names the line where the dead thread's piece starts (a piece starts on a record after the header).
    expect(file('thread_dies').error!.line).toBeGreaterThan(1);
    // Nothing of the failed file is in its table, and the next run (without the fault) loads it.
    expect(await db.query('SELECT 1 FROM thread_dies LIMIT 1')).toHaveLength(0);
    const again = await run({ jobtypesDir: dir, databaseUrl: db.url, dataDir, jobs: 2, parseThreads: 2, maxConnections: 5, logger: silentLogger() });
    expect(again.jobs.find((j) => j.name === 'thread_dies')!.files[0]).toMatchObject({ status: 'loaded', rows_loaded: 40000 });
    await expectExactRows('thread_dies', 40000);
  });
});

describe('resuming with parse threads', () => {
  it('skips the committed records and their rejects, and loads the rest exactly once', async () => {
    const src = await tempDir('importer-src-');
    const { generatedLine, GENERATED_HEADER } = await import('../../bench/generate.js');
    const lines = [GENERATED_HEADER];
    const bad = new Set<number>();
    for (let i = 1; i <= 40000; i++) {
      if (i % 997 === 0) bad.add(i);
      lines.push(bad.has(i) ? generatedLine(i).replace(/^(\d+),/, '$1x,') : generatedLine(i));
    }
    const { writeFile } = await import('node:fs/promises');
    await writeFile(path.join(src, 'data.csv'), lines.join('\n') + '\n');
    const dir = await jobtypesDir({ 'resume_threads.yaml': generatedJobType({ name: 'resume_threads', dir: src, table: 'resume_threads', batchRows: 1000, extra: CLIENT + 'errors: { max_rejects: 100 }\n' }) });
    // First run: stopped (as by SIGTERM) after a few batches committed.
    const stop = new AbortController();
    let commits = 0;
    const first = await run({
      jobtypesDir: dir, databaseUrl: db.url, dataDir, parseThreads: 2, consumers: 1, logger: silentLogger(), signal: stop.signal,
      beforeCommit: async () => {
        if (++commits === 7) stop.abort();
      },
    });
    expect(first.jobs[0]!.files[0]).toMatchObject({ status: 'interrupted' });
    const [{ n: committed }] = await db.query<{ n: string }>(
      `SELECT sum(c.record_count) AS n FROM importer.checkpoints c JOIN importer.files f ON f.id = c.file_id WHERE f.job_type = 'resume_threads'`,
    ) as [{ n: string }];
    expect(Number(committed)).toBeGreaterThan(0);
    expect(Number(committed)).toBeLessThan(40000);
    // Second run: resumes in the threads and loads the rest.
    const second = await run({ jobtypesDir: dir, databaseUrl: db.url, dataDir, parseThreads: 2, logger: silentLogger() });
    expect(second.jobs[0]!.files[0]).toMatchObject({ status: 'loaded', resumed: true, rows_loaded: 40000 - bad.size, rows_rejected: bad.size });
    const got = await db.query<{ id: string }>('SELECT id FROM resume_threads ORDER BY id');
    expect(got.map((r) => Number(r.id))).toEqual(Array.from({ length: 40000 }, (_v, k) => k + 1).filter((i) => !bad.has(i)));
    const rejects = await db.query<{ line: string }>(`SELECT line FROM importer.rejects WHERE job_type = 'resume_threads' ORDER BY line`);
    // Record i starts on line i + 1, plus one line for every earlier record whose note has an
    // embedded newline (every 50th, except where the note is empty: every 7th).
    const lineOf = (i: number) => i + 1 + Array.from({ length: i - 1 }, (_v, k) => k + 1).filter((j) => j % 50 === 0 && j % 7 !== 0).length;
    expect(rejects.map((r) => Number(r.line))).toEqual([...bad].map(lineOf));
  });
});

describe('batches with either record source', () => {
  // Threads parse whole pieces (512 KiB) and inline parsing one read chunk at a time, but batches must
  // hold at most batch.rows records and about batch.bytes bytes either way: the checkpoints (the
  // transactions) and the lines and offsets they record must be the same.
  for (const [label, batch] of [
    ['batch.rows 700', '  bytes: 8388608\n'],
    ['batch.bytes 50000', '  bytes: 50000\n'],
  ] as const) {
    it(`cuts the same batches with and without parse threads: ${label}`, async () => {
      const src = await tempDir('importer-src-');
      const { generatedLine, GENERATED_HEADER } = await import('../../bench/generate.js');
      const lines = [GENERATED_HEADER];
      for (let i = 1; i <= 40000; i++) lines.push(i % 3001 === 0 ? generatedLine(i).replace(/^(\d+),/, '$1x,') : generatedLine(i));
      const { writeFile } = await import('node:fs/promises');
      await writeFile(path.join(src, 'data.csv'), lines.join('\n') + '\n');
      const checkpoints: unknown[] = [];
      for (const threads of [0, 2]) {
        const name = `cuts_${label.replace(/\W+/g, '_')}_${threads}`;
        const rows = batch.includes('50000') ? 100000 : 700;
        const def = generatedJobType({ name, dir: src, table: name, batchRows: rows, extra: batch + 'errors: { max_rejects: 100 }\n' });
        const dir = await jobtypesDir({ [`${name}.yaml`]: def });
        const report = await run({ jobtypesDir: dir, databaseUrl: db.url, dataDir, parseThreads: threads, logger: silentLogger() });
        expect(report.jobs[0]!.files[0]).toMatchObject({ status: 'loaded', rows_loaded: 40000 - 13, rows_rejected: 13 });
        const cps = await db.query<{ first_record: string; record_count: number; rows: number; rejects: number; last_line: string; end_offset: string }>(
          `SELECT c.first_record, c.record_count, c.rows, c.rejects, c.last_line, c.end_offset
             FROM importer.checkpoints c JOIN importer.files f ON f.id = c.file_id WHERE f.job_type = $1 ORDER BY c.first_record`,
          [name],
        );
        expect(cps.length).toBeGreaterThan(10);
        for (const c of cps) expect(Number(c.record_count)).toBeLessThanOrEqual(rows);
        checkpoints.push(cps);
      }
      expect(checkpoints[1]).toEqual(checkpoints[0]);
    });
  }
});

describe('back-pressure', () => {
  for (const threads of [0, 2]) {
  it(`stops reading while slow consumers have not asked for more (parse threads: ${threads})`, async () => {
    const src = await tempDir('importer-src-');
    // Big enough that the bound below is a small part of it (pieces of parse threads are large).
    const rows = threads > 0 ? 120_000 : 60_000;
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
      parseThreads: threads,
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
    // waiting in put(), and the read streams' own buffers (256 KiB file chunks); with parse threads
    // also the pieces in flight (two per thread) and the one being cut.
    const bound = (buffer + consumers + 2) * maxBatchBytes + 1024 * 1024 + (threads > 0 ? (2 * threads + 1) * PIECE_BYTES : 0);
    expect(samples).toBeGreaterThan(10);
    expect(fileBytes).toBeGreaterThan(4 * bound);
    expect(worstLead).toBeLessThanOrEqual(bound);
    expect(worstLead).toBeGreaterThan(0);
  });
  }
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
