/**
 * Honest exit codes and output: --version, serve exits 143 on SIGTERM, sql runs several statements
 * and prints each result, new keeps a leading + as text, JSON logs carry ISO 8601 times, status
 * works without a ./jobtypes folder (the ledger knows the job types).
 */
import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ROOT, runCli, startCli, tempDir } from '../helpers/cli.js';
import { freePort } from '../helpers/wait.js';
import { createTestDatabase, type TestDatabase } from '../helpers/db.js';
import { useColor } from '../../src/cli/options.js';

let db: TestDatabase;
beforeAll(async () => {
  db = await createTestDatabase('honest');
});
afterAll(async () => {
  await db?.drop();
});
const env = () => ({ DATABASE_URL: db.url });

describe('honest exit codes and output', () => {
  it('--version prints the package version', async () => {
    const pkg = JSON.parse(await readFile(path.join(ROOT, 'package.json'), 'utf8')) as { version: string };
    const r = await runCli(['--version']);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain(`importer ${pkg.version}`);
  });

  it('serve exits 143 on SIGTERM, like run and schedule', async () => {
    const port = await freePort();
    const s = startCli(['serve', '--port', String(port), '--jobtypes', path.join(ROOT, 'jobtypes')], { env: env() });
    await new Promise<void>((resolve, reject) => {
      const t = setTimeout(() => reject(new Error('serve did not start')), 60_000);
      s.child.stdout!.on('data', (d: Buffer) => {
        if (d.toString().includes('dashboard:')) {
          clearTimeout(t);
          resolve();
        }
      });
    });
    s.child.kill('SIGTERM');
    expect((await s.done).code).toBe(143);
  }, 90_000);

  it('sql runs several statements and prints each result', async () => {
    const r = await runCli(['sql', 'select 1 as a; select 2 as b, 3 as c'], { env: env() });
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).not.toContain('undefined');
    expect(r.stdout).toMatch(/^a\n-+\n1\n\(1 row\)\n\nb \| c\n.*\n2 \| 3\n\(1 row\)\n$/);
    const j = await runCli(['sql', 'select 1 as a; select 2 as b', '--json'], { env: env() });
    expect(j.stdout.trim().split('\n').map((l) => JSON.parse(l))).toEqual([[{ a: '1' }], [{ b: '2' }]]);
    const one = await runCli(['sql', 'select 1 as a', '--json'], { env: env() });
    expect(JSON.parse(one.stdout)).toEqual([{ a: '1' }]);
  });

  it('new keeps a leading + as text (phone numbers), like leading zeros', async () => {
    const dir = await tempDir('importer-new-');
    const sample = path.join(dir, 'contacts.csv');
    await writeFile(sample, 'id,phone\n1,+4915112345678\n2,+4930123456\n');
    const r = await runCli(['new', 'contacts', '--from', sample, '--jobtypes', dir]);
    expect(r.code, r.stderr).toBe(0);
    const yaml = await readFile(path.join(dir, 'contacts.yaml'), 'utf8');
    expect(yaml).toMatch(/name: phone\n\s+type: text/);
  });

  it('JSON logs carry ISO 8601 times', async () => {
    const r = await runCli(['run', 'customers', '--jobtypes', path.join(ROOT, 'jobtypes'), '--log-format', 'json'], { env: env() });
    expect(r.code, r.stderr).toBe(0);
    const records = r.stderr.split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l) as { time: unknown });
    expect(records.length).toBeGreaterThan(0);
    for (const rec of records) expect(rec.time).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
  });

  it('status works without a ./jobtypes folder: the ledger knows the job types', async () => {
    const empty = await tempDir('importer-nowhere-');
    const r = await runCli(['status', '--json'], { env: env(), cwd: empty });
    expect(r.code, r.stderr).toBe(0);
    const rows = JSON.parse(r.stdout).jobtypes as Array<{ name: string; defined: boolean; last_run: { status: string } | null }>;
    expect(rows.find((x) => x.name === 'customers')).toMatchObject({ defined: false, last_run: { status: 'succeeded' } });
    const text = await runCli(['status'], { env: env(), cwd: empty });
    expect(text.stdout).toMatch(/customers\s+\d{4}-/);
  });

  it('colours only on a terminal, never with NO_COLOR or --no-color', () => {
    expect(useColor({}, {}, true)).toBe(true);
    expect(useColor({}, { NO_COLOR: '1' }, true)).toBe(false);
    expect(useColor({ color: false }, {}, true)).toBe(false);
    expect(useColor({}, {}, false)).toBe(false);
  });
});
