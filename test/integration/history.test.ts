/**
 * Complete history: every run lists every file it touched with that run's outcome, never
 * overwritten by a later run (importer.run_files, migration 5); `history` filters by job type,
 * --failed and --since; the rejects of a file that failed on the threshold are kept and marked
 * not loaded; `rejects --csv` exports only rejects of loaded files unless --all; a job type that
 * nothing knows is an error.
 */
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { jobtypesDir, runCli, tempDir } from '../helpers/cli.js';
import { createTestDatabase, type TestDatabase } from '../helpers/db.js';

let db: TestDatabase;
let src: string;
let jt: string;
beforeAll(async () => {
  db = await createTestDatabase('history');
  src = await tempDir('importer-history-src-');
  jt = await jobtypesDir({
    'hist.yaml': `name: hist
source:
  path: ${src}
target:
  table: hist
errors:
  max_rejects: 0
columns:
  - name: id
    type: integer
    required: true
  - name: v
    type: text
`,
  });
});
afterAll(async () => {
  await db?.drop();
});

const cli = (args: string[]) => runCli([...args, '--jobtypes', jt], { env: { DATABASE_URL: db.url } });

interface HFile {
  path: string;
  status: string;
  reason: string | null;
  error_code: string | null;
}
interface HRun {
  run_id: number;
  status: string;
  files: HFile[];
}

async function historyJson(extra: string[] = []): Promise<HRun[]> {
  const h = await cli(['history', 'hist', '--json', ...extra]);
  expect(h.code, h.stderr).toBe(0);
  return JSON.parse(h.stdout).runs as HRun[];
}
const files = (r: HRun) => r.files.map((f) => [path.basename(f.path), f.status, f.reason ?? f.error_code]);

describe('complete history', () => {
  it('keeps each run with its own files after a --force rerun and two failed runs', async () => {
    await writeFile(path.join(src, 'a.csv'), 'id,v\n1,a\n2,b\n');
    expect((await cli(['run'])).code).toBe(0);
    expect((await cli(['run', '--force'])).code).toBe(0);
    await writeFile(path.join(src, 'b.csv'), 'id,v\n3,c\nnot-a-number,d\n');
    expect((await cli(['run'])).code).toBe(1);
    expect((await cli(['run'])).code).toBe(1);

    const runs = await historyJson();
    expect(runs).toHaveLength(4);
    const [fourth, third, second, first] = runs as [HRun, HRun, HRun, HRun];
    expect(files(first)).toEqual([['a.csv', 'loaded', null]]);
    expect(files(second)).toEqual([['a.csv', 'loaded', null]]);
    expect(files(third)).toEqual([
      ['a.csv', 'skipped', 'already loaded'],
      ['b.csv', 'failed', 'REJECT_THRESHOLD'],
    ]);
    expect(files(fourth)).toEqual(files(third));
    expect([first.status, second.status, third.status, fourth.status]).toEqual(['succeeded', 'succeeded', 'failed', 'failed']);

    const text = await cli(['history', 'hist']);
    expect(text.stdout).toMatch(/skipped\s+.*a\.csv .*\(already loaded\)/);
    expect(text.stdout).toMatch(/failed\s+.*b\.csv .*REJECT_THRESHOLD/);
  });

  it('filters by --failed and --since', async () => {
    const failed = await historyJson(['--failed']);
    expect(failed.map((r) => r.status)).toEqual(['failed', 'failed']);
    expect(await historyJson(['--since', '1h'])).toHaveLength(4);
    expect(await historyJson(['--since', '2999-01-01'])).toHaveLength(0);
    const bad = await cli(['history', '--since', 'yesterday-ish']);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('USAGE');
  });

  it('keeps the rejects of a file that failed on the threshold, marked not loaded; --csv exports them only with --all', async () => {
    const r = await cli(['rejects', 'hist', '--json']);
    expect(r.code, r.stderr).toBe(0);
    const rows = JSON.parse(r.stdout).rejects as Array<{ file: string; line: number; loaded: boolean; run_id: number }>;
    expect(rows.map((x) => [path.basename(x.file), x.line, x.loaded])).toEqual([['b.csv', 3, false]]);
    const runs = await historyJson();
    // The third run's rejects are kept (superseded by the fourth's attempt), under --run.
    const third = await cli(['rejects', 'hist', '--run', String(runs[1]!.run_id), '--json']);
    expect(JSON.parse(third.stdout).rejects).toHaveLength(1);
    const text = await cli(['rejects', 'hist']);
    expect(text.stdout).toContain('(file not loaded)');
    const csv = await cli(['rejects', 'hist', '--csv']);
    expect(csv.code, csv.stderr).toBe(0);
    expect(csv.stdout).not.toContain('not-a-number');
    const all = await cli(['rejects', 'hist', '--csv', '--all']);
    expect(all.stdout).toContain('not-a-number,d');
  });

  it('a job type nothing knows exits 2 with a suggestion, for rejects and history', async () => {
    for (const cmd of ['rejects', 'history']) {
      const r = await cli([cmd, 'histt']);
      expect(r.code, cmd).toBe(2);
      expect(r.stderr).toMatch(/JOBTYPE_UNKNOWN: unknown job type "histt" \(did you mean "hist"\?\)/);
    }
  });
});
