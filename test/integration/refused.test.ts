/**
 * One bad row rejects one row, for the server's errors too: a row the target refuses in the final
 * move (NOT NULL, CHECK, a foreign key, a unique constraint outside the key, a value too long) is
 * found, quarantined with its start line, byte offset, raw record, code PG_<sqlstate> and the
 * constraint, and the rest of the file loads; the threshold counts it like any other reject.
 */
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { jobtypesDir, runCli, tempDir } from '../helpers/cli.js';
import { createTestDatabase, type TestDatabase } from '../helpers/db.js';

let db: TestDatabase;
let dataDir: string;
beforeAll(async () => {
  db = await createTestDatabase('refused');
  dataDir = await tempDir();
  await db.query('CREATE TABLE public.parents (id integer PRIMARY KEY)');
  await db.query('INSERT INTO public.parents SELECT generate_series(1, 10)');
});
afterAll(async () => {
  await db?.drop();
});

const ROWS = 10_000;
const BAD = 7_345; // the violating row's id; it sits on line BAD + 1

/** id, v, parent, code: every row valid except row BAD, which `bad` rewrites. */
function file(bad: (id: number) => string): string {
  const lines = ['id,v,parent,code'];
  for (let i = 1; i <= ROWS; i++) lines.push(i === BAD ? bad(i) : `${i},v${i},${(i % 10) + 1},c${i}`);
  return lines.join('\n') + '\n';
}

const CASES = [
  { name: 'not_null', constraint: null, sqlstate: '23502', ddl: 'v text NOT NULL', bad: (i: number) => `${i},,1,c${i}` },
  { name: 'check', constraint: 'ref_check_v_short', sqlstate: '23514', ddl: 'v text CONSTRAINT ref_check_v_short CHECK (length(v) < 20)', bad: (i: number) => `${i},${'x'.repeat(30)},1,c${i}` },
  { name: 'fk', constraint: 'ref_fk_parent_fk', sqlstate: '23503', ddl: 'v text', bad: (i: number) => `${i},v${i},999,c${i}` },
  { name: 'unique', constraint: 'ref_unique_code_unique', sqlstate: '23505', ddl: 'v text', bad: (i: number) => `${i},v${i},1,c1` },
  { name: 'too_long', constraint: null, sqlstate: '22001', ddl: 'v varchar(10)', bad: (i: number) => `${i},${'y'.repeat(11)},1,c${i}` },
];

describe('a row the target refuses', () => {
  for (const c of CASES) {
    it(`${c.name}: rejects that row (PG_${c.sqlstate}, line, offset, record) and loads the other ${ROWS - 1}`, async () => {
      const table = `ref_${c.name}`;
      await db.query(
        `CREATE TABLE public.${table} (id integer PRIMARY KEY, ${c.ddl}, parent integer CONSTRAINT ${table}_parent_fk REFERENCES public.parents(id),
           code text CONSTRAINT ${table}_code_unique UNIQUE)`,
      );
      const src = await tempDir('importer-refused-');
      const text = file(c.bad);
      await writeFile(path.join(src, 'data.csv'), text);
      const dir = await jobtypesDir({
        [`${table}.yaml`]: `source: { path: ${JSON.stringify(src)} }
target: { table: ${table}, create: false, key: [id] }
columns:
  - { name: id, type: integer, required: true }
  - { name: v, type: text }
  - { name: parent, type: integer }
  - { name: code, type: text }
errors: { max_rejects: 10 }
batch: { rows: 1000 }
`,
      });
      const r = await runCli(['run', '--jobtypes', dir, '--data-dir', dataDir, '--json'], { env: { DATABASE_URL: db.url } });
      expect(r.code, r.stderr).toBe(0);
      const f = JSON.parse(r.stdout).jobs[0].files[0];
      expect(f).toMatchObject({ status: 'loaded', rows_loaded: ROWS - 1, rows_rejected: 1, rejects_by_reason: { [`PG_${c.sqlstate}`]: 1 } });
      const [{ n }] = await db.query<{ n: string }>(`SELECT count(*) AS n FROM public.${table} WHERE id <> ${BAD}`);
      expect(n).toBe(String(ROWS - 1));
      const rejects = await db.query<{ line: string; byte_offset: string; record: string; code: string; constraint_name: string | null }>(
        `SELECT line, byte_offset, record, code, constraint_name FROM importer.rejects WHERE job_type = '${table}'`,
      );
      const offset = Buffer.byteLength(text.slice(0, text.indexOf(`\n${c.bad(BAD)}\n`) + 1));
      expect(rejects).toEqual([{ line: String(BAD + 1), byte_offset: String(offset), record: c.bad(BAD), code: `PG_${c.sqlstate}`, constraint_name: c.constraint }]);
    });
  }

  it('counts refused rows against the threshold: past it, the file fails and nothing loads', async () => {
    const table = 'ref_threshold';
    await db.query(`CREATE TABLE public.${table} (id integer PRIMARY KEY, v text NOT NULL, parent integer, code text)`);
    const src = await tempDir('importer-refused-');
    await writeFile(path.join(src, 'data.csv'), 'id,v,parent,code\n1,a,1,x\n2,,1,x\n3,,1,x\n4,d,1,x\n');
    const dir = await jobtypesDir({
      [`${table}.yaml`]: `source: { path: ${JSON.stringify(src)} }
target: { table: ${table}, create: false }
columns:
  - { name: id, type: integer }
  - { name: v, type: text }
  - { name: parent, type: integer }
  - { name: code, type: text }
errors: { max_rejects: 1 }
`,
    });
    const r = await runCli(['run', '--jobtypes', dir, '--data-dir', dataDir, '--json'], { env: { DATABASE_URL: db.url } });
    expect(r.code).toBe(1);
    const f = JSON.parse(r.stdout).jobs[0].files[0];
    expect(f).toMatchObject({ status: 'failed', error: { code: 'REJECT_THRESHOLD' } });
    expect(f.error.message).toContain('PG_23502');
    expect(await db.query(`SELECT count(*)::int AS n FROM public.${table}`)).toEqual([{ n: '0' }]);
  });
});
