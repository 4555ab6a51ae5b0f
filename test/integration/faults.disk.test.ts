/**
 * A full disk on the server (SQLSTATE 53100) while a file is staged: that file fails with the
 * server's error, recorded in the ledger and the --json report; the other files and job types of the
 * process go on, and once there is room the next run loads it exactly.
 *
 * The disk is a 3 MiB tmpfs holding a tablespace that the test database uses by default, so the
 * staging tables fill it. Mounting needs root (as CI runs); elsewhere the test says so and is skipped.
 */
import { execFileSync } from 'node:child_process';
import { mkdir, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generatedJobType, writeGeneratedCsv } from '../../bench/generate.js';
import { migrate } from '../../src/db/migrate.js';
import { jobtypesDir, runCli, tempDir } from '../helpers/cli.js';
import { createTestDatabase, type TestDatabase } from '../helpers/db.js';

const root = os.userInfo().uid === 0;
let db: TestDatabase;
let mountDir: string;
let mounted = false;
let serverUser = 'postgres';
const tablespace = `disk_${process.pid}`;

beforeAll(async () => {
  if (!root) return;
  db = await createTestDatabase('disk');
  mountDir = await tempDir('importer-disk-');
  execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=3m', 'tmpfs', mountDir]);
  mounted = true;
  // The server's own OS user must own the tablespace folder.
  const [{ pid }] = await db.query<{ pid: string }>('SELECT pg_backend_pid() AS pid');
  serverUser = execFileSync('ps', ['-o', 'user=', '-p', pid]).toString().trim();
  const ts = path.join(mountDir, 'ts');
  await mkdir(ts);
  execFileSync('chown', [serverUser, ts]);
  // The ledger's tables live on the normal disk: create them before staging moves to the small one.
  const c = new pg.Client({ connectionString: db.url });
  await c.connect();
  await migrate(c);
  await c.end();
  await db.query(`CREATE TABLESPACE ${tablespace} LOCATION '${ts}'`);
  await db.query(`ALTER DATABASE ${db.name} SET default_tablespace = ${tablespace}`);
});

afterAll(async () => {
  if (!root) return;
  await db?.drop();
  await db?.query(`DROP TABLESPACE IF EXISTS ${tablespace}`).catch(() => undefined);
  if (mounted) execFileSync('umount', ['-l', mountDir]);
  await rm(mountDir, { recursive: true, force: true });
});

describe('the server disk fills while staging', () => {
  it.skipIf(!root)('fails only that file (PG_53100), records it, and the next run loads it once there is room', async () => {
    const src = await tempDir('importer-disk-src-');
    await writeGeneratedCsv(path.join(src, 'big.csv'), 60_000); // ~10 MB staged: more than the disk holds
    const small = await tempDir('importer-disk-small-');
    await writeFile(path.join(small, 'a.csv'), 'id,v\n1,a\n2,b\n');
    const dir = await jobtypesDir({
      'disk_big.yaml': generatedJobType({ name: 'disk_big', dir: src, table: 'disk_big_t', batchRows: 2000 }).replace(
        'table: disk_big_t',
        'table: disk_big_t\n  create: false',
      ),
      'disk_small.yaml': `source: { path: ${JSON.stringify(small)} }\ntarget: { table: disk_small_t, create: false }\ncolumns:\n  - { name: id, type: integer }\n  - { name: v, type: text }\n`,
    });
    // Targets on the normal disk; only staging (created by the run) lands on the small one.
    await db.query(`CREATE TABLE public.disk_small_t (id integer, v text) TABLESPACE pg_default`);
    await db.query(
      `CREATE TABLE public.disk_big_t (id bigint, uuid uuid, customer text, email text, country text, amount numeric, quantity integer,
         price double precision, active boolean, created_at timestamptz, birth_date date, notes text) TABLESPACE pg_default`,
    );
    const env = { DATABASE_URL: db.url };
    const dataDir = await tempDir();
    const first = await runCli(['run', '--jobtypes', dir, '--data-dir', dataDir, '--json'], { env });
    expect(first.code, first.stderr).toBe(1);
    const report = JSON.parse(first.stdout);
    const big = report.jobs.find((j: { name: string }) => j.name === 'disk_big');
    const smallJob = report.jobs.find((j: { name: string }) => j.name === 'disk_small');
    expect(big.files[0]).toMatchObject({ status: 'failed', error: { code: 'PG_53100' } });
    expect(smallJob).toMatchObject({ status: 'succeeded', rows_loaded: 2 });
    expect(big.restarts).toBe(0);
    const [ledger] = await db.query<{ status: string; error_code: string }>(`SELECT status, error_code FROM importer.files WHERE job_type = 'disk_big'`);
    expect(ledger).toEqual({ status: 'failed', error_code: 'PG_53100' });
    expect(await db.query('SELECT count(*)::int AS n FROM public.disk_big_t')).toEqual([{ n: '0' }]);

    // Room again: staging back on the normal disk.
    await db.query(`ALTER DATABASE ${db.name} RESET default_tablespace`);
    const second = await runCli(['run', '--jobtypes', dir, '--data-dir', dataDir, '--json'], { env });
    expect(second.code, second.stderr).toBe(0);
    expect(await db.query('SELECT count(*)::int AS n, count(DISTINCT id)::int AS d FROM public.disk_big_t')).toEqual([{ n: '60000', d: '60000' }]);
  });
});
