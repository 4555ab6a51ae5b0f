/**
 * The bad-input corpus (fixtures/bad/cases.yaml): every case either loads correctly or fails with a
 * stable code and a line, and the other files and job types carry on.
 */
import { copyFile, mkdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import YAML from 'yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FIXTURES, jobtypesDir, runCli, tempDir } from '../helpers/cli.js';
import { createTestDatabase, type TestDatabase } from '../helpers/db.js';

interface Case {
  file: string;
  name?: string;
  csv?: Record<string, unknown>;
  columns?: unknown[];
  errors?: Record<string, unknown>;
  expect: Expect;
  /** Uses an option only the client parser has. */
  client_only?: boolean;
  /** The whole outcome under parser server, where it differs. */
  server?: Expect;
}
interface Expect {
  status: string;
  code?: string;
  line?: number;
  message?: string;
  warning?: string;
  rejects?: Array<[number, string]>;
  rows: unknown[][];
}

const BAD = path.join(FIXTURES, 'bad');
let db: TestDatabase;
let manifest: { base: Record<string, unknown>; cases: Case[] };

beforeAll(async () => {
  db = await createTestDatabase('bad');
  manifest = YAML.parse(await readFile(path.join(BAD, 'cases.yaml'), 'utf8')) as typeof manifest;
});
afterAll(async () => {
  await db?.drop();
});

/**
 * The corpus runs under each parser. Under `server`, a case that uses an option only the client
 * parser has is left out (`client_only`), and `server:` in a case names where PostgreSQL's COPY
 * gives another, documented outcome.
 */
describe.each(['client', 'server'] as const)('bad input corpus, parser %s', (parser) => {
  let cases: Array<Case & { job: string }>;
  let report: { jobs: Array<{ name: string; status: string; files: Array<Record<string, any>> }> };
  let exitCode: number | null;

  beforeAll(async () => {
    cases = manifest.cases
      .filter((c) => parser === 'client' || !c.client_only)
      .map((c) => ({
        ...c,
        expect: parser === 'server' && c.server ? c.server : c.expect,
        job: `${parser}_${(c.name ?? c.file.replace(/\..*$/, '')).replace(/[^a-z0-9_]/gi, '_')}`,
      }));
    const src = await tempDir('importer-bad-');
    const defs: Record<string, string> = {};
    for (const c of cases) {
      const folder = path.join(src, c.job);
      await mkdir(folder);
      await copyFile(path.join(BAD, c.file), path.join(folder, c.file));
      defs[`${c.job}.yaml`] = YAML.stringify({
        name: c.job,
        source: { path: folder, pattern: '*' },
        csv: { ...c.csv, parser },
        target: { table: `bad_${c.job}` },
        columns: c.columns ?? manifest.base.columns,
        errors: c.errors ?? manifest.base.errors,
      });
    }
    const r = await runCli(['run', '--jobtypes', await jobtypesDir(defs), '--json', '--data-dir', await tempDir()], { env: { DATABASE_URL: db.url } });
    exitCode = r.code;
    report = JSON.parse(r.stdout);
  });

  it('runs every case, and exits 1 because some files fail', () => {
    expect(report.jobs).toHaveLength(cases.length);
    expect(exitCode).toBe(1);
  });

  it.each([0])('has a case for each file in fixtures/bad', async () => {
    const { readdir } = await import('node:fs/promises');
    const files = (await readdir(BAD)).filter((f) => f !== 'cases.yaml' && f !== 'README.md');
    expect(new Set(manifest.cases.map((c) => c.file))).toEqual(new Set(files.filter((f) => f !== 'evil_names.csv')));
  });

  it('matches the expected outcome of each case', async () => {
    for (const c of cases) {
      const job = report.jobs.find((j) => j.name === c.job)!;
      const f = job.files[0]!;
      const where = `${c.job} (${c.file})`;
      expect(f.status, where).toBe(c.expect.status);
      if (c.expect.code) expect(f.error?.code, where).toBe(c.expect.code);
      if (c.expect.line) expect(f.error?.line, where).toBe(c.expect.line);
      if (c.expect.message) expect(f.error?.message, where).toContain(c.expect.message);
      if (c.expect.warning) expect(f.warnings.join('\n'), where).toContain(c.expect.warning);
      const rejects = await db.query<{ line: string; code: string }>(
        `SELECT line, code FROM importer.rejects WHERE job_type = $1 AND file_id IN (SELECT id FROM importer.files WHERE job_type = $1) ORDER BY line`,
        [c.job],
      );
      if (c.expect.status === 'loaded') expect(rejects.map((r) => [Number(r.line), r.code]), where).toEqual(c.expect.rejects ?? []);
      const exists = await db.query(`SELECT to_regclass($1) AS t`, [`bad_${c.job}`]);
      const rows = exists[0]!.t ? await db.query<{ id: string; name: string; amount: string }>(`SELECT id, name, amount FROM bad_${c.job} ORDER BY id`) : [];
      expect(rows.map((r) => [Number(r.id), r.name, r.amount === null ? null : Number(r.amount)]), where).toEqual(c.expect.rows);
    }
  });

  it('names the file and the broken record\'s code in the error message', () => {
    const f = report.jobs.find((j) => j.name === `${parser}_unclosed_quote_no_rejects`)!.files[0]!;
    expect(f.error.message).toMatch(/unclosed_quote\.csv: .*Top reasons: CSV_QUOTE_NOT_CLOSED/);
  });
});

describe('identifiers from definitions and headers are only names', () => {
  it('loads a table and a column named like SQL injection, and shows <script> as data', async () => {
    const src = await tempDir('importer-evil-');
    await copyFile(path.join(BAD, 'evil_names.csv'), path.join(src, 'evil_names.csv'));
    await db.query('CREATE TABLE orders (id int)');
    const dir = await jobtypesDir({
      'evil.yaml': YAML.stringify({
        source: { path: src },
        target: { table: 'x"; drop table orders; --' },
        columns: [
          { name: 'id', type: 'integer' },
          { name: 'x"; drop table orders; --', type: 'text' },
        ],
      }),
    });
    const r = await runCli(['run', '--jobtypes', dir, '--json', '--data-dir', await tempDir()], { env: { DATABASE_URL: db.url } });
    expect(r.code, r.stderr).toBe(0);
    expect(await db.query(`SELECT "x""; drop table orders; --" AS v FROM "x""; drop table orders; --"`)).toEqual([{ v: '<script>alert(1)</script>' }]);
    expect(await db.query(`SELECT to_regclass('orders') IS NOT NULL AS still_there`)).toEqual([{ still_there: 't' }]);
  });
});
