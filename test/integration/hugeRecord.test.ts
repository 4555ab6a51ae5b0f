/**
 * The record limit holds on every parse path (issue 15 item 5, issue 17): a record past it is one
 * reject (CSV_MAX_RECORD_SIZE, its start line and byte offset), skipped in time linear in its size
 * with memory bounded by the limit, and the records after it load; the same with and without parse
 * threads. A file over 4 MiB parses in the threads when --parse-threads is 2.
 */
import { createWriteStream } from 'node:fs';
import { once } from 'node:events';
import path from 'node:path';
import YAML from 'yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { jobtypesDir, runCli, tempDir } from '../helpers/cli.js';
import { createTestDatabase, type TestDatabase } from '../helpers/db.js';

let db: TestDatabase;
let src: string;
const GOOD_BEFORE = 60_000;
const GOOD_AFTER = 1_000;

async function writeFile(file: string, parts: Array<string | { repeat: string; bytes: number }>): Promise<void> {
  const out = createWriteStream(file);
  for (const p of parts) {
    if (typeof p === 'string') {
      if (!out.write(p)) await once(out, 'drain');
      continue;
    }
    const block = p.repeat.repeat(Math.ceil((1 << 20) / p.repeat.length)).slice(0, 1 << 20);
    for (let n = 0; n < p.bytes; n += block.length) if (!out.write(block.slice(0, Math.min(block.length, p.bytes - n)))) await once(out, 'drain');
  }
  out.end();
  await once(out, 'finish');
}

const rows = (from: number, n: number) => Array.from({ length: n }, (_v, i) => `${from + i},name ${from + i}\n`).join('');

beforeAll(async () => {
  db = await createTestDatabase('huge');
  src = await tempDir('importer-huge-');
  // Good records, one 6 MB record (a quote that opens and closes around line breaks), good records,
  // a stray quote and text after a closing quote (one record each, on pieces cut by the same parser).
  await writeFile(path.join(src, 'middle.csv'), [
    'id,name\n',
    rows(1, GOOD_BEFORE),
    `${GOOD_BEFORE + 1},"`,
    { repeat: 'abc\n', bytes: 6 << 20 },
    '"\n',
    rows(GOOD_BEFORE + 2, GOOD_AFTER),
    '0,a "stray" quote\n0,"closed"then text\n',
    rows(GOOD_BEFORE + 2 + GOOD_AFTER, 10),
  ]);
  // One 60 MB line with no line break at all.
  await writeFile(path.join(src, 'oneline.csv'), ['id,name\n', { repeat: 'x', bytes: 60 << 20 }]);
}, 120_000);
afterAll(async () => {
  await db?.drop();
});

async function load(pattern: string, table: string, threads: number, parser: string) {
  const dir = await jobtypesDir({
    [`${table}.yaml`]: YAML.stringify({
      name: table,
      source: { path: src, pattern },
      csv: { parser },
      target: { table },
      columns: [
        { name: 'id', type: 'integer' },
        { name: 'name', type: 'text' },
      ],
      errors: { max_rejects: 3 },
    }),
  });
  const started = Date.now();
  const r = await runCli(['run', '--jobtypes', dir, '--json', '--data-dir', await tempDir(), '--parse-threads', String(threads)], { env: { DATABASE_URL: db.url } });
  const seconds = (Date.now() - started) / 1000;
  expect(r.code, r.stderr).toBe(0);
  const rejects = await db.query<{ line: string; code: string; record: string }>(
    `SELECT line, code, length(record) AS record FROM importer.rejects WHERE job_type = $1 ORDER BY line`,
    [table],
  );
  const [count] = await db.query<{ n: string }>(`SELECT count(*) AS n FROM "${table}"`);
  return { seconds, rejects, rows: Number(count!.n) };
}

describe('a record past the record limit', () => {
  for (const [parser, threads] of [['client', 0], ['client', 2], ['server', 0]] as const) {
    it(`is one CSV_MAX_RECORD_SIZE reject, and the records after it load (parser ${parser}, --parse-threads ${threads})`, async () => {
      const r = await load('middle.csv', `middle_${parser}_${threads}`, threads, parser);
      expect(r.rows).toBe(GOOD_BEFORE + GOOD_AFTER + 10);
      const after = GOOD_BEFORE + 2 + (6 << 20) / 4 + 1;
      expect(r.rejects.map((x) => [Number(x.line), x.code])).toEqual([
        [GOOD_BEFORE + 2, 'CSV_MAX_RECORD_SIZE'],
        [after + GOOD_AFTER, 'CSV_INVALID_OPENING_QUOTE'],
        [after + GOOD_AFTER + 1, 'CSV_INVALID_CLOSING_QUOTE'],
      ]);
      // Only the record's first bytes are kept in the quarantine.
      expect(Number(r.rejects[0]!.record)).toBeLessThan(8192);
    }, 120_000);

    it(`ends within seconds on a 60 MB line without a line break (parser ${parser}, --parse-threads ${threads})`, async () => {
      const r = await load('oneline.csv', `oneline_${parser}_${threads}`, threads, parser);
      expect(r.rows).toBe(0);
      expect(r.rejects.map((x) => [Number(x.line), x.code])).toEqual([[2, 'CSV_MAX_RECORD_SIZE']]);
      // Linear: about 1 s of parsing on a quiet machine; the bound leaves room for a loaded one (26 s seen
      // with two other suites running on 2 cores). Before, it took over a minute.
      expect(r.seconds).toBeLessThan(45);
    }, 120_000);
  }
});
