/**
 * Resume where it stopped: a file interrupted after most of its batches committed is not read and
 * parsed again from byte 0. A plain UTF-8 file is re-opened at the byte after its committed part;
 * a compressed or transcoded one is decoded but not parsed up to there. Either way the target ends
 * exact, and rejects keep their physical lines.
 */
import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { gzipSync } from 'node:zlib';
import iconv from 'iconv-lite';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generatedJobType, writeGeneratedCsv } from '../../bench/generate.js';
import { run } from '../../src/importer.js';
import type { MetricsSnapshot } from '../../src/observability/metrics.js';
import { silentLogger } from '../../src/observability/logger.js';
import { jobtypesDir, tempDir } from '../helpers/cli.js';
import { createTestDatabase, type TestDatabase } from '../helpers/db.js';

let db: TestDatabase;
let dataDir: string;
beforeAll(async () => {
  db = await createTestDatabase('resume');
  dataDir = await tempDir();
});
afterAll(async () => {
  await db?.drop();
});

const CASES = [
  { name: 'plain', file: 'data.csv', extra: '', seek: true, threads: 0, rows: 30_000 },
  // Over 4 MiB, so that it parses in the threads; large enough that the run is stopped while reading.
  { name: 'plain_threads', file: 'data.csv', extra: '', seek: true, threads: 2, rows: 100_000 },
  { name: 'gzip', file: 'data.csv.gz', extra: '', seek: false, threads: 0, rows: 30_000 },
  { name: 'latin1', file: 'data.csv', extra: 'csv: { encoding: latin1 }\n', seek: false, threads: 0, rows: 30_000 },
];

describe('a resumed file', () => {
  for (const c of CASES) {
    const ROWS = c.rows;
    const batches = ROWS / 1000;
    it(`starts past its committed part (${c.name}: ${c.seek ? 'seeks' : 'decodes but does not parse'}), and ends exact`, async () => {
      const src = await tempDir('importer-resume-');
      const csv = path.join(src, 'data.csv');
      await writeGeneratedCsv(csv, ROWS);
      // A reject every 1,000 records, to check lines after the resume point.
      let text = (await readFile(csv, 'utf8')).replace(/\n(\d*000),/g, '\n$1x,');
      if (c.name === 'plain') text = '\uFEFF' + text; // a BOM: the seek must account for it
      if (c.name === 'latin1') text = text.replace(/[^\x00-\xff]/g, '?');
      const bytes = c.name === 'latin1' ? iconv.encode(text, 'latin1') : Buffer.from(text);
      await writeFile(path.join(src, c.file), c.file.endsWith('.gz') ? gzipSync(bytes) : bytes);
      if (c.file.endsWith('.gz')) await writeFile(csv, ''); // only the .gz matches below
      const name = `resume_${c.name}`;
      const dir = await jobtypesDir({
        [`${name}.yaml`]: generatedJobType({ name, dir: src, table: name, pattern: c.file, batchRows: 1000, extra: c.extra + 'errors: { max_rejects: 100 }\n' }),
      });
      // First run: stop (as SIGTERM does) once 80% of the batches committed.
      const stop = new AbortController();
      let commits = 0;
      const first = await run({
        jobtypesDir: dir,
        databaseUrl: db.url,
        dataDir,
        logger: silentLogger(),
        signal: stop.signal,
        consumers: 1,
        parseThreads: c.threads,
        beforeCommit: async () => {
          if (++commits === batches * 0.8) stop.abort();
        },
      });
      expect(first.jobs[0]!.files[0]!.status).toBe('interrupted');
      const [{ n: committed }] = await db.query<{ n: string }>(
        `SELECT coalesce(sum(record_count), 0) AS n FROM importer.checkpoints c JOIN importer.files f ON f.id = c.file_id WHERE f.job_type = '${name}'`,
      );
      expect(Number(committed)).toBeGreaterThanOrEqual(ROWS * 0.75);
      expect(Number(committed)).toBeLessThan(ROWS);

      let last: MetricsSnapshot | undefined;
      const second = await run({
        jobtypesDir: dir,
        databaseUrl: db.url,
        dataDir,
        logger: silentLogger(),
        parseThreads: c.threads,
        onFileProgress: (_jt, _f, m) => (last = m),
      });
      expect(second.jobs[0]!.files[0]).toMatchObject({ status: 'loaded', resumed: true, rows_loaded: ROWS - batches, rows_rejected: batches });
      expect(last!.resume).toEqual({ record: Number(committed), offset: expect.any(Number), seek: c.seek });
      // Only the records after the resume point were parsed.
      expect(last!.producer.out).toBe(ROWS - Number(committed));
      const [r] = await db.query<{ n: string; d: string; s: string }>(`SELECT count(*) AS n, count(DISTINCT id) AS d, sum(id) AS s FROM ${name}`);
      const ids = Array.from({ length: ROWS }, (_v, i) => i + 1).filter((i) => i % 1000 !== 0);
      expect(r).toEqual({ n: String(ids.length), d: String(ids.length), s: String(ids.reduce((a, b) => a + b, 0)) });
      // Rejects on both sides of the resume point carry their physical lines.
      const rejects = await db.query<{ line: string; record: string }>(`SELECT line, record FROM importer.rejects WHERE job_type = '${name}' ORDER BY line`);
      expect(rejects).toHaveLength(batches);
      const lines = text.split('\n');
      for (const rj of rejects) expect(rj.record.startsWith(lines[Number(rj.line) - 1]!.replace(/^\uFEFF/, '')), `line ${rj.line}`).toBe(true);
      expect(rejects.map((rj) => rj.record.split(',')[0])).toEqual(Array.from({ length: batches }, (_v, i) => `${(i + 1) * 1000}x`));
    });
  }
});
