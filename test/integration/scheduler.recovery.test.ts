/**
 * The scheduler finishes or redoes the fires a dead daemon left open (kill -9 of the daemon and its
 * import mid-file): the next daemon takes the fire over, marks it (`recovered_from`, reason
 * `recovered`), redoes it (the file resumes from its checkpoints and ends exact), and closes the
 * dead import's run as interrupted; a fire whose job type is gone is closed as abandoned.
 */
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generatedJobType, writeGeneratedCsv } from '../../bench/generate.js';
import { jobtypesDir, startCli, tempDir } from '../helpers/cli.js';
import { createTestDatabase, type TestDatabase } from '../helpers/db.js';

let db: TestDatabase;
let dataDir: string;
let big: string;
const ROWS = 200_000;
beforeAll(async () => {
  db = await createTestDatabase('recover');
  dataDir = await tempDir();
  big = await tempDir('importer-recover-');
  await writeGeneratedCsv(path.join(big, 'big.csv'), ROWS);
});
afterAll(async () => {
  await db?.drop();
});

async function waitFor<T>(fn: () => Promise<T | undefined | false>, what: string, ms = 90_000): Promise<T> {
  const until = Date.now() + ms;
  while (Date.now() < until) {
    const v = await fn().catch(() => undefined);
    if (v) return v;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`timed out waiting for ${what}`);
}

describe('importer schedule after a daemon died mid-fire', () => {
  it('redoes the fire the dead daemon left running, marks it, and the file ends exact', async () => {
    const dir = await jobtypesDir({ 'rec.yaml': generatedJobType({ name: 'rec', dir: big, table: 'rec', batchRows: 5000, extra: 'schedule: "0 0 1 1 *"\n' }) });
    const env = { DATABASE_URL: db.url };
    const first = startCli(['schedule', '--jobtypes', dir, '--run-now', '--data-dir', dataDir], { env });
    // Mid-file: at least one batch committed.
    const [run] = await waitFor(async () => {
      const rows = await db.query<{ pid: string }>(
        `SELECT r.pid FROM importer.runs r JOIN importer.files f ON f.run_id = r.id JOIN importer.checkpoints c ON c.file_id = f.id WHERE f.status = 'loading' LIMIT 1`,
      );
      return rows.length > 0 ? rows : undefined;
    }, 'a committed batch');
    // A machine crash, in effect: the daemon and its import die at once.
    first.child.kill('SIGKILL');
    process.kill(Number(run!.pid), 'SIGKILL');
    await first.done;
    const [open] = await db.query<{ status: string; instance: string }>(`SELECT status, instance FROM importer.schedule_fires WHERE job_type = 'rec'`);
    expect(open).toMatchObject({ status: 'running', instance: `${os.hostname()}:${first.child.pid}` });

    const second = startCli(['schedule', '--jobtypes', dir, '--data-dir', dataDir], { env });
    const fire = await waitFor(async () => {
      const rows = await db.query<{ status: string; reason: string; recovered_from: string; instance: string }>(
        `SELECT status, reason, recovered_from, instance FROM importer.schedule_fires WHERE job_type = 'rec'`,
      );
      return rows[0]?.status === 'succeeded' ? rows[0] : undefined;
    }, 'the redone fire');
    second.child.kill('SIGTERM');
    const end = await second.done;
    expect(end.code).toBe(143);
    expect(fire).toMatchObject({ reason: 'recovered', recovered_from: `${os.hostname()}:${first.child.pid}`, instance: `${os.hostname()}:${second.child.pid}` });
    expect(end.stderr).toContain('redoing a fire that a scheduler left open when it died');
    // Exact: every row once; the file loaded once (resumed); the dead import's run is closed.
    expect(await db.query('SELECT count(*)::int AS n, count(DISTINCT id)::int AS d FROM rec')).toEqual([{ n: String(ROWS), d: String(ROWS) }]);
    expect(await db.query(`SELECT status FROM importer.files WHERE job_type = 'rec'`)).toEqual([{ status: 'loaded' }]);
    const runs = await db.query<{ status: string; trigger: string }>(`SELECT jr.status, jr.trigger FROM importer.job_runs jr WHERE job_type = 'rec' ORDER BY id`);
    expect(runs).toEqual([
      { status: 'interrupted', trigger: 'schedule' },
      { status: 'succeeded', trigger: 'schedule' },
    ]);
    const h = await db.query<{ status: string; resumed: string }>(`SELECT status, resumed FROM importer.run_files WHERE job_type = 'rec'`);
    expect(h).toEqual([{ status: 'loaded', resumed: 't' }]);
  }, 180_000);

  it('closes as abandoned a fire a dead daemon left open for a job type that is gone', async () => {
    await db.query(
      `INSERT INTO importer.schedule_fires (job_type, fire_at, instance, status) VALUES ('gone', date_trunc('second', now()) - interval '1 minute', $1, 'running')`,
      [`${os.hostname()}:999999999`],
    );
    const dir = await jobtypesDir({ 'other.yaml': generatedJobType({ name: 'other', dir: big, table: 'other', extra: 'enabled: false\n' }) });
    const d = startCli(['schedule', '--jobtypes', dir, '--data-dir', dataDir], { env: { DATABASE_URL: db.url } });
    const row = await waitFor(async () => {
      const rows = await db.query<{ status: string; recovered_from: string; error: string }>(`SELECT status, recovered_from, error FROM importer.schedule_fires WHERE job_type = 'gone'`);
      return rows[0]?.status === 'abandoned' ? rows[0] : undefined;
    }, 'the abandoned fire');
    d.child.kill('SIGTERM');
    await d.done;
    expect(row.recovered_from).toBe(`${os.hostname()}:999999999`);
    expect(row.error).toMatch(/died during this fire, and the job type is gone/);
  }, 60_000);
});
