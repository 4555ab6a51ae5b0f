import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { ERROR_CODE_FAMILIES, ERROR_CODES, EXIT, ImporterError, errorCode, exitCodeFor, signalExitCode, type ErrorCode, type ReportedCode } from '../../src/errors.js';

/** The backticked codes in the first column of the "File and job errors" table of docs/errors.md. */
function documentedCodes(): string[] {
  const text = readFileSync(new URL('../../docs/errors.md', import.meta.url), 'utf8');
  const section = text.split(/^## /m).find((s) => s.startsWith('File and job errors'));
  if (!section) throw new Error('docs/errors.md has no "File and job errors" section');
  const codes: string[] = [];
  for (const line of section.split('\n')) {
    if (!line.startsWith('|') || /^\|\s*(code|-)/.test(line)) continue;
    const first = line.split('|')[1]!;
    for (const m of first.matchAll(/`([^`]+)`/g)) codes.push(m[1]!);
  }
  return codes;
}

describe('error codes', () => {
  const documented = documentedCodes();

  it('docs/errors.md lists every code the importer produces', () => {
    const missing = ERROR_CODES.filter((c) => !documented.includes(c));
    expect(missing, 'codes missing from docs/errors.md').toEqual([]);
    const families = ERROR_CODE_FAMILIES.map((f) => f.doc).filter((d) => !documented.includes(d));
    expect(families, 'code families missing from docs/errors.md').toEqual([]);
  });

  it('docs/errors.md lists no code that src/errors.ts does not know', () => {
    const known = new Set<string>([...ERROR_CODES, ...ERROR_CODE_FAMILIES.map((f) => f.doc)]);
    const unknown = documented.filter((c) => !known.has(c) && !ERROR_CODE_FAMILIES.some((f) => f.pattern.test(c)));
    expect(unknown, 'codes in docs/errors.md that src/errors.ts does not produce').toEqual([]);
    expect(documented.length).toBeGreaterThan(ERROR_CODES.length); // the parser found the table
  });

  it('lists each code once', () => {
    expect(new Set(ERROR_CODES).size).toBe(ERROR_CODES.length);
    expect(ERROR_CODES).not.toContain('DB_PERMANENT');
    expect(ERROR_CODES).not.toContain('JOBTYPE_DUPLICATE_NAME');
  });

  it('maps codes to the exit codes of the README', () => {
    for (const c of ['USAGE', 'JOBTYPE_INVALID', 'JOBTYPE_UNKNOWN', 'JOBTYPE_NONE_VALID', 'JOBTYPES_DIR_NOT_FOUND'] as const) expect(exitCodeFor(c), c).toBe(2);
    const failing: ReportedCode[] = ['REJECT_THRESHOLD', 'SOURCE_NOT_FOUND', 'TARGET_MISSING', 'DB_TRANSIENT', 'INTERNAL', 'WORKER_CRASHED', 'CSV_QUOTE_NOT_CLOSED', 'PG_23505', 'ECONNREFUSED'];
    for (const c of failing) expect(exitCodeFor(c), c).toBe(1);
    expect(ERROR_CODES.map(exitCodeFor).every((x) => x === EXIT.failed || x === EXIT.usage)).toBe(true);
    expect([signalExitCode('SIGINT'), signalExitCode('SIGTERM'), EXIT.crashed]).toEqual([130, 143, 70]);
  });

  it('keeps the exit codes that src/cli/main.ts picked by prefix before exitCodeFor', () => {
    const legacy = (code: string) => (code === 'USAGE' || code.startsWith('JOBTYPE_') || code === 'JOBTYPES_DIR_NOT_FOUND' ? 2 : 1);
    for (const c of [...ERROR_CODES, 'CSV_QUOTE_NOT_CLOSED', 'PG_23505', 'ECONNREFUSED'] as const) expect(exitCodeFor(c), c).toBe(legacy(c));
  });

  it('classifies foreign errors by their code', () => {
    const pgError = Object.assign(new Error('duplicate key'), { code: '23505', severity: 'ERROR' });
    expect(errorCode(pgError)).toBe('PG_23505');
    const refused = Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED', errno: -111, syscall: 'connect' });
    expect(errorCode(refused)).toBe('ECONNREFUSED');
    // Five capitals, but a socket's: not a SQLSTATE.
    expect(errorCode(Object.assign(new Error('write EPIPE'), { code: 'EPIPE', errno: -32, syscall: 'write' }))).toBe('EPIPE');
    expect(errorCode(Object.assign(new Error('bad quote'), { code: 'CSV_INVALID_CLOSING_QUOTE' }))).toBe('CSV_INVALID_CLOSING_QUOTE');
    expect(errorCode(new ImporterError('TARGET_MISSING', 'no table'))).toBe('TARGET_MISSING');
    expect(errorCode(new Error('plain'))).toBe('INTERNAL');
    expect(errorCode('a string')).toBe('INTERNAL');
  });

  it('only accepts known codes at compile time', () => {
    const ok: ErrorCode[] = ['USAGE', 'CSV_MAX_RECORD_SIZE', 'PG_57P01'];
    // @ts-expect-error a typo is not an ErrorCode
    const typo: ErrorCode = 'SOURCE_NOT_FOUNDD';
    // @ts-expect-error removed: nothing throws it
    const removed: ErrorCode = 'DB_PERMANENT';
    expect([...ok, typo, removed]).toHaveLength(5);
  });
});
