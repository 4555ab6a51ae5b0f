/**
 * Date and time values for the cast stage: ISO 8601 with fast paths for the common shapes, or a
 * column's token `format` (YYYY, MM, DD, HH, mm, ss, SSS, MMM, ...), with the calendar checked.
 */
import type { Column } from '../jobtypes/normalize.js';
import { CastFailure, pad, truncate, type CastContext } from './castCommon.js';

const ISO_DATE = /^(\d{4})-(\d{1,2})-(\d{1,2})$/;
const ISO_TS =
  /^(\d{4})-(\d{1,2})-(\d{1,2})(?:[T ](\d{1,2}):(\d{2})(?::(\d{2})(?:[.,](\d{1,6})\d*)?)?)?\s*(Z|[+-]\d{2}(?::?\d{2})?)?$/i;
const MONTHS = ['jan', 'feb', 'mar', 'apr', 'may', 'jun', 'jul', 'aug', 'sep', 'oct', 'nov', 'dec'];

const DAYS = [31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];
function daysInMonth(y: number, m: number): number {
  if (m === 2 && ((y % 4 === 0 && y % 100 !== 0) || y % 400 === 0)) return 29;
  return DAYS[m - 1] ?? 0;
}

interface DateParts {
  y: number;
  mo: number;
  d: number;
  h: number;
  mi: number;
  s: number;
  frac: string;
  offset: string | undefined;
  hasTime: boolean;
}

function validParts(p: DateParts): boolean {
  return (
    p.y >= 1 &&
    p.y <= 294276 &&
    p.mo >= 1 &&
    p.mo <= 12 &&
    p.d >= 1 &&
    p.d <= daysInMonth(p.y, p.mo) &&
    p.h >= 0 &&
    p.h <= 23 &&
    p.mi >= 0 &&
    p.mi <= 59 &&
    p.s >= 0 &&
    p.s <= 59
  );
}

const ZERO = 48;
/** Two ASCII digits at `i` as a number, or -1. */
function d2(v: string, i: number): number {
  const a = v.charCodeAt(i) - ZERO;
  const b = v.charCodeAt(i + 1) - ZERO;
  return a >= 0 && a <= 9 && b >= 0 && b <= 9 ? a * 10 + b : -1;
}

/**
 * The common case without regular expressions or allocation: `YYYY-MM-DD` at the start of `v`.
 * Returns false when `v` does not start that way (the caller falls back to the full parser) or the
 * date does not exist.
 */
function fastDate(v: string): boolean {
  if (v.charCodeAt(4) !== 45 || v.charCodeAt(7) !== 45) return false;
  const c = d2(v, 0);
  const y2 = d2(v, 2);
  const mo = d2(v, 5);
  const d = d2(v, 8);
  if (c < 0 || y2 < 0 || mo < 1 || mo > 12 || d < 1) return false;
  const y = c * 100 + y2;
  return y >= 1 && d <= daysInMonth(y, mo);
}

/**
 * `YYYY-MM-DD HH:MM:SS` (a space, no fraction) followed by nothing, Z, or an offset ±HH or ±HH:MM:
 * the form most exports write, already what PostgreSQL reads. Returns the length of the offset part
 * (0 for none), or -1 when `v` is not exactly of this form (the caller uses the full parser).
 */
function fastTimestamp(v: string): number {
  const n = v.length;
  if (n < 19 || v.charCodeAt(10) !== 32 || v.charCodeAt(13) !== 58 || v.charCodeAt(16) !== 58 || !fastDate(v)) return -1;
  const h = d2(v, 11);
  const mi = d2(v, 14);
  const s = d2(v, 17);
  if (h < 0 || h > 23 || mi < 0 || mi > 59 || s < 0 || s > 59) return -1;
  if (n === 19) return 0;
  const sign = v.charCodeAt(19);
  if (n === 20) return sign === 90 || sign === 122 ? 1 : -1; // Z or z
  if (sign !== 43 && sign !== 45) return -1; // + or -
  if (d2(v, 20) < 0) return -1;
  if (n === 22) return 3;
  return n === 25 && v.charCodeAt(22) === 58 && d2(v, 23) >= 0 ? 6 : -1;
}

function parseIso(v: string): DateParts | undefined {
  const m = ISO_TS.exec(v);
  if (!m) return undefined;
  return {
    y: Number(m[1]),
    mo: Number(m[2]),
    d: Number(m[3]),
    h: m[4] ? Number(m[4]) : 0,
    mi: m[5] ? Number(m[5]) : 0,
    s: m[6] ? Number(m[6]) : 0,
    frac: m[7] ?? '',
    offset: m[8],
    hasTime: m[4] !== undefined,
  };
}

/** Compiles a token pattern such as "DD/MM/YYYY HH:mm" into a parser. */
export function compileFormat(format: string): (v: string) => DateParts | undefined {
  const tokens = /YYYY|MMM|MM|M|DD|D|HH|H|mm|ss|SSS|Z/g;
  const fields: string[] = [];
  let re = '^';
  let last = 0;
  for (let m = tokens.exec(format); m; m = tokens.exec(format)) {
    re += format.slice(last, m.index).replace(/[.*+?^${}()|[\]\\]/g, '\\$&').replace(/\s+/g, '\\s+');
    last = m.index + m[0].length;
    fields.push(m[0]);
    switch (m[0]) {
      case 'YYYY':
        re += '(\\d{4})';
        break;
      case 'MMM':
        re += '([A-Za-z]{3,9})';
        break;
      case 'SSS':
        re += '(\\d{1,6})';
        break;
      case 'Z':
        re += '(Z|[+-]\\d{2}(?::?\\d{2})?)';
        break;
      case 'MM':
      case 'DD':
      case 'HH':
      case 'mm':
      case 'ss':
        re += '(\\d{2})';
        break;
      default:
        re += '(\\d{1,2})';
    }
  }
  re += format.slice(last).replace(/[.*+?^${}()|[\]\\]/g, '\\$&') + '$';
  const regex = new RegExp(re, 'i');
  return (v) => {
    const m = regex.exec(v);
    if (!m) return undefined;
    const p: DateParts = { y: 0, mo: 1, d: 1, h: 0, mi: 0, s: 0, frac: '', offset: undefined, hasTime: false };
    fields.forEach((f, i) => {
      const g = m[i + 1]!;
      switch (f) {
        case 'YYYY':
          p.y = Number(g);
          break;
        case 'MMM': {
          const idx = MONTHS.indexOf(g.slice(0, 3).toLowerCase());
          p.mo = idx === -1 ? 0 : idx + 1;
          break;
        }
        case 'MM':
        case 'M':
          p.mo = Number(g);
          break;
        case 'DD':
        case 'D':
          p.d = Number(g);
          break;
        case 'HH':
        case 'H':
          p.h = Number(g);
          p.hasTime = true;
          break;
        case 'mm':
          p.mi = Number(g);
          break;
        case 'ss':
          p.s = Number(g);
          break;
        case 'SSS':
          p.frac = g;
          break;
        case 'Z':
          p.offset = g;
          break;
      }
    });
    return p;
  };
}

function formatTimestamp(p: DateParts, withZone: boolean, timezone: string | undefined): string {
  let out = `${pad(p.y, 4)}-${pad(p.mo, 2)}-${pad(p.d, 2)} ${pad(p.h, 2)}:${pad(p.mi, 2)}:${pad(p.s, 2)}`;
  if (p.frac) out += `.${p.frac}`;
  if (withZone) {
    if (p.offset) out += p.offset.toUpperCase() === 'Z' ? '+00' : p.offset;
    else if (timezone) out += ` ${timezone}`;
  }
  return out;
}

/** Dates: ISO 8601 (YYYY-MM-DD), or the column's `format`; the calendar is checked. */
export function dateCaster(col: Column): (v: string) => string | CastFailure {
  const parse = col.format ? compileFormat(col.format) : (v: string) => (ISO_DATE.test(v) ? parseIso(v) : undefined);
  const expected = col.format ? `a date in the format ${col.format}` : 'an ISO 8601 date (YYYY-MM-DD)';
  const iso = !col.format;
  return (v) => {
    if (iso && v.length === 10 && fastDate(v)) return v;
    const p = parse(v);
    if (!p || !validParts(p)) return new CastFailure('CAST_INVALID_DATE', `column "${col.name}": ${JSON.stringify(truncate(v))} is not ${expected}`);
    return `${pad(p.y, 4)}-${pad(p.mo, 2)}-${pad(p.d, 2)}`;
  };
}

/** timestamp and timestamptz: ISO 8601, or the column's `format`; an offset-less timestamptz is in the job's zone. */
export function timestampCaster(col: Column, ctx: CastContext): (v: string) => string | CastFailure {
  const withZone = col.type === 'timestamptz';
  const parse = col.format ? compileFormat(col.format) : parseIso;
  const expected = col.format ? `a timestamp in the format ${col.format}` : 'an ISO 8601 timestamp';
  const iso = !col.format;
  const zoneSuffix = ctx.timezone ? ` ${ctx.timezone}` : '';
  return (v) => {
    if (iso) {
      // Same output as formatTimestamp below, without parsing into parts.
      const offset = fastTimestamp(v);
      if (offset === 0) return withZone ? v + zoneSuffix : v;
      if (offset > 0) return !withZone ? v.slice(0, 19) : offset === 1 ? v.slice(0, 19) + '+00' : v;
    }
    const p = parse(v);
    if (!p || !validParts(p)) {
      return new CastFailure('CAST_INVALID_TIMESTAMP', `column "${col.name}": ${JSON.stringify(truncate(v))} is not ${expected}`);
    }
    return formatTimestamp(p, withZone, ctx.timezone);
  };
}
