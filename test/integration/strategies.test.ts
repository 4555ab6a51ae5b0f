/**
 * Load strategies (target.strategy: staged | direct | batches) with server-side parsing, on a real
 * PostgreSQL: the same rows land, refused rows are one-row rejects, a file that fails midway
 * leaves nothing (staged, direct) or resumes after its committed batches (batches), never twice.
 */
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { jobtypesDir, runCli, tempDir } from '../helpers/cli.js';
import { createTestDatabase, type TestDatabase } from '../helpers/db.js';

let db: TestDatabase;
let dataDir: string;
beforeAll(async () => {
  db = await createTestDatabase('strategies');
  dataDir = await tempDir();
});
afterAll(async () => {
  await db?.drop();
});

const STRATEGIES = ['staged', 'direct', 'batches'] as const;

async function setup(name: string, target: string, extra = '') {
  const src = await tempDir('importer-strategies-');
  const dir = await jobtypesDir({
    [`${name}.yaml`]: `source: { path: ${JSON.stringify(src)} }
csv: { parser: server }
target: ${target}
columns:
  - { name: id, type: bigint, required: true }
  - { name: v, type: text }
  - { name: n, type: numeric }
errors: { max_rejects: 100 }
batch: { rows: 3 }
${extra}`,
  });
  const run = async (env: Record<string, string> = {}) => {
    const r = await runCli(['run', '--jobtypes', dir, '--data-dir', dataDir, '--json'], { env: { DATABASE_URL: db.url, ...env } });
    return { code: r.code, stderr: r.stderr, job: JSON.parse(r.stdout).jobs[0] };
  };
  return { src, run, write: (file: string, text: string) => writeFile(path.join(src, file), text) };
}

/** 10 records: a bad number on line 4, a repeated key on line 9 ("quoted,\nnewline" spans lines 6-7). */
const FILE = 'id,v,n\n1,a,1\n2,b,2\n3,c,oops\n4,"quoted,\nnewline",4\n5,e,5\n6,f,6\n2,dup,7\n7,g,7\n8,h,8\n9,i,9\n';

describe.each(STRATEGIES)('strategy %s (parser server, key [id])', (strategy) => {
  it('loads the good rows, rejects the bad one with its line, and handles a repeated key by strategy', async () => {
    const table = `s_${strategy}`;
    const t = await setup(table, `{ table: ${table}, key: [id], strategy: ${strategy} }`);
    await t.write('a.csv', FILE);
    const { code, stderr, job } = await t.run();
    expect(code, stderr).toBe(0);
    const f = job.files[0];
    expect(f.status).toBe('loaded');
    const rejects = await db.query<{ line: string; code: string }>(`SELECT line, code FROM importer.rejects WHERE job_type = $1 ORDER BY line`, [table]);
    const rows = await db.query<{ id: string; v: string }>(`SELECT id, v FROM ${table} ORDER BY id`);
    expect(rows.map((r) => Number(r.id))).toEqual([1, 2, 4, 5, 6, 7, 8, 9]);
    expect(rows.find((r) => r.id === '4')!.v).toBe('quoted,\nnewline');
    expect(rows.find((r) => r.id === '2')!.v).toBe('b');
    if (strategy === 'staged') {
      // Staged: a key already seen is a duplicate, skipped and counted.
      expect(rejects.map((r) => [Number(r.line), r.code])).toEqual([[4, 'CAST_INVALID_NUMERIC']]);
      expect(f.rows_duplicate).toBe(1);
    } else {
      // Straight into the target: the unique index refuses the row, which is a one-row reject.
      expect(rejects.map((r) => [Number(r.line), r.code])).toEqual([[4, 'CAST_INVALID_NUMERIC'], [9, 'PG_23505']]);
      expect(f.rows_rejected).toBe(2);
    }
  });

  it('a file that fails midway leaves nothing twice: the next run completes it exactly once', async () => {
    const table = `f_${strategy}`;
    const t = await setup(table, `{ table: ${table}, key: [id], strategy: ${strategy} }`);
    const lines = ['id,v,n', ...Array.from({ length: 30 }, (_, i) => `${i + 1},r${i + 1},${i}`)];
    await t.write('a.csv', lines.join('\n') + '\n');
    const failed = await t.run({ IMPORTER_FAULT: `${table}:throw-on-record:20` });
    expect(failed.job.files[0].status).toBe('failed');
    const visible = Number((await db.query<{ n: string }>(`SELECT count(*) AS n FROM ${table}`))[0]!.n);
    // batches: what is visible is exactly what the checkpoints vouch for; staged and direct: nothing is.
    const vouched = await db.query<{ n: string | null }>(
      `SELECT sum(c.rows) AS n FROM importer.checkpoints c JOIN importer.files f ON f.id = c.file_id WHERE f.job_type = $1`,
      [table],
    );
    expect(visible).toBe(strategy === 'batches' ? Number(vouched[0]!.n ?? 0) : 0);
    const again = await t.run();
    expect(again.code, again.stderr).toBe(0);
    expect(again.job.files[0].status).toBe('loaded');
    const rows = await db.query<{ id: string; copies: string }>(`SELECT id, count(*) AS copies FROM ${table} GROUP BY id ORDER BY id::int`);
    expect(rows.length).toBe(30);
    expect(rows.every((r) => r.copies === '1')).toBe(true);
    const rerun = await t.run();
    expect(rerun.job.files[0].status).toBe('skipped');
  });
});

describe('strategy combinations', () => {
  it.each([
    ['mode upsert with strategy batches', `{ table: x1, key: [id], mode: upsert, strategy: batches }`, '', /target\.strategy: mode upsert needs strategy staged/],
    ['lineage with strategy direct', `{ table: x2, lineage: true, strategy: direct }`, '', /target\.lineage: lineage needs strategy staged/],
    ['the client parser with strategy direct', `{ table: x3, strategy: direct }`, 'csv: { parser: client }', /target\.strategy: strategy direct needs the server parser, but csv\.parser is client/],
  ])('refuses %s, naming it', async (_what, target, csv, message) => {
    const src = await tempDir('importer-strategies-');
    const dir = await jobtypesDir({
      'bad.yaml': `source: { path: ${JSON.stringify(src)} }
${csv}
target: ${target}
columns:
  - { name: id, type: bigint }
`,
    });
    const r = await runCli(['run', '--jobtypes', dir, '--data-dir', dataDir], { env: { DATABASE_URL: db.url } });
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(message);
  });
});

describe('types only the server knows (csv.parser: server)', () => {
  it('loads inet, varchar(n) and arrays; a value too long is a one-row reject; an unknown type fails only its job type', async () => {
    const src = await tempDir('importer-types-');
    await writeFile(path.join(src, 'a.csv'), 'ip,code,tags\n10.0.0.1,ab,"{x,y}"\n::1,toolong,{}\nnot-an-ip,ok,{}\n');
    const dir = await jobtypesDir({
      'types.yaml': `source: { path: ${JSON.stringify(src)} }
csv: { parser: server }
target: { table: server_types }
columns:
  - { name: ip, type: inet }
  - { name: code, type: varchar(3) }
  - { name: tags, type: "text[]" }
errors: { max_rejects: 5 }
`,
      'unknown.yaml': `source: { path: ${JSON.stringify(src)} }
csv: { parser: server }
target: { table: unknown_types }
columns:
  - { name: ip, type: no_such_type }
`,
    });
    const r = await runCli(['run', '--jobtypes', dir, '--data-dir', dataDir, '--json'], { env: { DATABASE_URL: db.url } });
    expect(r.code).toBe(1);
    const report = JSON.parse(r.stdout);
    const types = report.jobs.find((j: { name: string }) => j.name === 'types');
    expect(types.files[0]).toMatchObject({ status: 'loaded', rows_loaded: 1, rows_rejected: 2 });
    expect(await db.query(`SELECT ip::text, code, tags::text FROM server_types`)).toEqual([{ ip: '10.0.0.1/32', code: 'ab', tags: '{x,y}' }]);
    const rejects = await db.query<{ line: string; code: string }>(`SELECT line, code FROM importer.rejects WHERE job_type = 'types' ORDER BY line`);
    expect(rejects.map((x) => [Number(x.line), x.code])).toEqual([[3, 'PG_22001'], [4, 'PG_22P02']]);
    const unknown = report.jobs.find((j: { name: string }) => j.name === 'unknown');
    expect(unknown.status).toBe('failed');
    expect(JSON.stringify(unknown)).toMatch(/columns\[0\]\.type: the server knows no type/);
  });

  it('keeps "did you mean" for a mistyped type under the other parsers', async () => {
    const src = await tempDir('importer-types-');
    const dir = await jobtypesDir({ 'typo.yaml': `source: { path: ${JSON.stringify(src)} }\ntarget: { table: typo }\ncolumns:\n  - { name: n, type: integr }\n` });
    const r = await runCli(['run', '--jobtypes', dir, '--data-dir', dataDir], { env: { DATABASE_URL: db.url } });
    expect(r.stderr).toMatch(/columns\[0\]\.type: unknown type "integr" \(did you mean "integer"\?\)/);
  });
});

describe('importer validate with a server and the server parser', () => {
  it('checks with PostgreSQL in a transaction it rolls back, and lists the lines the two parsers read differently', async () => {
    const src = await tempDir('importer-validate-');
    await writeFile(path.join(src, 'a.csv'), 'id,d,n\n1,2024-01-02,5\n2,20240102,6\n3,bad,7\n');
    const dir = await jobtypesDir({
      'v.yaml': `source: { path: ${JSON.stringify(src)} }\ntarget: { table: validated }\ncolumns:\n  - { name: id, type: integer }\n  - { name: d, type: date }\n  - { name: n, type: numeric }\nerrors: { max_rejects: 10 }\n`,
    });
    const r = await runCli(['validate', 'v', '--jobtypes', dir, '--json'], { env: { DATABASE_URL: db.url } });
    expect(r.code, r.stderr).toBe(0);
    const f = JSON.parse(r.stdout).files[0];
    expect(f).toMatchObject({ rows: 3, would_load: 2, rejected: 1 });
    expect(f.rejects.map((x: { line: number; code: string }) => [x.line, x.code])).toEqual([[4, 'CAST_INVALID_DATE']]);
    expect(f.warnings.join('\n')).toMatch(/line 3: PostgreSQL takes a value the client parser rejects \(CAST_INVALID_DATE/);
    expect(await db.query(`SELECT to_regclass('validated') AS t`)).toEqual([{ t: null }]);
  });
});
