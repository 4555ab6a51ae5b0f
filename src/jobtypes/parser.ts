/**
 * Which parser a definition gets (csv.parser: client | server | auto) and which load strategies its
 * target allows. The server path hands raw records to COPY … (FORMAT csv): whatever COPY cannot
 * express needs the client parser, and `auto` takes the server path only when nothing does.
 */
import type { ParsedJobType } from './schema.js';

export { PARSERS, STRATEGIES, type ParserChoice, type Strategy } from './schema.js';

/**
 * What in a definition only the client parser does, one `path: reason` each; empty when the server
 * can parse its files. `raw` is the definition as written (to tell a default from a chosen value).
 */
export function clientOnlyOptions(d: ParsedJobType, raw: unknown): string[] {
  const out: string[] = [];
  const rawCsv = (raw as { csv?: Record<string, unknown> } | undefined)?.csv;
  const rawColumns = (raw as { columns?: Record<string, unknown>[] } | undefined)?.columns;
  if (d.csv.escape !== undefined && d.csv.quote !== false && d.csv.escape !== d.csv.quote) out.push('csv.escape: records are cut by quote parity, which needs the escape to be the quote');
  if (rawCsv?.max_field_bytes !== undefined) out.push('csv.max_field_bytes: COPY has no per-field limit');
  if (d.csv.quote === false) out.push('csv.quote: false: records are cut by quote parity');
  if (d.csv.relax_quotes) out.push('csv.relax_quotes: COPY has no lenient quotes');
  if (d.csv.on_short_row !== 'reject') out.push(`csv.on_short_row: ${d.csv.on_short_row}: COPY takes whole records only`);
  if (d.csv.on_long_row !== 'reject') out.push(`csv.on_long_row: ${d.csv.on_long_row}: COPY takes whole records only`);
  if (d.csv.comment !== undefined) out.push('csv.comment: COPY has no comment lines');
  if (d.csv.record_delimiter !== undefined) out.push('csv.record_delimiter: COPY ends records at line breaks');
  if (d.csv.skip_lines > 0) out.push('csv.skip_lines: lines before the header are skipped by the client parser');
  if (d.csv.null_if.length > 0) out.push('csv.null_if: COPY has one NULL string');
  const intoTarget = d.target.strategy !== 'staged';
  d.columns.forEach((c, i) => {
    const at = `columns[${i}]`;
    if (c.null_if.length > 0) out.push(`${at}.null_if: COPY has one NULL string`);
    if (c.format) out.push(`${at}.format: PostgreSQL reads dates in ISO order only`);
    if (c.decimal !== '.' || c.thousands) out.push(`${at}.${c.decimal !== '.' ? 'decimal' : 'thousands'}: PostgreSQL reads "." as the decimal point and no separators`);
    if (c.type === 'text' && rawColumns?.[i]?.trim === true) out.push(`${at}.trim: PostgreSQL keeps the blanks of text`);
    if (intoTarget && c.default !== undefined) out.push(`${at}.default: strategy ${d.target.strategy} COPYs into the target, with no step to fill in a default`);
    if (intoTarget && c.required && (c.type === 'text' || !d.target.key.includes(c.name))) {
      out.push(`${at}.required: strategy ${d.target.strategy} relies on the target's key columns (NOT NULL) for required, and only for types other than text`);
    }
  });
  return out;
}

/** Why a definition's strategy cannot load its target, or undefined when it can. */
export function strategyProblem(d: ParsedJobType): { path: string; message: string } | undefined {
  const s = d.target.strategy;
  if (s === 'staged') return undefined;
  if (d.target.mode !== 'append') {
    return { path: 'target.strategy', message: `mode ${d.target.mode} needs strategy staged (${d.target.mode === 'upsert' ? 'the last row of a key wins, which needs file order' : 'a table is swapped per run'}); strategy ${s} supports mode append` };
  }
  if (d.target.lineage) return { path: 'target.lineage', message: `lineage needs strategy staged (strategy ${s} COPYs into the target, with no step to add the lineage columns)` };
  return undefined;
}
