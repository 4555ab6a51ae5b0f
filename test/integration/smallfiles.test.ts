/**
 * Many small files (one batch each) load in one transaction each (db/smallFile.ts): each exactly
 * once, with its own ledger row, checkpoint and run record; a kill -9 in the middle leaves no file
 * half-loaded; instances running at once never load a file twice; file order still decides which
 * row wins with a key; a file that is not plain (rows the target refuses, more than one batch)
 * loads the ordinary way.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generatedJobType, generatedLine, GENERATED_HEADER } from '../../bench/generate.js';
import { jobtypesDir, runCli, startCli, tempDir } from '../helpers/cli.js';
import { createTestDatabase, type TestDatabase } from '../helpers/db.js';
import { waitFor } from '../helpers/wait.js';

let db: TestDatabase;
let dataDir: string;
beforeAll(async () => {
  db = await createTestDatabase('smallfiles');
  dataDir = await tempDir();
});
afterAll(async () => {
  await db?.drop();
});

/** `files` files of `rows` generated rows each: file i holds ids i*rows+1 … (i+1)*rows. */
async function smallFiles(files: number, rows: number): Promise<string> {
  const dir = await tempDir('importer-small-src-');
  await mkdir(dir, { recursive: true });
  for (let i = 0; i < files; i++) {
    const lines = [GENERATED_HEADER];
    for (let r = 1; r <= rows; r++) lines.push(generatedLine(i * rows + r));
    await writeFile(path.join(dir, `part-${String(i).padStart(4, '0')}.csv`), lines.join('\n') + '\n');
  }
  return dir;
}

const run = (dir: string, ...extra: string[]) => runCli(['run', '--jobtypes', dir, '--data-dir', dataDir, '--json', ...extra], { env: { DATABASE_URL: db.url } });

/** Every id 1…n exactly once in `table`. */
async function expectExactlyOnce(table: string, n: number): Promise<void> {
  const [r] = await db.query<{ n: string; d: string; s: string }>(`SELECT count(*) AS n, count(DISTINCT id) AS d, coalesce(sum(id), 0) AS s FROM ${table}`);
  expect(r).toEqual({ n: String(n), d: String(n), s: String((n * (n + 1)) / 2) });
}

describe('many small files', () => {
  it('load exactly once, each with one ledger row, one checkpoint and one run record; a rerun skips them all', async () => {
    const files = 230; // more than two groups of the worker's ledger look-ups
    const src = await smallFiles(files, 20);
    const dir = await jobtypesDir({ 'sf_many.yaml': generatedJobType({ name: 'sf_many', dir: src, table: 'sf_many' }) });
    const first = await run(dir);
    expect(first.code, first.stderr).toBe(0);
    const job = JSON.parse(first.stdout).jobs[0];
    expect(job.files).toHaveLength(files);
    expect(job.files.every((f: { status: string; rows_loaded: number; resumed: boolean }) => f.status === 'loaded' && f.rows_loaded === 20 && !f.resumed)).toBe(true);
    expect(job.files.map((f: { path: string }) => f.path)).toEqual([...job.files.map((f: { path: string }) => f.path)].sort());
    await expectExactlyOnce('sf_many', files * 20);
    const ledger = await db.query<{ status: string; n: string; rows: string; cps: string }>(
      `SELECT f.status, count(*) AS n, sum(f.rows_loaded) AS rows, sum((SELECT count(*) FROM importer.checkpoints c WHERE c.file_id = f.id)) AS cps
         FROM importer.files f WHERE job_type = 'sf_many' GROUP BY f.status`,
    );
    expect(ledger).toEqual([{ status: 'loaded', n: String(files), rows: String(files * 20), cps: String(files) }]);
    const runId = JSON.parse(first.stdout).run_id;
    expect(await db.query(`SELECT status, count(*) AS n FROM importer.run_files WHERE run_id = $1 GROUP BY status`, [runId])).toEqual([{ status: 'loaded', n: String(files) }]);

    const again = await run(dir);
    expect(again.code, again.stderr).toBe(0);
    const rerun = JSON.parse(again.stdout);
    expect(rerun.jobs[0].files.every((f: { status: string; reason: string }) => f.status === 'skipped' && f.reason === 'already loaded')).toBe(true);
    expect(await db.query(`SELECT status, reason, count(*) AS n FROM importer.run_files WHERE run_id = $1 GROUP BY 1, 2`, [rerun.run_id])).toEqual([
      { status: 'skipped', reason: 'already loaded', n: String(files) },
    ]);
    await expectExactlyOnce('sf_many', files * 20);

    // --force loads them all again (keyless append: every row twice), still one ledger row and one checkpoint each.
    const forced = await run(dir, '--force');
    expect(forced.code, forced.stderr).toBe(0);
    expect(await db.query(`SELECT count(*) AS n, count(DISTINCT id) AS d FROM sf_many`)).toEqual([{ n: String(files * 40), d: String(files * 20) }]);
    expect(await db.query(`SELECT count(*) AS n FROM importer.checkpoints c JOIN importer.files f ON f.id = c.file_id WHERE f.job_type = 'sf_many'`)).toEqual([{ n: String(files) }]);
  });

  it('keeps rejects with their file, skips a copy, and sends rows the target refuses and larger files the ordinary way', async () => {
    const src = await tempDir('importer-small-mixed-');
    await writeFile(path.join(src, 'a.csv'), 'id,v\n1,a\n2,b\nx,bad\n');
    await writeFile(path.join(src, 'b.csv'), 'id,v\n1,a\n2,b\nx,bad\n'); // the same bytes as a.csv
    await writeFile(path.join(src, 'c.csv'), 'id,v\n3,c\n4,' + 'x'.repeat(20) + '\n5,e\n'); // 4's v is too long for varchar(10)
    await writeFile(path.join(src, 'd.csv'), 'id,v\n' + Array.from({ length: 25 }, (_v, i) => `${100 + i},d`).join('\n') + '\n'); // 3 batches of 10
    await db.query('CREATE TABLE public.sf_mixed (id integer PRIMARY KEY, v varchar(10))');
    const dir = await jobtypesDir({
      'sf_mixed.yaml': `source: { path: ${JSON.stringify(src)} }
target: { table: sf_mixed, key: [id], create: false }
columns:
  - { name: id, type: integer, required: true }
  - { name: v, type: text }
errors: { max_rejects: 5 }
batch: { rows: 10 }
`,
    });
    const r = await run(dir);
    expect(r.code, r.stderr).toBe(0);
    const byName = Object.fromEntries(JSON.parse(r.stdout).jobs[0].files.map((f: { path: string }) => [path.basename(f.path), f]));
    expect(byName['a.csv']).toMatchObject({ status: 'loaded', rows_loaded: 2, rows_rejected: 1, rejects_by_reason: { CAST_INVALID_INTEGER: 1 } });
    expect(byName['b.csv']).toMatchObject({ status: 'skipped', reason: `already loaded as ${path.join(src, 'a.csv')}` });
    expect(byName['c.csv']).toMatchObject({ status: 'loaded', rows_loaded: 2, rows_rejected: 1, rejects_by_reason: { PG_22001: 1 } });
    expect(byName['d.csv']).toMatchObject({ status: 'loaded', rows_loaded: 25 });
    const rejects = await db.query<{ file: string; code: string; superseded: string }>(
      `SELECT file, code, superseded_at IS NOT NULL AS superseded FROM importer.rejects WHERE job_type = 'sf_mixed' ORDER BY file`,
    );
    expect(rejects.map((x) => [path.basename(x.file), x.code, x.superseded])).toEqual([
      ['a.csv', 'CAST_INVALID_INTEGER', 'f'],
      ['c.csv', 'PG_22001', 'f'],
    ]);
    const cps = await db.query<{ path: string; n: string }>(
      `SELECT f.path, count(c.*) AS n FROM importer.files f LEFT JOIN importer.checkpoints c ON c.file_id = f.id WHERE f.job_type = 'sf_mixed' GROUP BY f.path ORDER BY f.path`,
    );
    expect(cps.map((x) => [path.basename(x.path), x.n])).toEqual([
      ['a.csv', '1'],
      ['c.csv', '1'],
      ['d.csv', '3'],
    ]);
  });

  it('with a key, files still commit in name order: upsert keeps the last file’s row', async () => {
    const src = await tempDir('importer-small-order-');
    for (let i = 0; i < 40; i++) await writeFile(path.join(src, `f${String(i).padStart(2, '0')}.csv`), `id,v\n1,v${i}\n${i + 2},w${i}\n`);
    const dir = await jobtypesDir({
      'sf_order.yaml': `source: { path: ${JSON.stringify(src)} }
target: { table: sf_order, key: [id], mode: upsert }
columns:
  - { name: id, type: integer, required: true }
  - { name: v, type: text }
`,
    });
    const r = await run(dir, '--consumers', '3');
    expect(r.code, r.stderr).toBe(0);
    expect(await db.query('SELECT v FROM sf_order WHERE id = 1')).toEqual([{ v: 'v39' }]);
    expect(await db.query('SELECT count(*) AS n FROM sf_order')).toEqual([{ n: '41' }]);
  });
});

describe('faults', () => {
  it('a kill -9 in the middle leaves every file loaded whole or not at all; the next run loads the rest exactly once', async () => {
    const files = 400;
    const rows = 50;
    const src = await smallFiles(files, rows);
    const dir = await jobtypesDir({ 'sf_kill.yaml': generatedJobType({ name: 'sf_kill', dir: src, table: 'sf_kill' }) });
    const { child, done } = startCli(['run', '--jobtypes', dir, '--data-dir', dataDir, '--json'], { env: { DATABASE_URL: db.url } });
    const loaded = async () => Number((await db.query<{ n: string }>(`SELECT count(*) AS n FROM importer.files WHERE job_type = 'sf_kill' AND status = 'loaded'`).catch(() => [{ n: '0' }]))[0]!.n);
    expect(await waitFor(async () => (await loaded()) >= 30, 60_000), 'some files loaded').toBe(true);
    child.kill('SIGKILL');
    await done;
    // Each file's rows are in the target exactly when its ledger row says loaded (booleans come as text here).
    const perFile = await db.query<{ loaded: string; n: string }>(
      `SELECT f.status = 'loaded' AS loaded, count(t.id) AS n
         FROM importer.files f LEFT JOIN sf_kill t ON (t.id - 1) / ${rows} = substring(f.path FROM 'part-(\\d+)')::int
        WHERE f.job_type = 'sf_kill' GROUP BY f.id, f.status`,
    );
    const before = await loaded();
    expect(before).toBeLessThan(files);
    expect(perFile.filter((f) => f.loaded === 't')).toHaveLength(before);
    for (const f of perFile) expect(f.n).toBe(f.loaded === 't' ? String(rows) : '0');
    const [{ n: stray }] = await db.query<{ n: string }>(
      `SELECT count(*) AS n FROM sf_kill t WHERE NOT EXISTS (SELECT 1 FROM importer.files f WHERE f.job_type = 'sf_kill' AND f.status = 'loaded'
         AND (t.id - 1) / ${rows} = substring(f.path FROM 'part-(\\d+)')::int)`,
    );
    expect(stray).toBe('0');
    const second = await run(dir);
    expect(second.code, second.stderr).toBe(0);
    const counts = JSON.parse(second.stdout).jobs[0].files.reduce((m: Record<string, number>, f: { status: string }) => ({ ...m, [f.status]: (m[f.status] ?? 0) + 1 }), {});
    expect(counts).toEqual({ skipped: before, loaded: files - before });
    await expectExactlyOnce('sf_kill', files * rows);
  });

  it('four instances at once load every small file exactly once', async () => {
    const files = 300;
    const src = await smallFiles(files, 10);
    const dir = await jobtypesDir({ 'sf_multi.yaml': generatedJobType({ name: 'sf_multi', dir: src, table: 'sf_multi' }) });
    const runs = await Promise.all([0, 1, 2, 3].map(() => run(dir)));
    for (const r of runs) expect(r.code, r.stderr).toBe(0);
    const loadedBy = runs.map((r) => JSON.parse(r.stdout).jobs[0].files.filter((f: { status: string }) => f.status === 'loaded').length);
    expect(loadedBy.reduce((a, b) => a + b, 0)).toBe(files);
    await expectExactlyOnce('sf_multi', files * 10);
    expect(await db.query(`SELECT status, count(*) AS n FROM importer.files WHERE job_type = 'sf_multi' GROUP BY status`)).toEqual([{ status: 'loaded', n: String(files) }]);
  });
});
