import { describe, expect, it } from 'vitest';
import { normalizeJobType, type JobType } from '../../src/jobtypes/normalize.js';
import { mapHeader } from '../../src/pipeline/header.js';

function jobType(columns: Array<Record<string, unknown>>, csv: Record<string, unknown> = {}): JobType {
  const cols = columns.map((c) => ({ type: 'text', ...c }));
  const r = normalizeJobType({ source: { path: '../data' }, target: { table: 't' }, csv, columns: cols }, '/defs/t.yaml', {});
  if (!r.ok) throw new Error(JSON.stringify(r.problems));
  return r.jobType;
}

const orders = () =>
  jobType([
    { name: 'order_id', type: 'bigint', required: true },
    { name: 'customer', type: 'text', source: 'Customer Name' },
    { name: 'amount', type: 'numeric', source: 'Amount (EUR)', required: true },
  ]);

function thrown(fn: () => unknown): { code: string; context: Record<string, unknown>; message: string } {
  try {
    fn();
  } catch (err) {
    return err as { code: string; context: Record<string, unknown>; message: string };
  }
  throw new Error('expected an error');
}

describe('header mapping', () => {
  it('maps columns by name, in any order, ignoring case and surrounding spaces', () => {
    const m = mapHeader(orders(), [' amount (eur) ', 'ORDER_ID', 'customer name'], 'f.csv');
    expect(m).toEqual({ indexes: [1, 2, 0], width: 3, warnings: [] });
  });

  it('maps by position with header: false', () => {
    const m = mapHeader(jobType([{ name: 'a' }, { name: 'b' }], { header: false }), undefined, 'f.csv');
    expect(m).toEqual({ indexes: [0, 1], width: 2, warnings: [] });
  });

  it('fails with HEADER_MISSING_COLUMN when a required column is missing, listing expected and found', () => {
    const e = thrown(() => mapHeader(orders(), ['order_id', 'customer name'], 'f.csv'));
    expect(e.code).toBe('HEADER_MISSING_COLUMN');
    expect(e.context).toEqual({ file: 'f.csv', line: 1, expected: ['order_id', 'Customer Name', 'Amount (EUR)'], found: ['order_id', 'customer name'] });
  });

  it('suggests the unused header closest to a missing column (the wording is the feature)', () => {
    const e = thrown(() => mapHeader(orders(), ['order_id', 'Customer Name', 'Amount (EURO)'], 'f.csv'));
    expect(e.code).toBe('HEADER_MISSING_COLUMN');
    expect(e.message).toContain('did you mean "Amount (EURO)"? set source: "Amount (EURO)" on column "amount"');
  });

  it('does not suggest a header that another column already uses', () => {
    const jt = jobType([{ name: 'order_id' }, { name: 'order_ids', required: true }]);
    const e = thrown(() => mapHeader(jt, ['order_id'], 'f.csv'));
    expect(e.code).toBe('HEADER_MISSING_COLUMN');
    expect(e.message).not.toContain('did you mean');
  });

  it('loads a missing optional column as NULL or its default, with a warning', () => {
    const jt = jobType([{ name: 'id', required: true }, { name: 'note' }, { name: 'flag', type: 'boolean', default: false }]);
    const m = mapHeader(jt, ['id'], 'f.csv');
    expect(m.indexes).toEqual([0, -1, -1]);
    expect(m.width).toBe(1);
    expect(m.warnings).toHaveLength(2);
    expect(m.warnings[0]).toMatch(/"note".*NULL/);
    expect(m.warnings[1]).toMatch(/"flag".*its default/);
  });

  it('fails with HEADER_DUPLICATE_COLUMN when the header names a column twice, even in another case', () => {
    const e = thrown(() => mapHeader(orders(), ['order_id', 'Customer Name', 'Amount (EUR)', 'ORDER_ID'], 'f.csv'));
    expect(e.code).toBe('HEADER_DUPLICATE_COLUMN');
    expect(e.context).toMatchObject({ file: 'f.csv', line: 1 });
  });

  it('reports a duplicate before a missing column', () => {
    expect(thrown(() => mapHeader(orders(), ['order_id', 'order_id'], 'f.csv')).code).toBe('HEADER_DUPLICATE_COLUMN');
  });

  it('ignores extra columns with a warning by default, and counts them in the width', () => {
    const m = mapHeader(orders(), ['order_id', 'extra', 'Customer Name', 'Amount (EUR)'], 'f.csv');
    expect(m.indexes).toEqual([0, 2, 3]);
    expect(m.width).toBe(4);
    expect(m.warnings).toEqual([expect.stringContaining('"extra"')]);
  });

  it('fails with HEADER_EXTRA_COLUMNS when on_extra_columns is fail', () => {
    const jt = jobType([{ name: 'id' }], { on_extra_columns: 'fail' });
    const e = thrown(() => mapHeader(jt, ['id', 'x', 'y'], 'f.csv'));
    expect(e.code).toBe('HEADER_EXTRA_COLUMNS');
    expect(e.context).toEqual({ file: 'f.csv', line: 1, extra: ['x', 'y'] });
    expect(mapHeader(jt, ['id'], 'f.csv').indexes).toEqual([0]);
  });
});
