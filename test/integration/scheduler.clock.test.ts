/**
 * One clock: a schedule with no timezone fires at the UTC time whatever TZ says, the daemon warns
 * that it is read in UTC while the machine's zone is not, and logs each next fire in UTC and in
 * the zone it uses.
 */
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FIXTURES, jobtypesDir, startCli, tempDir } from '../helpers/cli.js';
import { createTestDatabase, type TestDatabase } from '../helpers/db.js';

let db: TestDatabase;
beforeAll(async () => {
  db = await createTestDatabase('clock');
});
afterAll(async () => {
  await db?.drop();
});

describe('importer schedule reads a schedule without timezone in UTC', () => {
  it('fires at the UTC time under TZ=Asia/Kolkata, and says so', async () => {
    const at = new Date(Date.now() + 8000);
    const schedule = `${at.getUTCSeconds()} ${at.getUTCMinutes()} ${at.getUTCHours()} * * *`;
    const dir = await jobtypesDir({
      'utc.yaml': `name: clock_utc
schedule: "${schedule}"
source: { path: ${JSON.stringify(path.join(FIXTURES, 'roundtrip'))} }
target: { table: clock_utc }
columns: [{ name: id, type: integer }, { name: value, type: text }]
`,
    });
    const d = startCli(['schedule', '--jobtypes', dir, '--data-dir', await tempDir()], { env: { DATABASE_URL: db.url, TZ: 'Asia/Kolkata' } });
    const until = Date.now() + 60_000;
    let fired: Array<{ fire_at: string; status: string }> = [];
    while (Date.now() < until) {
      fired = await db.query<{ fire_at: string; status: string }>(`SELECT to_char(fire_at AT TIME ZONE 'UTC', 'HH24:MI:SS') AS fire_at, status FROM importer.schedule_fires WHERE job_type = 'clock_utc'`).catch(() => []);
      if (fired.some((f) => f.status === 'succeeded')) break;
      await new Promise((r) => setTimeout(r, 200));
    }
    d.child.kill('SIGTERM');
    const end = await d.done;
    const hhmmss = at.toISOString().slice(11, 19);
    expect(fired).toEqual([{ fire_at: hhmmss, status: 'succeeded' }]);
    // (ICU may name the zone by its older alias, Asia/Calcutta.)
    expect(end.stderr).toMatch(new RegExp(`clock_utc: schedule "${schedule.replace(/\*/g, '\\*')}" has no timezone, so it is read in UTC, not in this machine's zone \\(Asia/(Kolkata|Calcutta)\\)`));
    expect(end.stderr).toMatch(new RegExp(`clock_utc: next fire \\d{4}-\\d\\d-\\d\\dT${hhmmss}\\.000Z \\(\\d{4}-\\d\\d-\\d\\d ${hhmmss} UTC\\)`));
  }, 90_000);
});
