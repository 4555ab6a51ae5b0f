/**
 * The cast stage: one compiled caster per column turns a CSV field into PostgreSQL input text, or
 * into a reject reason. Values never pass through a JavaScript number, so numerics keep every digit.
 * The rules are documented in docs/casting.md.
 */
import type { Column } from '../jobtypes/normalize.js';
import { CastFailure, truncate, type CastContext, type CastOutcome, type Caster } from './castCommon.js';
import { dateCaster, timestampCaster } from './castDateTime.js';

export { CastFailure, type CastContext, type CastOutcome, type Caster } from './castCommon.js';

const INT_LIMITS = {
  smallint: ['32767', '32768'],
  integer: ['2147483647', '2147483648'],
  bigint: ['9223372036854775807', '9223372036854775808'],
} as const;

const INTEGER = /^[+-]?\d+$/;
const DECIMAL = /^[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?$/;
const FLOAT_SPECIAL = /^[+-]?(?:inf|infinity|nan)$/i;
const UUID = /^(?:[0-9a-f]{8}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{12}|\{[0-9a-f]{8}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{12}\})$/i;
const TRUE = new Set(['true', 't', '1', 'yes', 'y', 'on']);
const FALSE = new Set(['false', 'f', '0', 'no', 'n', 'off']);

function inIntRange(v: string, type: keyof typeof INT_LIMITS): boolean {
  const negative = v[0] === '-';
  let digits = v[0] === '-' || v[0] === '+' ? v.slice(1) : v;
  digits = digits.replace(/^0+(?=\d)/, '');
  const limit = INT_LIMITS[type][negative ? 1 : 0];
  if (digits.length !== limit.length) return digits.length < limit.length;
  return digits <= limit;
}

function normalizeNumber(v: string, col: Column): string {
  let s = v;
  if (col.thousands) s = s.split(col.thousands).join('');
  if (col.decimal === ',') s = s.replace(',', '.');
  return s;
}

function typeCaster(col: Column, ctx: CastContext): (v: string) => string | CastFailure {
  const bad = (code: string, what: string) => (v: string) =>
    new CastFailure(code, `column "${col.name}": ${JSON.stringify(truncate(v))} is not ${what}`);
  switch (col.type) {
    case 'server':
      // A type only the server knows (csv.parser: server): the client parser (importer validate) passes it on.
      return (v) => v;
    case 'text':
      return (v) => (v.includes('\0') ? new CastFailure('CAST_NUL_BYTE', `column "${col.name}": text contains a NUL byte`) : v);
    case 'smallint':
    case 'integer':
    case 'bigint': {
      const type = col.type;
      const invalid = bad('CAST_INVALID_INTEGER', `a valid ${type}`);
      // Digits only, and fewer of them than the type's maximum has: valid and in range whatever they are.
      const safeDigits = INT_LIMITS[type][0].length - 1;
      return (raw) => {
        const v = col.thousands ? raw.split(col.thousands).join('') : raw;
        if (v.length <= safeDigits && allDigits(v)) return v;
        if (!INTEGER.test(v)) return invalid(raw);
        if (!inIntRange(v, type)) {
          return new CastFailure('CAST_OUT_OF_RANGE', `column "${col.name}": ${truncate(raw)} is out of range for ${type}`);
        }
        return v;
      };
    }
    case 'numeric': {
      const invalid = bad('CAST_INVALID_NUMERIC', 'a number');
      return (raw) => {
        const v = normalizeNumber(raw, col);
        return DECIMAL.test(v) || /^nan$/i.test(v) ? v : invalid(raw);
      };
    }
    case 'real':
    case 'double': {
      const invalid = bad('CAST_INVALID_NUMERIC', 'a number');
      const max = col.type === 'real' ? 3.4028234663852886e38 : Number.MAX_VALUE;
      const min = col.type === 'real' ? 1.401298464324817e-45 : Number.MIN_VALUE;
      return (raw) => {
        const v = normalizeNumber(raw, col);
        if (FLOAT_SPECIAL.test(v)) return v;
        if (!DECIMAL.test(v)) return invalid(raw);
        const n = Math.abs(Number(v));
        if (n > max || (n !== 0 && n < min) || !Number.isFinite(n)) {
          return new CastFailure('CAST_OUT_OF_RANGE', `column "${col.name}": ${truncate(raw)} is out of range for ${col.type}`);
        }
        return v;
      };
    }
    case 'boolean':
      return (v) => {
        const l = v.toLowerCase();
        if (TRUE.has(l)) return 't';
        if (FALSE.has(l)) return 'f';
        return new CastFailure('CAST_INVALID_BOOLEAN', `column "${col.name}": ${JSON.stringify(truncate(v))} is not a boolean (true/false/t/f/1/0/yes/no/y/n)`);
      };
    case 'date':
      return dateCaster(col);
    case 'timestamp':
    case 'timestamptz':
      return timestampCaster(col, ctx);
    case 'uuid':
      return (v) => (isCanonicalUuid(v) || UUID.test(v) ? v : bad('CAST_INVALID_UUID', 'a UUID')(v));
    case 'json':
    case 'jsonb':
      return (v) => {
        try {
          JSON.parse(v);
        } catch (err) {
          return new CastFailure('CAST_INVALID_JSON', `column "${col.name}": not valid JSON (${(err as Error).message})`);
        }
        if (col.type === 'jsonb' && v.includes('\\u0000')) {
          return new CastFailure('CAST_INVALID_JSON', `column "${col.name}": jsonb cannot hold \\u0000`);
        }
        return v;
      };
  }
}

function allDigits(v: string): boolean {
  if (v.length === 0) return false;
  for (let i = 0; i < v.length; i++) {
    const c = v.charCodeAt(i);
    if (c < 48 || c > 57) return false;
  }
  return true;
}

/** 8-4-4-4-12 hex digits with hyphens, either case: the form nearly every export writes. */
function isCanonicalUuid(v: string): boolean {
  if (v.length !== 36) return false;
  for (let i = 0; i < 36; i++) {
    const c = v.charCodeAt(i);
    if (i === 8 || i === 13 || i === 18 || i === 23) {
      if (c !== 45) return false;
    } else if (!((c >= 48 && c <= 57) || (c >= 97 && c <= 102) || (c >= 65 && c <= 70))) return false;
  }
  return true;
}

/** Compiles the caster of one column: trim → null handling → default → required → type. */
export function compileCaster(col: Column, ctx: CastContext): Caster {
  const cast = typeCaster(col, ctx);
  const nullIf = col.nullIf.length > 0 ? new Set(col.nullIf) : undefined;
  const isText = col.type === 'text';
  const fallback = col.default === undefined ? undefined : cast(col.trim ? col.default.trim() : col.default);
  const missing: CastOutcome =
    fallback !== undefined
      ? fallback
      : col.required
        ? new CastFailure('REQUIRED_MISSING', `column "${col.name}" is required but the value is empty`)
        : null;
  return (raw, quoted) => {
    if (raw === undefined) return missing;
    let v = col.trim ? raw.trim() : raw;
    // Quoted text keeps its blanks: trim is for unquoted ones (a quoted "    " is not NULL).
    if (isText && v.length !== raw.length && quoted()) v = raw;
    if (nullIf?.has(v)) return missing;
    if (v === '') {
      // PostgreSQL's CSV convention: an unquoted empty field is NULL, a quoted "" is an empty string.
      if (isText && quoted()) return col.required ? missing : '';
      return missing;
    }
    return cast(v);
  };
}
