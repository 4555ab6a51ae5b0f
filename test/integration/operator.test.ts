/** Operator experience: progress without a TTY, status, history, and scaffolding from a sample. */
import { copyFile, readFile } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { writeGeneratedCsv } from '../../bench/generate.js';
import { FIXTURES, ROOT, jobtypesDir, runCli, tempDir } from '../helpers/cli.js';
import { createTestDatabase, type TestDatabase } from '../helpers/db.js';

let db: TestDatabase;
let dataDir: string;
beforeAll(async () => {
  db = await createTestDatabase('ops');
  dataDir = await tempDir();
});
afterAll(async () => {
  await db?.drop();
});
const env = () => ({ DATABASE_URL: db.url });

describe('progress without a terminal', () => {
  it('prints plain progress lines with percent, rows/s, ETA and rejects, and no control codes', async () => {
    const src = await tempDir('importer-progress-');
    await writeGeneratedCsv(path.join(src, 'p.csv'), 60_000);
    const { generatedJobType } = await import('../../bench/generate.js');
    const dir = await jobtypesDir({ 'prog.yaml': generatedJobType({ name: 'prog', dir: src, table: 'prog' }) });
    const r = await runCli(['run', '--jobtypes', dir, '--progress-interval', '1', '--data-dir', dataDir], { env: env() });
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toMatch(/progress prog p\.csv: \d+%, \d+ rows, \d+ rows\/s, ETA \d+s, 0 rejects/);
    expect(r.stderr + r.stdout).not.toMatch(/\u001b\[/);
    const quiet = await runCli(['run', '--jobtypes', dir, '--quiet', '--force', '--progress-interval', '1', '--data-dir', dataDir], { env: env() });
    expect(quiet.code, quiet.stderr).toBe(0);
    expect(quiet.stdout).toMatch(/p\.csv\s+loaded\s+60,000\s/); // it did load the file again, quietly
    expect(quiet.stderr).not.toMatch(/progress/);
  });
});

describe('status and history', () => {
  it('show the last run per job type and past runs with their files', async () => {
    const jt = path.join(ROOT, 'jobtypes');
    expect((await runCli(['run', '--jobtypes', jt, '--data-dir', dataDir], { env: env() })).code).toBe(0);
    const st = await runCli(['status', '--jobtypes', jt, '--json'], { env: env() });
    expect(st.code, st.stderr).toBe(0);
    const rows = JSON.parse(st.stdout).jobtypes;
    const orders = rows.find((r: { name: string }) => r.name === 'orders');
    expect(orders).toMatchObject({ table: 'public.orders', schedule: '0 2 * * *', last_run: { status: 'succeeded', rows_loaded: 11, rows_rejected: 4, files_loaded: 2 } });
    expect(new Date(orders.next_fire).getUTCHours()).toBe(2);
    const text = await runCli(['status', '--jobtypes', jt], { env: env() });
    expect(text.stdout).toMatch(/orders\s+\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\s+succeeded\s+11\s+4/);
    const h = await runCli(['history', 'orders', '--limit', '1', '--json'], { env: env() });
    const runs = JSON.parse(h.stdout).runs;
    expect(runs).toHaveLength(1);
    expect(runs[0]).toMatchObject({ job_type: 'orders', status: 'succeeded', trigger: 'manual', rows_loaded: 11 });
    expect(runs[0].files.map((f: { path: string; status: string }) => [path.basename(f.path), f.status])).toEqual([
      ['orders-2026-11-01.csv', 'loaded'],
      ['orders-2026-11-02.csv', 'loaded'],
    ]);
  });
});

describe('importer new', () => {
  it('sniffs a sample into a definition that validates and loads every row with no rejects', async () => {
    const drop = await tempDir('importer-sample-');
    const sample = path.join(drop, 'Payments Export.csv');
    await copyFile(path.join(FIXTURES, 'scaffold', 'payments.csv'), sample);
    const dir = await tempDir('importer-newjt-');
    const r = await runCli(['new', 'payments', '--from', sample, '--jobtypes', dir]);
    expect(r.code, r.stderr).toBe(0);
    const yaml = await readFile(path.join(dir, 'payments.yaml'), 'utf8');
    expect(yaml).toContain('delimiter: ";"');
    for (const [name, type] of [
      ['payment_id', 'bigint'],
      ['customer_ref', 'text'],
      ['amount', 'numeric'],
      ['paid_on', 'date'],
      ['created_at', 'timestamptz'],
      ['is_refund', 'boolean'],
      ['items', 'integer'],
      ['zip', 'text'],
      ['comment', 'text'],
    ]) {
      expect(yaml, name).toMatch(new RegExp(`- name: ${name}\\n    type: ${type}\\n`));
    }
    expect(yaml).toContain('source: "Payment ID"');
    expect(yaml).toMatch(/- name: payment_id\n    type: bigint\n    source: "Payment ID"\n    required: true/);
    expect(yaml).toMatch(/- name: comment\n    type: text\n    source: "Comment"\n(?!    required)/);
    expect((await runCli(['jobtypes', 'validate', '--jobtypes', dir])).code).toBe(0);
    const load = await runCli(['run', 'payments', '--jobtypes', dir, '--json', '--data-dir', dataDir], { env: env() });
    expect(load.code, load.stderr).toBe(0);
    expect(JSON.parse(load.stdout).jobs[0].files[0]).toMatchObject({ status: 'loaded', rows_loaded: 6, rows_rejected: 0 });
    expect(await db.query('SELECT zip FROM payments ORDER BY payment_id LIMIT 1')).toEqual([{ zip: '01234' }]);
    const again = await runCli(['new', 'payments', '--from', sample, '--jobtypes', dir]);
    expect(again.code).toBe(2);
    expect(again.stderr).toContain('importer: USAGE: ');
    expect(again.stderr).toContain('--force'); // the message says what to do: that is the feature
  });
});
