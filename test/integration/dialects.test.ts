/**
 * Issue 17's options and wrong results, loaded by the real CLI on a real PostgreSQL: each case is a
 * small file, a job type, and the exact rows the target must hold.
 */
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import YAML from 'yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { jobtypesDir, runCli, tempDir } from '../helpers/cli.js';
import { createTestDatabase, type TestDatabase } from '../helpers/db.js';

let db: TestDatabase;
beforeAll(async () => {
  db = await createTestDatabase('dialects');
}, 120_000);
afterAll(async () => {
  await db?.drop();
});

interface Case {
  name: string;
  text: string;
  csv?: Record<string, unknown>;
  columns?: Array<Record<string, unknown>>;
  errors?: Record<string, unknown>;
  rows: unknown[][];
  rejects?: Array<[number, string]>;
}

async function load(c: Case, threads = 0) {
  const src = await tempDir('importer-dialect-');
  await writeFile(path.join(src, `${c.name}.csv`), c.text);
  const table = `${c.name}_${threads}`;
  const dir = await jobtypesDir({
    [`${table}.yaml`]: YAML.stringify({
      name: table,
      source: { path: src },
      target: { table },
      csv: c.csv ?? {},
      columns: c.columns ?? [
        { name: 'id', type: 'integer' },
        { name: 'name', type: 'text' },
        { name: 'amount', type: 'numeric' },
      ],
      errors: c.errors ?? { max_rejects: 10 },
    }),
  });
  const r = await runCli(['run', '--jobtypes', dir, '--json', '--data-dir', await tempDir(), '--parse-threads', String(threads)], { env: { DATABASE_URL: db.url } });
  expect(r.code, r.stderr + r.stdout).toBe(0);
  const rows = await db.query<Record<string, unknown>>(`SELECT * FROM "${table}" ORDER BY 1`);
  const rejects = await db.query<{ line: string; code: string }>(`SELECT line, code FROM importer.rejects WHERE job_type = $1 ORDER BY line`, [table]);
  return { rows: rows.map((x) => Object.values(x)), rejects: rejects.map((x) => [Number(x.line), x.code]) };
}

const CASES: Case[] = [
  {
    // Wrong result 1: the quoted-empty check ignored the escape character.
    name: 'escape_quoted_empty',
    text: 'a,b,c\na,"b,c\\"",""\n',
    csv: { escape: '\\' },
    columns: [
      { name: 'a', type: 'text' },
      { name: 'b', type: 'text' },
      { name: 'c', type: 'text' },
    ],
    rows: [['a', 'b,c"', '']],
  },
  {
    // Wrong result 3: trim turned a quoted "    " into NULL; quoted text keeps its blanks.
    name: 'trim_quoted_blanks',
    text: 'id,name\n1,"    "\n2,   \n3,  x  \n4," y "\n',
    columns: [
      { name: 'id', type: 'integer' },
      { name: 'name', type: 'text', trim: true },
    ],
    rows: [
      [1, '    '],
      [2, null],
      [3, 'x'],
      [4, ' y '],
    ],
  },
  {
    name: 'short_rows_fill',
    text: 'id,name,amount\n1,a,1\n2,b\n3\n',
    csv: { on_short_row: 'fill' },
    columns: [
      { name: 'id', type: 'integer' },
      { name: 'name', type: 'text' },
      { name: 'amount', type: 'numeric', default: '0' },
    ],
    rows: [
      [1, 'a', '1'],
      [2, 'b', '0'],
      [3, null, '0'],
    ],
  },
  {
    name: 'long_rows_drop',
    text: 'id,name,amount\n1,a,1,x,y\n2,b,2\n',
    csv: { on_long_row: 'drop' },
    rows: [
      [1, 'a', '1'],
      [2, 'b', '2'],
    ],
  },
  {
    name: 'long_rows_default_reject',
    text: 'id,name,amount\n1,a,1,x\n2,b\n3,c,3\n',
    rows: [[3, 'c', '3']],
    rejects: [
      [2, 'CSV_RECORD_INCONSISTENT_FIELDS_LENGTH'],
      [3, 'CSV_RECORD_INCONSISTENT_FIELDS_LENGTH'],
    ],
  },
  {
    name: 'relax_quotes',
    text: 'id,name,amount\n1,5" pipe,1\n2,"ok",2\n',
    csv: { relax_quotes: true },
    rows: [
      [1, '5" pipe', '1'],
      [2, 'ok', '2'],
    ],
  },
  {
    name: 'broken_records',
    text: 'id,name,amount\n1,5" pipe,1\n2,"ok"x,2\n3,"multi\nline",3\n4,"never closed,4\n5,e,5\n',
    rows: [[3, 'multi\nline', '3']],
    rejects: [
      [2, 'CSV_INVALID_OPENING_QUOTE'],
      [3, 'CSV_INVALID_CLOSING_QUOTE'],
      [6, 'CSV_QUOTE_NOT_CLOSED'],
    ],
  },
  {
    name: 'comment_lines',
    text: '# exported 2026-12-02\nid,name,amount\n1,a,1\n# a note\n2,b,x\n3,c,3 # inline\n',
    csv: { comment: '#' },
    rows: [
      [1, 'a', '1'],
      [3, 'c', '3'],
    ],
    rejects: [[5, 'CAST_INVALID_NUMERIC']],
  },
  {
    name: 'cr_record_delimiter',
    text: 'id,name,amount\r1,a,1\r2,"x\ny",2\r3,c,z\r',
    csv: { record_delimiter: '\r' },
    rows: [
      [1, 'a', '1'],
      [2, 'x\ny', '2'],
    ],
    rejects: [[5, 'CAST_INVALID_NUMERIC']],
  },
  {
    name: 'file_wide_null_if',
    text: 'id,name,amount\n1,NA,NA\n2,b,2\n3,-,3\n',
    csv: { null_if: ['NA'] },
    columns: [
      { name: 'id', type: 'integer' },
      { name: 'name', type: 'text', null_if: ['-'] },
      { name: 'amount', type: 'numeric' },
    ],
    rows: [
      [1, null, null],
      [2, 'b', '2'],
      [3, null, '3'],
    ],
  },
  {
    name: 'skip_lines',
    text: 'Sales report\nGenerated "today\n\nid,name,amount\n1,a,1\n2,b,x\n',
    csv: { skip_lines: 3 },
    rows: [[1, 'a', '1']],
    rejects: [[6, 'CAST_INVALID_NUMERIC']],
  },
  {
    name: 'skip_lines_no_header',
    text: 'title line\r\n1,a,1\r\n2,b,y\r\n',
    csv: { skip_lines: 1, header: false },
    rows: [[1, 'a', '1']],
    rejects: [[3, 'CAST_INVALID_NUMERIC']],
  },
  {
    name: 'no_quoting',
    text: 'id,name,amount\n1,5" pipe,1\n2,"x",2\n',
    csv: { quote: false },
    rows: [
      [1, '5" pipe', '1'],
      [2, '"x"', '2'],
    ],
  },
];

describe('dialect options and the wrong results of issue 17, on a real server', () => {
  for (const c of CASES) {
    it(c.name, async () => {
      const r = await load(c);
      // Values as the server's text output (pg returns integers and numerics as strings here).
      expect(r.rows).toEqual(c.rows.map((row) => row.map((v) => (v === null ? null : String(v)))));
      expect(r.rejects).toEqual(c.rejects ?? []);
    }, 60_000);
  }
});

describe('a job type that matches no file (issue 17, wrong result 2)', () => {
  it('says so at warn level, with the pattern after ${ENV} expansion', async () => {
    const src = await tempDir('importer-nofile-');
    const dir = await jobtypesDir({
      'nofile.yaml': YAML.stringify({
        name: 'nofile',
        source: { path: src, pattern: 'orders_${NOFILE_DAY}.csv' },
        target: { table: 'nofile' },
        columns: [{ name: 'id', type: 'integer' }],
      }),
    });
    const r = await runCli(['run', '--jobtypes', dir, '--data-dir', await tempDir(), '--log-level', 'warn'], { env: { DATABASE_URL: db.url, NOFILE_DAY: '2026-12-02' } });
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toMatch(/no file matches source\.pattern/);
    expect(r.stderr).toMatch(/orders_2026-12-02\.csv/);
  }, 60_000);
});
