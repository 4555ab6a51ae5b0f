/**
 * The parse threads give the same result as the inline parser for every dialect option: a file over
 * the pool's 4 MiB threshold, with ragged records, stray quotes and text after closing quotes spread
 * through it, loads into the same rows and rejects with --parse-threads 0 and 2, under each option.
 */
import { createWriteStream } from 'node:fs';
import { once } from 'node:events';
import { stat } from 'node:fs/promises';
import path from 'node:path';
import YAML from 'yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { jobtypesDir, runCli, tempDir } from '../helpers/cli.js';
import { createTestDatabase, type TestDatabase } from '../helpers/db.js';

let db: TestDatabase;
let src: string;
const ROWS = 160_000;

function line(i: number): string {
  if (i % 997 === 0) return `${i},short`; // a short record
  if (i % 1499 === 0) return `${i},long,${i},extra`; // a long record
  // Broken quotes only in the second half: the first half is cut into pieces for the threads, the
  // rest parses inline from the last cut once the splitter meets the first one.
  if (i > ROWS / 2 && i % 2003 === 0) return `${i},a 5" stray,${i}`; // a stray quote
  if (i > ROWS / 2 && i % 3001 === 0) return `${i},"closed"then,${i}`; // text after a closing quote
  if (i % 7 === 0) return `${i},"multi\nline, ""quoted""",${i}`;
  return `${i},name ${i} ${'x'.repeat(i % 20)},${i}`;
}

beforeAll(async () => {
  db = await createTestDatabase('dialthreads');
  src = await tempDir('importer-dialthreads-');
  const out = createWriteStream(path.join(src, 'ragged.csv'));
  out.write('id,name,amount\n');
  for (let i = 1; i <= ROWS; i++) if (!out.write(line(i) + '\n')) await once(out, 'drain');
  out.end();
  await once(out, 'finish');
  // Over POOL_MIN_BYTES (4 MiB): the pool parses it when there are threads.
  expect((await stat(path.join(src, 'ragged.csv'))).size).toBeGreaterThan(4.5 * 1024 * 1024);
}, 120_000);
afterAll(async () => {
  await db?.drop();
});

async function load(table: string, csv: Record<string, unknown>, threads: number) {
  const dir = await jobtypesDir({
    [`${table}.yaml`]: YAML.stringify({
      name: table,
      source: { path: src },
      target: { table },
      csv,
      columns: [
        { name: 'id', type: 'integer' },
        { name: 'name', type: 'text' },
        { name: 'amount', type: 'numeric' },
      ],
      errors: { max_rejects: '10%' },
    }),
  });
  const r = await runCli(['run', '--jobtypes', dir, '--json', '--data-dir', await tempDir(), '--parse-threads', String(threads)], { env: { DATABASE_URL: db.url } });
  expect(r.code, r.stderr).toBe(0);
  const [rows] = await db.query<{ n: string; md5: string }>(`SELECT count(*) AS n, md5(string_agg(t::text, '|' ORDER BY id)) AS md5 FROM "${table}" t`);
  const rejects = await db.query<{ line: string; code: string; record: string }>(
    `SELECT line, code, record FROM importer.rejects WHERE job_type = $1 ORDER BY line`,
    [table],
  );
  return { rows, rejects: rejects.map((x) => [Number(x.line), x.code, x.record]) };
}

const OPTIONS: Array<[string, Record<string, unknown>]> = [
  ['defaults', {}],
  ['options', { on_short_row: 'fill', on_long_row: 'drop', relax_quotes: true, null_if: ['name 7'] }],
];

describe('parse threads and the inline parser agree under every dialect option', () => {
  for (const [name, csv] of OPTIONS) {
    it(name, async () => {
      const inline = await load(`${name}_0`, csv, 0);
      const threads = await load(`${name}_2`, csv, 2);
      expect(threads.rows).toEqual(inline.rows);
      expect(threads.rejects).toEqual(inline.rejects);
      expect(Number(inline.rows!.n)).toBeGreaterThan(ROWS * 0.9);
    }, 180_000);
  }
});
