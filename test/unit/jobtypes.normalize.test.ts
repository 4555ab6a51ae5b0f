import { describe, expect, it } from 'vitest';
import path from 'node:path';
import YAML from 'yaml';
import { generatedJobType } from '../../bench/generate.js';
import { normalizeJobType } from '../../src/jobtypes/normalize.js';
import { formatProblem } from '../../src/jobtypes/load.js';

const base = () => ({
  source: { path: '../data' },
  target: { table: 'orders' },
  columns: [
    { name: 'order_id', type: 'bigint', required: true },
    { name: 'amount', type: 'numeric', source: 'Amount (EUR)' },
  ],
});
const FILE = '/defs/orders.yaml';

function problems(raw: unknown) {
  const r = normalizeJobType(raw, FILE, {});
  if (r.ok) throw new Error('expected problems');
  return r.problems.map((p) => `${p.path}: ${p.message}`);
}

describe('jobtypes normalize', () => {
  it('fills every default once and freezes the result', () => {
    const r = normalizeJobType(base(), FILE, {});
    expect(r.ok).toBe(true);
    if (!r.ok) return;
    const jt = r.jobType;
    expect(jt.name).toBe('orders');
    expect(jt.source).toEqual({ dir: path.resolve('/defs/../data'), pattern: '*.csv', settleSeconds: 0 });
    expect(jt.pipeline).toEqual({ bufferBatches: 4, consumers: 2 });
    expect(jt.csv).toEqual({ delimiter: ',', quote: '"', escape: '"', quoting: true, header: true, encoding: 'utf8', maxFieldBytes: 1048576, onExtraColumns: 'ignore', parser: 'server', parserChoice: 'auto', clientOnly: [], relaxQuotes: false, onShortRow: 'reject', onLongRow: 'reject', comment: undefined, recordDelimiter: undefined, skipLines: 0 });
    expect(jt.target).toEqual({ schema: 'public', table: 'orders', create: true, mode: 'append', key: [], lineage: false, strategy: 'staged' });
    expect(jt.maxRejects).toEqual({ kind: 'count', value: 0, text: '0' });
    expect(jt.batch).toEqual({ rows: 10000, bytes: 8388608, flushMs: 1000 });
    expect(jt.columns[1]).toMatchObject({ name: 'amount', source: 'Amount (EUR)', trim: true, required: false });
    expect(Object.isFrozen(jt)).toBe(true);
    expect(Object.isFrozen(jt.columns[0])).toBe(true);
  });

  it('names the field path and suggests the right type', () => {
    const raw = base();
    (raw.columns[0] as { type: string }).type = 'integr';
    expect(problems(raw)).toEqual([
      'columns[0].type: unknown type "integr" (did you mean "integer"?); expected one of text, integer, bigint, smallint, numeric, real, double, boolean, date, timestamp, timestamptz, uuid, json, jsonb (or any PostgreSQL type, with csv.parser: server)',
    ]);
  });

  it('formats problems as file: path: message', () => {
    const raw = base();
    (raw.columns[0] as { type: string }).type = 'integr';
    const r = normalizeJobType(raw, FILE, {});
    if (r.ok) throw new Error('expected problems');
    expect(formatProblem(FILE, r.problems[0]!, '/')).toMatch(/^defs\/orders\.yaml: columns\[0\]\.type: unknown type "integr" \(did you mean "integer"\?\)/);
  });

  it('rejects unknown fields with a suggestion', () => {
    expect(problems({ ...base(), csv: { delimter: ';' } })).toEqual(['csv.delimter: unknown field "delimter" (did you mean "delimiter"?)']);
  });

  it('requires source, target and columns', () => {
    expect(problems({})).toEqual(['source: is required', 'target: is required', 'columns: is required']);
  });

  it('checks keys, modes, tables, schedules, time zones and max_rejects', () => {
    expect(problems({ ...base(), target: { table: 'orders', key: ['order'] } })).toEqual(['target.key[0]: "order" is not a column (did you mean "order_id"?)']);
    expect(problems({ ...base(), target: { table: 'orders', mode: 'upsert' } })).toEqual(['target.key: mode upsert needs a key']);
    expect(problems({ ...base(), target: { table: 'a.b.c' } })).toEqual(['target.table: "a.b.c" must be "table" or "schema.table"']);
    expect(problems({ ...base(), schedule: 'every night' })).toEqual(['schedule: "every night" is not a valid cron expression (5 or 6 fields)']);
    expect(problems({ ...base(), timezone: 'Mars/Olympus' })).toEqual(['timezone: unknown time zone "Mars/Olympus"']);
    expect(problems({ ...base(), errors: { max_rejects: 'lots' } })).toEqual(['errors.max_rejects: must be a count like 100 or a percentage like "1%"']);
  });

  it('rejects duplicate columns and duplicate sources', () => {
    const raw = base();
    raw.columns.push({ name: 'order_id', type: 'text', required: false });
    expect(problems(raw)).toContain('columns[2].name: duplicate column "order_id"');
  });

  it('keeps globs inside the source folder', () => {
    expect(problems({ ...base(), source: { path: 'x', pattern: '../*.csv' } })).toEqual(['source.pattern: must stay inside source.path (no absolute paths or "..")']);
  });

  it('expands ${ENV} in source.path and reports unset variables', () => {
    const ok = normalizeJobType({ ...base(), source: { path: '${DROP}/orders' } }, FILE, { DROP: '/srv/drop' });
    expect(ok.ok && ok.jobType.source.dir).toBe('/srv/drop/orders');
    expect(problems({ ...base(), source: { path: '${NOPE}/orders' } })).toEqual(['source.path: environment variable NOPE is not set']);
  });

  it('expands ${ENV} in source.pattern too, and an unset one is a definition error (issue 17, wrong result 2)', () => {
    const ok = normalizeJobType({ ...base(), source: { path: '/srv', pattern: 'orders_${DAY}.csv' } }, FILE, { DAY: '2026-12-02' });
    expect(ok.ok && ok.jobType.source.pattern).toBe('orders_2026-12-02.csv');
    expect(problems({ ...base(), source: { path: '/srv', pattern: 'orders_${NOPE}.csv' } })).toEqual(['source.pattern: environment variable NOPE is not set']);
  });

  it('parses schema-qualified tables and percentage thresholds, accepts six-field cron', () => {
    const r = normalizeJobType({ ...base(), schedule: '*/5 * * * * *', target: { table: 'analytics.orders' }, errors: { max_rejects: '1.5%' } }, FILE, {});
    expect(r.ok).toBe(true);
    if (!r.ok) return;
    expect(r.jobType.target.schema).toBe('analytics');
    expect(r.jobType.maxRejects).toEqual({ kind: 'percent', value: 1.5, text: '1.5%' });
  });
});

describe('csv.parser', () => {
  const parse = (raw: unknown) => {
    const r = normalizeJobType(raw, FILE, {});
    if (!r.ok) throw new Error(r.problems.map((p) => `${p.path}: ${p.message}`).join('\n'));
    return r.jobType.csv;
  };

  it('auto takes the server path for the bench job type', () => {
    const raw = YAML.parse(generatedJobType({ name: 'bench', dir: '/tmp', table: 'bench' }));
    expect(parse(raw)).toMatchObject({ parser: 'server', parserChoice: 'auto', clientOnly: [] });
  });

  it('auto takes the client path for a date with format DD/MM/YYYY, and says why', () => {
    const raw = { ...base(), columns: [{ name: 'd', type: 'date', format: 'DD/MM/YYYY' }] };
    const csv = parse(raw);
    expect(csv.parser).toBe('client');
    expect(csv.clientOnly).toEqual(['columns[0].format: PostgreSQL reads dates in ISO order only']);
  });

  it.each([
    [{ null_if: ['n/a'] }, 'columns[0].null_if'],
    [{ decimal: ',' }, 'columns[0].decimal'],
    [{ thousands: ',' }, 'columns[0].thousands'],
  ])('parser server with %o is a definition error that names it', (extra, named) => {
    const raw = { ...base(), csv: { parser: 'server' }, columns: [{ name: 'n', type: 'numeric', ...extra }] };
    expect(problems(raw)).toEqual([expect.stringMatching(new RegExp(`^csv\\.parser: parser server cannot do what this definition asks \\(${named.replace(/[[\].]/g, '\\$&')}`))]);
  });

  it('an explicit trim on text and a max_field_bytes keep the client parser; the default trim does not', () => {
    expect(parse({ ...base(), columns: [{ name: 't', type: 'text', trim: true }] }).parser).toBe('client');
    expect(parse({ ...base(), csv: { max_field_bytes: 100 } }).parser).toBe('client');
    expect(parse({ ...base(), columns: [{ name: 'n', type: 'integer' }] }).parser).toBe('server');
  });
});
