/** PostgreSQL's COPY text format: one value escaped for a tab-separated COPY line. */

const NEEDS_ESCAPE = /[\\\t\n\r]/;
const ESCAPES = /[\\\t\n\r]/g;
const ESCAPED: Record<string, string> = { '\\': '\\\\', '\t': '\\t', '\n': '\\n', '\r': '\\r' };

/** Escapes one value for COPY text format; null is \N. */
export function encodeValue(v: string | null): string {
  if (v === null) return '\\N';
  return NEEDS_ESCAPE.test(v) ? v.replace(ESCAPES, (c) => ESCAPED[c]!) : v;
}
