import { describe, expect, it } from 'vitest';
import { CastFailure, compileCaster } from '../../src/pipeline/cast.js';
import type { Column } from '../../src/jobtypes/normalize.js';
import { SQL_TYPE_NAMES, type ColumnType } from '../../src/jobtypes/schema.js';

function col(type: ColumnType, extra: Partial<Column> = {}): Column {
  return { name: 'c', type, sqlType: SQL_TYPE_NAMES[type], required: false, source: 'c', trim: type !== 'text', nullIf: [], default: undefined, format: undefined, decimal: '.', thousands: undefined, ...extra };
}
const cast = (c: Column, v: string | undefined, quoted = false, tz?: string) => compileCaster(c, { timezone: tz })(v, () => quoted);
const code = (r: unknown) => (r instanceof CastFailure ? r.code : r);

describe('cast', () => {
  it('text: unquoted empty is NULL, quoted "" is an empty string, content is untouched', () => {
    expect(cast(col('text'), '')).toBeNull();
    expect(cast(col('text'), '', true)).toBe('');
    expect(cast(col('text'), '  a\\b\t"c"\n ')).toBe('  a\\b\t"c"\n ');
    expect(cast(col('text'), '\\N')).toBe('\\N');
    expect(code(cast(col('text'), 'a\0b'))).toBe('CAST_NUL_BYTE');
  });

  it('null_if, default and required', () => {
    expect(cast(col('text', { nullIf: ['NA'] }), 'NA')).toBeNull();
    expect(cast(col('integer', { default: '0' }), '')).toBe('0');
    expect(code(cast(col('integer', { required: true }), ''))).toBe('REQUIRED_MISSING');
    expect(code(cast(col('text', { required: true }), undefined))).toBe('REQUIRED_MISSING');
  });

  it('integers are range-checked without losing digits', () => {
    expect(cast(col('smallint'), '32767')).toBe('32767');
    expect(cast(col('smallint'), '-32768')).toBe('-32768');
    expect(code(cast(col('smallint'), '32768'))).toBe('CAST_OUT_OF_RANGE');
    expect(code(cast(col('integer'), '2147483648'))).toBe('CAST_OUT_OF_RANGE');
    expect(cast(col('bigint'), '9223372036854775807')).toBe('9223372036854775807');
    expect(cast(col('bigint'), '-9223372036854775808')).toBe('-9223372036854775808');
    expect(code(cast(col('bigint'), '9223372036854775808'))).toBe('CAST_OUT_OF_RANGE');
    expect(cast(col('bigint'), '000000000000000000000042')).toBe('000000000000000000000042');
    expect(code(cast(col('integer'), '1.5'))).toBe('CAST_INVALID_INTEGER');
    expect(cast(col('integer'), ' 42 ')).toBe('42');
    expect(cast(col('integer', { thousands: ',' }), '1,234,567')).toBe('1234567');
  });

  it('numeric keeps every digit; decimal comma and thousands separators', () => {
    expect(cast(col('numeric'), '12345678901234567890.123456789012345')).toBe('12345678901234567890.123456789012345');
    expect(cast(col('numeric', { decimal: ',', thousands: '.' }), '1.234.567,89')).toBe('1234567.89');
    expect(cast(col('numeric'), '-1e-7')).toBe('-1e-7');
    expect(code(cast(col('numeric'), '1,5'))).toBe('CAST_INVALID_NUMERIC');
    expect(code(cast(col('double'), '1e400'))).toBe('CAST_OUT_OF_RANGE');
    expect(code(cast(col('real'), '1e39'))).toBe('CAST_OUT_OF_RANGE');
    expect(cast(col('double'), 'NaN')).toBe('NaN');
  });

  it('boolean accepts the usual spellings in any case', () => {
    for (const t of ['true', 'T', 'yes', 'Y', '1', 'TRUE']) expect(cast(col('boolean'), t)).toBe('t');
    for (const f of ['false', 'F', 'no', 'N', '0']) expect(cast(col('boolean'), f)).toBe('f');
    expect(code(cast(col('boolean'), 'maybe'))).toBe('CAST_INVALID_BOOLEAN');
  });

  it('dates: ISO, calendar-checked, and token formats', () => {
    expect(cast(col('date'), '2024-02-29')).toBe('2024-02-29');
    expect(code(cast(col('date'), '2023-02-29'))).toBe('CAST_INVALID_DATE');
    expect(cast(col('date', { format: 'DD/MM/YYYY' }), '31/12/2026')).toBe('2026-12-31');
    expect(cast(col('date', { format: 'MMM D YYYY' }), 'Feb 3 2026')).toBe('2026-02-03');
    expect(code(cast(col('date', { format: 'DD/MM/YYYY' }), '2026-12-31'))).toBe('CAST_INVALID_DATE');
  });

  it('timestamps: offsets kept, the job time zone applied to values without one', () => {
    expect(cast(col('timestamptz'), '2026-11-01T10:30:00+01:00')).toBe('2026-11-01 10:30:00+01:00');
    expect(cast(col('timestamptz'), '2026-11-01T10:30:00Z')).toBe('2026-11-01 10:30:00+00');
    expect(cast(col('timestamptz'), '2026-11-01 10:30:00', false, 'Europe/Paris')).toBe('2026-11-01 10:30:00 Europe/Paris');
    expect(cast(col('timestamp'), '2026-11-01T10:30:00.123456')).toBe('2026-11-01 10:30:00.123456');
    expect(cast(col('timestamp', { format: 'YYYY/MM/DD HH:mm:ss' }), '2026/11/01 23:59:59')).toBe('2026-11-01 23:59:59');
    expect(code(cast(col('timestamp'), '2026-11-01T24:00:00'))).toBe('CAST_INVALID_TIMESTAMP');
  });

  it('uuid and json are validated', () => {
    expect(cast(col('uuid'), 'A0EEBC99-9C0B-4EF8-BB6D-6BB9BD380A11')).toBe('A0EEBC99-9C0B-4EF8-BB6D-6BB9BD380A11');
    expect(code(cast(col('uuid'), 'not-a-uuid'))).toBe('CAST_INVALID_UUID');
    expect(cast(col('jsonb'), '{"a": [1, 2]}')).toBe('{"a": [1, 2]}');
    expect(code(cast(col('json'), '{"a":'))).toBe('CAST_INVALID_JSON');
    expect(code(cast(col('jsonb'), '"\\u0000"'))).toBe('CAST_INVALID_JSON');
  });

  // The common forms take allocation-free fast paths; these pin that they agree with the general
  // parser on every edge (each expectation was what the general parser gave before the fast paths).
  it('fast paths: canonical timestamps, dates, integers and UUIDs give the same results as before', () => {
    const tz = 'Europe/Paris';
    const ts: Array<[string, string, string, string]> = [
      // input, timestamptz without a job zone, timestamptz with one, timestamp
      ['2026-03-04 05:06:07', '2026-03-04 05:06:07', '2026-03-04 05:06:07 Europe/Paris', '2026-03-04 05:06:07'],
      ['2026-03-04 05:06:07+00', '2026-03-04 05:06:07+00', '2026-03-04 05:06:07+00', '2026-03-04 05:06:07'],
      ['2026-03-04 05:06:07-05', '2026-03-04 05:06:07-05', '2026-03-04 05:06:07-05', '2026-03-04 05:06:07'],
      ['2026-03-04 05:06:07+05:30', '2026-03-04 05:06:07+05:30', '2026-03-04 05:06:07+05:30', '2026-03-04 05:06:07'],
      ['2026-03-04 05:06:07Z', '2026-03-04 05:06:07+00', '2026-03-04 05:06:07+00', '2026-03-04 05:06:07'],
      ['2026-03-04 05:06:07z', '2026-03-04 05:06:07+00', '2026-03-04 05:06:07+00', '2026-03-04 05:06:07'],
      ['2024-02-29 23:59:59', '2024-02-29 23:59:59', '2024-02-29 23:59:59 Europe/Paris', '2024-02-29 23:59:59'],
      // Not canonical: the general parser normalizes them.
      ['2026-3-4 5:06:07', '2026-03-04 05:06:07', '2026-03-04 05:06:07 Europe/Paris', '2026-03-04 05:06:07'],
      ['2026-03-04 05:06:07 +0530', '2026-03-04 05:06:07+0530', '2026-03-04 05:06:07+0530', '2026-03-04 05:06:07'],
    ];
    for (const [v, tzless, zoned, plain] of ts) {
      expect(cast(col('timestamptz'), v), v).toBe(tzless);
      expect(cast(col('timestamptz'), v, false, tz), v).toBe(zoned);
      expect(cast(col('timestamp'), v), v).toBe(plain);
    }
    for (const v of ['2023-02-29 00:00:00', '2026-13-01 00:00:00', '2026-00-10 00:00:00', '2026-01-32 00:00:00', '2026-01-01 24:00:00',
      '2026-01-01 23:60:00', '2026-01-01 23:59:60', '0000-01-01 00:00:00', '2026-01-01 00:00:00+', '2026-01-01 00:00:00+1',
      '2026-01-01 00:00:00+01:0', '2026-01-01 00:00:00X', '2026-0a-01 00:00:00', '2026/01/01 00:00:00']) {
      expect(code(cast(col('timestamptz'), v)), v).toBe('CAST_INVALID_TIMESTAMP');
    }
    expect(cast(col('date'), '1999-12-31')).toBe('1999-12-31');
    expect(cast(col('date'), '2026-1-5')).toBe('2026-01-05');
    for (const v of ['2026-02-30', '2026-00-01', '2026-12-00', '0000-01-01', '2026-1a-01', '2026_01_01']) {
      expect(code(cast(col('date'), v)), v).toBe('CAST_INVALID_DATE');
    }
    expect(cast(col('integer'), '007')).toBe('007');
    expect(cast(col('integer'), '999999999')).toBe('999999999');
    expect(cast(col('integer'), '2147483647')).toBe('2147483647');
    expect(code(cast(col('integer'), '9999999999'))).toBe('CAST_OUT_OF_RANGE');
    expect(cast(col('smallint'), '9999')).toBe('9999');
    expect(code(cast(col('smallint'), '99999'))).toBe('CAST_OUT_OF_RANGE');
    expect(code(cast(col('integer'), '12a'))).toBe('CAST_INVALID_INTEGER');
    expect(cast(col('uuid'), 'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11')).toBe('a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11');
    expect(cast(col('uuid'), '{a0eebc999c0b4ef8bb6d6bb9bd380a11}')).toBe('{a0eebc999c0b4ef8bb6d6bb9bd380a11}');
    for (const v of ['a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a1g', 'a0eebc99-9c0b-4ef8-bb6d_6bb9bd380a11', 'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a1']) {
      expect(code(cast(col('uuid'), v)), v).toBe('CAST_INVALID_UUID');
    }
  });
});
