/** `importer run` end to end: the real CLI, as a child process, against a real PostgreSQL. */
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FIXTURES, ROOT, jobtypesDir, runCli } from '../helpers/cli.js';
import { createTestDatabase, type TestDatabase } from '../helpers/db.js';

let db: TestDatabase;
beforeAll(async () => {
  db = await createTestDatabase('run');
});
afterAll(async () => {
  await db?.drop();
});

const run = (args: string[]) => runCli(['run', ...args], { env: { DATABASE_URL: db.url } });

describe('importer run on the shipped examples', () => {
  it('loads every example job type, reports JSON on stdout and logs on stderr', async () => {
    const r = await run(['--jobtypes', path.join(ROOT, 'jobtypes'), '--json']);
    expect(r.stderr).toContain('database: postgres://');
    expect(r.code).toBe(0);
    const report = JSON.parse(r.stdout);
    const byName = Object.fromEntries(report.jobs.map((j: { name: string }) => [j.name, j]));
    expect(Object.keys(byName).sort()).toEqual(['customers', 'inventory', 'orders']);
    expect(byName.orders.status).toBe('succeeded');
    expect(byName.orders.files.map((f: { path: string; status: string; rows_loaded: number; rows_rejected: number }) => [path.basename(f.path), f.status, f.rows_loaded, f.rows_rejected])).toEqual([
      ['orders-2026-11-01.csv', 'loaded', 7, 3],
      ['orders-2026-11-02.csv', 'loaded', 4, 1],
    ]);
    expect(byName.inventory.files[0]).toMatchObject({ status: 'loaded', rows_loaded: 495, rows_rejected: 5 });
    expect(byName.customers.files[0]).toMatchObject({ status: 'loaded', rows_loaded: 5, rows_rejected: 1 });
  });

  it('stores the orders row by row, exactly', async () => {
    const rows = await db.query('SELECT order_id, customer_id, amount, ordered_at, paid, note FROM orders ORDER BY order_id');
    expect(rows).toEqual([
      { order_id: '1001', customer_id: 'C001', amount: '149.90', ordered_at: '2026-11-01 08:15:00+00', paid: 't', note: 'Gift wrap, please' },
      { order_id: '1002', customer_id: 'C002', amount: '20.00', ordered_at: '2026-11-01 09:02:11+00', paid: 't', note: null },
      {
        order_id: '1003',
        customer_id: 'C003',
        amount: '12345678901234567890.123456789',
        ordered_at: '2026-11-01 09:30:00+00',
        paid: 'f',
        note: 'Multi-line note:\nsecond line, with a comma',
      },
      { order_id: '1004', customer_id: 'C001', amount: '7.5', ordered_at: '2026-11-01 11:00:00+00', paid: 'f', note: 'She said "hi"' },
      { order_id: '1006', customer_id: 'C002', amount: '0.99', ordered_at: '2026-11-01 13:45:00+00', paid: 't', note: 'tab\tinside and back\\slash' },
      { order_id: '1009', customer_id: 'C006', amount: '100', ordered_at: '2026-11-01 16:20:00+00', paid: 't', note: 'Ünïcödé café ✓' },
      { order_id: '1010', customer_id: 'C002', amount: null, ordered_at: '2026-11-01 17:00:00+00', paid: null, note: 'empty amount and paid are NULL' },
      { order_id: '1011', customer_id: 'C007', amount: '12.00', ordered_at: '2026-11-02 08:00:00+00', paid: 't', note: '\\N is text here' },
      { order_id: '1012', customer_id: 'C001', amount: '999999.99', ordered_at: '2026-11-02 09:00:00+00', paid: 'f', note: '' },
      { order_id: '1013', customer_id: null, amount: '5.00', ordered_at: '2026-11-02 10:00:00+00', paid: 't', note: 'missing customer is allowed' },
      { order_id: '1014', customer_id: 'C004', amount: '3.14', ordered_at: '2026-11-02 12:00:00+00', paid: 't', note: 'last line has no newline' },
    ]);
  });

  it('quarantines each bad row in importer.rejects with its physical line, column and reason', async () => {
    const rows = await db.query(
      `SELECT job_type, file, line, column_name, code, record FROM importer.rejects WHERE job_type = 'orders' ORDER BY file, line`,
    );
    expect(rows.map((r) => ({ ...r, file: path.basename(String(r.file)) }))).toEqual([
      { job_type: 'orders', file: 'orders-2026-11-01.csv', line: '7', column_name: 'amount', code: 'CAST_INVALID_NUMERIC', record: '1005,C004,not-a-number,2026-11-01T12:00:00Z,true,bad amount' },
      { job_type: 'orders', file: 'orders-2026-11-01.csv', line: '9', column_name: 'ordered_at', code: 'CAST_INVALID_TIMESTAMP', record: '1007,C005,55.00,2026-13-01T14:00:00Z,true,bad month' },
      { job_type: 'orders', file: 'orders-2026-11-01.csv', line: '10', column_name: 'amount', code: 'CAST_INVALID_NUMERIC', record: '1008,C003,"1,5",2026-11-01T15:00:00Z,false,"comma is not a decimal here"' },
      { job_type: 'orders', file: 'orders-2026-11-02.csv', line: '5', column_name: 'order_id', code: 'REQUIRED_MISSING', record: ',C008,5.00,2026-11-02T11:00:00Z,true,missing order id is rejected' },
    ]);
  });

  it('upserts customers from a semicolon file with day-first dates', async () => {
    const rows = await db.query('SELECT customer_id, name, email, signup_date, vip FROM crm.customers ORDER BY customer_id');
    expect(rows).toEqual([
      { customer_id: 'C001', name: 'Ada Lovelace', email: 'ada@example.com', signup_date: '2015-12-10', vip: 't' },
      { customer_id: 'C002', name: 'Müller; Hans', email: 'hans@example.de', signup_date: '2020-02-01', vip: 'f' },
      { customer_id: 'C003', name: 'Grace Hopper', email: 'grace@example.com', signup_date: '2016-12-09', vip: 't' },
      { customer_id: 'C005', name: 'Zoë Ndlovu', email: 'zoe@example.za', signup_date: '2022-06-15', vip: 'f' },
      { customer_id: 'C006', name: 'Jean-Luc', email: null, signup_date: '2023-01-01', vip: null },
    ]);
  });

  it('decompresses gzip and records lineage', async () => {
    const [agg] = await db.query<{ n: string; lines: string; files: string }>(
      'SELECT count(*) AS n, count(DISTINCT _source_line) AS lines, count(DISTINCT _source_file) AS files FROM inventory',
    );
    expect(agg).toEqual({ n: '495', lines: '495', files: '1' });
    const [row] = await db.query('SELECT sku, quantity, attributes::text AS attributes, _source_line FROM inventory WHERE sku = $1', ['SKU-00001']);
    expect(row).toEqual({ sku: 'SKU-00001', quantity: '2652', attributes: '{"size": 1, "color": "red"}', _source_line: '2' });
  });

  it('skips every file on a second run, whatever it is called, and inserts nothing', async () => {
    const before = await db.query<{ n: string }>('SELECT count(*) AS n FROM orders');
    const r = await run(['--jobtypes', path.join(ROOT, 'jobtypes'), '--json']);
    expect(r.code).toBe(0);
    const report = JSON.parse(r.stdout);
    for (const job of report.jobs) for (const f of job.files) expect(f).toMatchObject({ status: 'skipped', reason: 'already loaded', rows_loaded: 0 });
    expect(await db.query('SELECT count(*) AS n FROM orders')).toEqual(before);
  });

  it('prints a summary table by default', async () => {
    const r = await run(['--jobtypes', path.join(ROOT, 'jobtypes'), 'orders']);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/JOB TYPE\s+FILE\s+STATUS\s+LOADED\s+REJECTED\s+SECONDS\s+ROWS\/S/);
    expect(r.stdout).toMatch(/fixtures\/orders\/orders-2026-11-01\.csv\s+skipped/);
  });
});

describe('text round trip', () => {
  it('keeps quotes, commas, newlines, CRLF, tabs, backslashes, \\N and non-ASCII byte for byte', async () => {
    const dir = await jobtypesDir({
      'roundtrip.yaml': `source: { path: ${JSON.stringify(path.join(FIXTURES, 'roundtrip'))} }
target: { table: roundtrip }
columns:
  - { name: id, type: integer }
  - { name: value, type: text }
`,
    });
    const r = await run(['--jobtypes', dir]);
    expect(r.code, r.stderr).toBe(0);
    const rows = await db.query<{ id: string; value: string | null }>('SELECT id, value FROM roundtrip ORDER BY id');
    expect(rows.map((x) => x.value)).toEqual([
      'plain',
      'comma, inside',
      'quote " inside',
      'newline\ninside',
      'crlf\r\ninside',
      'tab\tinside',
      'back\\slash',
      '\\N',
      'Ünïcödé ✓ 日本語 🚀',
      '',
      null,
      '  spaces kept  ',
      '\\.',
      '"',
      'a\\tb',
    ]);
  });
});

describe('definitions and usage', () => {
  it('reports an invalid definition with file and field path, runs the others, exits 1', async () => {
    const dir = await jobtypesDir({
      'good.yaml': `source: { path: ${JSON.stringify(path.join(FIXTURES, 'roundtrip'))} }
target: { table: good_rt }
columns: [{ name: id, type: integer }, { name: value, type: text }]
`,
      'bad.yaml': `source: { path: /nowhere }
target: { table: bad }
columns: [{ name: id, type: integr }]
`,
    });
    const r = await run(['--jobtypes', dir, '--json']);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/bad\.yaml: columns\[0\]\.type: unknown type "integr" \(did you mean "integer"\?\)/);
    const report = JSON.parse(r.stdout);
    expect(report.jobs.map((j: { name: string; status: string }) => [j.name, j.status])).toEqual([['good', 'succeeded']]);
    expect(report.invalid[0].name).toBe('bad');
    expect(await db.query('SELECT count(*) AS n FROM good_rt')).toEqual([{ n: '15' }]);
  });

  it('exits 2 when no definition is valid, and for an unknown job type', async () => {
    const dir = await jobtypesDir({ 'bad.yaml': 'target: { table: x }\n' });
    const none = await run(['--jobtypes', dir]);
    expect(none.code).toBe(2);
    expect(none.stderr).toContain('JOBTYPE_NONE_VALID');
    const unknown = await run(['--jobtypes', path.join(ROOT, 'jobtypes'), 'ordres']);
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toContain('importer: JOBTYPE_UNKNOWN: ');
    expect(unknown.stderr).toContain('(did you mean "orders"?)'); // the suggestion is the feature
    const badFlag = await runCli(['run', '--max-conections', '3']);
    expect(badFlag.code).toBe(2);
    expect(badFlag.stderr).toContain('--max-connections');
  });

  it('jobtypes list and validate', async () => {
    const list = await runCli(['jobtypes', 'list', '--jobtypes', path.join(ROOT, 'jobtypes'), '--json']);
    expect(list.code).toBe(0);
    const names = JSON.parse(list.stdout).jobtypes.map((j: { name: string; table: string; valid: boolean }) => [j.name, j.table, j.valid]);
    expect(names).toEqual([
      ['customers', 'crm.customers', true],
      ['inventory', 'public.inventory', true],
      ['orders', 'public.orders', true],
    ]);
    expect((await runCli(['jobtypes', 'validate', '--jobtypes', path.join(ROOT, 'jobtypes')])).code).toBe(0);
    const dir = await jobtypesDir({ 'bad.yaml': 'target: { table: x }\n' });
    const bad = await runCli(['jobtypes', 'validate', '--jobtypes', dir]);
    expect(bad.code).toBe(1);
    expect(bad.stdout).toContain('bad.yaml: source: is required');
  });

  it('never prints the database password', async () => {
    const u = new URL(db.url);
    if (!u.password) return; // the machine's trust-auth server has no password to leak
    const r = await run(['--jobtypes', path.join(ROOT, 'jobtypes'), '--log-level', 'debug']);
    expect(r.stderr + r.stdout).not.toContain(decodeURIComponent(u.password));
  });
});

describe('rejects and dry runs', () => {
  it('importer rejects lists the quarantine and exports a fixable CSV with the file header', async () => {
    const env = { DATABASE_URL: db.url };
    const list = await runCli(['rejects', 'orders', '--json'], { env });
    expect(list.code, list.stderr).toBe(0);
    const rejects = JSON.parse(list.stdout).rejects;
    expect(rejects.map((r: { line: number; code: string }) => [r.line, r.code])).toEqual([
      [7, 'CAST_INVALID_NUMERIC'],
      [9, 'CAST_INVALID_TIMESTAMP'],
      [10, 'CAST_INVALID_NUMERIC'],
      [5, 'REQUIRED_MISSING'],
    ]);
    expect(rejects[0]).toMatchObject({ job_type: 'orders', column_name: 'amount', message: 'column "amount": invalid input syntax for type numeric: "not-a-number"' });
    expect(typeof rejects[0].byte_offset).toBe('number');
    const csv = await runCli(['rejects', 'orders', '--csv', '--jobtypes', path.join(ROOT, 'jobtypes')], { env });
    expect(csv.code, csv.stderr).toBe(0);
    expect(csv.stdout).toBe(
      'Order ID,Customer ID,Amount (EUR),Ordered At,Paid,Note\n' +
        '1005,C004,not-a-number,2026-11-01T12:00:00Z,true,bad amount\n' +
        '1007,C005,55.00,2026-13-01T14:00:00Z,true,bad month\n' +
        '1008,C003,"1,5",2026-11-01T15:00:00Z,false,"comma is not a decimal here"\n' +
        ',C008,5.00,2026-11-02T11:00:00Z,true,missing order id is rejected\n',
    );
  });

  it('importer validate parses and casts without writing, and exits 1 when a file would fail', async () => {
    const before = await db.query('SELECT count(*) AS n FROM importer.files');
    const ok = await runCli(['validate', 'orders', '--jobtypes', path.join(ROOT, 'jobtypes'), '--json'], { env: { DATABASE_URL: db.url } });
    expect(ok.code, ok.stderr).toBe(0);
    const files = JSON.parse(ok.stdout).files;
    expect(files.map((f: { status: string; rows: number; would_load: number; rejected: number }) => [f.status, f.rows, f.would_load, f.rejected])).toEqual([
      ['ok', 10, 7, 3],
      ['ok', 5, 4, 1],
    ]);
    expect(files[0].rejects[0]).toMatchObject({ line: 7, column: 'amount', code: 'CAST_INVALID_NUMERIC' });
    const bad = await runCli(['validate', 'orders', path.join(FIXTURES, 'bad', 'unclosed_quote.csv'), '--jobtypes', path.join(ROOT, 'jobtypes')]);
    expect(bad.code).toBe(1);
    expect(bad.stdout).toMatch(/HEADER_MISSING_COLUMN/);
    expect(await db.query('SELECT count(*) AS n FROM importer.files')).toEqual(before);
  });
});
