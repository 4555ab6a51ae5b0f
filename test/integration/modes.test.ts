/** append (with and without key), upsert, replace and lineage, on a real PostgreSQL. */
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { jobtypesDir, runCli, tempDir } from '../helpers/cli.js';
import { createTestDatabase, type TestDatabase } from '../helpers/db.js';

let db: TestDatabase;
let dataDir: string;
beforeAll(async () => {
  db = await createTestDatabase('modes');
  dataDir = await tempDir();
});
afterAll(async () => {
  await db?.drop();
});

async function setup(name: string, target: string) {
  const src = await tempDir('importer-modes-');
  const dir = await jobtypesDir({
    [`${name}.yaml`]: `source: { path: ${JSON.stringify(src)} }
target: ${target}
columns:
  - { name: id, type: integer, required: true }
  - { name: v, type: text }
`,
  });
  const run = async () => {
    const r = await runCli(['run', '--jobtypes', dir, '--data-dir', dataDir, '--json'], { env: { DATABASE_URL: db.url } });
    expect(r.code, r.stderr).toBe(0);
    return JSON.parse(r.stdout).jobs[0];
  };
  return { src, dir, run, write: (file: string, text: string) => writeFile(path.join(src, file), text) };
}

describe('modes', () => {
  it('append with a key skips rows whose key exists, and counts them as duplicates', async () => {
    const t = await setup('app_key', '{ table: app_key, key: [id] }');
    await t.write('a.csv', 'id,v\n1,a\n2,b\n');
    await t.run();
    await t.write('b.csv', 'id,v\n2,B\n3,c\n3,c-again\n');
    const job = await t.run();
    const b = job.files.find((f: { path: string }) => f.path.endsWith('b.csv'));
    expect(b).toMatchObject({ status: 'loaded', rows_loaded: 1, rows_inserted: 1, rows_updated: 0, rows_duplicate: 2 });
    expect(await db.query('SELECT id, v FROM app_key ORDER BY id')).toEqual([
      { id: '1', v: 'a' },
      { id: '2', v: 'b' },
      { id: '3', v: 'c' },
    ]);
  });

  it('append without a key appends every row', async () => {
    const t = await setup('app_plain', '{ table: app_plain }');
    await t.write('a.csv', 'id,v\n1,a\n1,a\n');
    const job = await t.run();
    expect(job.files[0]).toMatchObject({ rows_loaded: 2, rows_inserted: 2 });
    expect(await db.query('SELECT count(*) AS n FROM app_plain')).toEqual([{ n: '2' }]);
  });

  it('upsert inserts new keys and updates existing ones; the last row of a key in a file wins', async () => {
    const t = await setup('ups', '{ table: ups, mode: upsert, key: [id] }');
    await t.write('a.csv', 'id,v\n1,a\n2,b\n');
    await t.run();
    await t.write('b.csv', 'id,v\n2,B\n3,c\n3,C\n');
    const job = await t.run();
    const b = job.files.find((f: { path: string }) => f.path.endsWith('b.csv'));
    expect(b).toMatchObject({ status: 'loaded', rows_inserted: 1, rows_updated: 1, rows_duplicate: 1 });
    expect(await db.query('SELECT id, v FROM ups ORDER BY id')).toEqual([
      { id: '1', v: 'a' },
      { id: '2', v: 'B' },
      { id: '3', v: 'C' },
    ]);
  });

  it('replace swaps in a fresh table built from the new files, keeping indexes', async () => {
    const t = await setup('repl', '{ table: repl, mode: replace, key: [id] }');
    await t.write('snap-1.csv', 'id,v\n1,a\n2,b\n3,c\n');
    await t.run();
    expect(await db.query('SELECT count(*) AS n FROM repl')).toEqual([{ n: '3' }]);
    await t.write('snap-2.csv', 'id,v\n7,x\n8,y\n');
    const job = await t.run();
    expect(job.files.map((f: { status: string; rows_loaded: number }) => [f.status, f.rows_loaded])).toEqual([
      ['skipped', 0],
      ['loaded', 2],
    ]);
    expect(await db.query('SELECT id, v FROM repl ORDER BY id')).toEqual([
      { id: '7', v: 'x' },
      { id: '8', v: 'y' },
    ]);
    const idx = await db.query<{ n: string }>(`SELECT count(*) AS n FROM pg_indexes WHERE tablename = 'repl'`);
    expect(idx).toEqual([{ n: '1' }]);
    const leftovers = await db.query(`SELECT tablename FROM pg_tables WHERE tablename LIKE 'repl%' OR schemaname = 'importer_staging'`);
    expect(leftovers).toEqual([{ tablename: 'repl' }]);
    // Nothing new: the table stays as it is.
    await t.run();
    expect(await db.query('SELECT count(*) AS n FROM repl')).toEqual([{ n: '2' }]);
  });

  it('lineage columns trace every row to its file, line and run', async () => {
    const t = await setup('lin', '{ table: lin, lineage: true }');
    await t.write('a.csv', 'id,v\n1,"two\nlines"\n2,b\n');
    await t.run();
    const rows = await db.query<{ id: string; _source_file: string; _source_line: string; run: string }>(
      'SELECT id, _source_file, _source_line, _run_id = (SELECT max(id) FROM importer.runs) AS run FROM lin ORDER BY id',
    );
    expect(rows.map((r) => [r.id, path.basename(r._source_file), r._source_line, r.run])).toEqual([
      ['1', 'a.csv', '2', 't'],
      ['2', 'a.csv', '4', 't'],
    ]);
  });
});

describe('permanent database errors', () => {
  it('a value the target refuses is a reject (the threshold fails its file); the next file still loads', async () => {
    await db.query('CREATE TABLE public.perm (id integer, v varchar(3))');
    const t = await setup('perm', '{ table: perm, create: false }');
    await t.write('a.csv', 'id,v\n1,toolong\n');
    await t.write('b.csv', 'id,v\n2,ok\n');
    const r = await runCli(['run', '--jobtypes', t.dir, '--json', '--data-dir', dataDir], {
      env: { DATABASE_URL: db.url },
    });
    expect(r.code).toBe(1);
    const files = JSON.parse(r.stdout).jobs[0].files;
    expect(files[0]).toMatchObject({ status: 'failed', error: { code: 'REJECT_THRESHOLD' }, rejects_by_reason: { PG_22001: 1 } });
    const [reject] = await db.query<{ code: string; message: string; record: string }>(`SELECT code, message, record FROM importer.rejects WHERE job_type = 'perm'`);
    expect(reject).toMatchObject({ code: 'PG_22001', record: '1,toolong' });
    expect(reject!.message).toContain('value too long for type character varying(3)');
    expect(files[1]).toMatchObject({ status: 'loaded', rows_loaded: 1 });
    expect(await db.query('SELECT id, v FROM public.perm')).toEqual([{ id: '2', v: 'ok' }]);
  });

  it('a column the target lacks fails the file at once with the server message', async () => {
    await db.query('CREATE TABLE public.nocol (id integer)');
    const t = await setup('nocol', '{ table: nocol, create: false }');
    await t.write('a.csv', 'id,v\n1,a\n');
    const r = await runCli(['run', '--jobtypes', t.dir, '--json', '--data-dir', dataDir], { env: { DATABASE_URL: db.url } });
    expect(r.code).toBe(1);
    const f = JSON.parse(r.stdout).jobs[0].files[0];
    expect(f).toMatchObject({ status: 'failed', error: { code: 'PG_42703' } });
    expect(f.error.message).toContain('"v"');
  });
});

describe('a missing privilege', () => {
  it('fails the job type at once with PG_42501, without restarts', async () => {
    const role = `imp_noc_${process.pid}`;
    await db.query(`CREATE ROLE ${role} LOGIN PASSWORD 'pw'`);
    // The ledger exists and is granted: only CREATE on the target's schema is missing.
    await runCli(['status', '--jobtypes', await jobtypesDir({}), '--data-dir', dataDir], { env: { DATABASE_URL: db.url } });
    await db.query(`GRANT ALL ON SCHEMA importer, importer_staging TO ${role}`);
    await db.query(`GRANT ALL ON ALL TABLES IN SCHEMA importer TO ${role}`);
    await db.query(`GRANT ALL ON ALL SEQUENCES IN SCHEMA importer TO ${role}`);
    await db.query(`CREATE SCHEMA locked`);
    await db.query(`REVOKE ALL ON SCHEMA locked FROM PUBLIC`);
    const t = await setup('nopriv', '{ table: locked.nopriv }');
    await t.write('a.csv', 'id,v\n1,a\n');
    const url = new URL(db.url);
    url.username = role;
    url.password = 'pw';
    const r = await runCli(['run', '--jobtypes', t.dir, '--json', '--data-dir', dataDir], { env: { DATABASE_URL: url.toString() } });
    expect(r.code, r.stderr).toBe(1);
    expect(r.stdout, r.stderr).not.toBe('');
    const job = JSON.parse(r.stdout).jobs[0];
    expect(job).toMatchObject({ status: 'failed', restarts: 0, error: { code: 'PG_42501' } });
    expect(r.stderr).not.toMatch(/restarting worker/);
  });
});
