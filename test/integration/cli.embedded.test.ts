/** Without DATABASE_URL the CLI starts its own embedded PostgreSQL, and stops it on exit. */
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { chmod, rm } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ROOT, runCli, tempDir } from '../helpers/cli.js';

function postgresRunningOn(dataDir: string): boolean {
  const ps = execFileSync('ps', ['-eo', 'args'], { encoding: 'utf8' });
  return ps.split('\n').some((l) => l.includes('postgres') && l.includes(dataDir));
}

let dataDir: string;
afterAll(async () => {
  if (dataDir) await rm(dataDir, { recursive: true, force: true });
});

describe('embedded PostgreSQL by default', () => {
  it('initialises on first run, loads the examples, reuses the data later, and leaves no server running', async () => {
    dataDir = await tempDir('importer-embedded-');
    const env = { DATABASE_URL: undefined, IMPORTER_DATA_DIR: dataDir };
    const first = await runCli(['run', '--jobtypes', path.join(ROOT, 'jobtypes'), '--json'], { env });
    expect(first.code, first.stderr).toBe(0);
    expect(first.stderr).toMatch(/database: postgres:\/\/importer:\*{4}@127\.0\.0\.1:\d+\/importer \(embedded/);
    // The first run says it initialises: that is what makes its absence on the second run mean something.
    expect(first.stderr).toContain('initialising the embedded PostgreSQL');
    expect(existsSync(path.join(dataDir, 'pg', 'PG_VERSION'))).toBe(true);
    expect(postgresRunningOn(dataDir)).toBe(false);

    const count = await runCli(['sql', 'select count(*) as n from orders', '--json'], { env });
    expect(count.code, count.stderr).toBe(0);
    expect(JSON.parse(count.stdout)).toEqual([{ n: '11' }]);
    expect(postgresRunningOn(dataDir)).toBe(false);

    const second = await runCli(['run', '--jobtypes', path.join(ROOT, 'jobtypes'), '--json'], { env });
    expect(second.code, second.stderr).toBe(0);
    expect(second.stderr).toMatch(/database: postgres:\/\/importer:\*{4}@127\.0\.0\.1:\d+\/importer \(embedded/); // it logs at info
    expect(second.stderr).not.toContain('initialising');
    const statuses = JSON.parse(second.stdout).jobs.flatMap((j: { files: Array<{ status: string }> }) => j.files.map((f) => f.status));
    expect(new Set(statuses)).toEqual(new Set(['skipped']));
    expect(postgresRunningOn(dataDir)).toBe(false);
  });

  it('warns before creating a new embedded database in a folder whose parent has one (run from the wrong folder)', async () => {
    // dataDir (from the test above, <tmp>/<name>) has a database; <tmp>/<new>/<name> is one folder down.
    const below = await tempDir('importer-below-');
    await chmod(below, 0o755); // as root, the server runs as postgres and must enter it
    const root = path.join(below, path.basename(dataDir));
    try {
      const r = await runCli(['status', '--jobtypes', path.join(ROOT, 'jobtypes'), '--data-dir', root], { env: { DATABASE_URL: undefined } });
      expect(r.code, r.stderr).toBe(0);
      expect(r.stderr).toContain(`creating a NEW embedded database in ${root}, but ${dataDir} already has one`);
    } finally {
      await rm(below, { recursive: true, force: true });
    }
  });
});

