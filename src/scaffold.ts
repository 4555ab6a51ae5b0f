/**
 * `importer new NAME --from sample.csv`: sniffs a sample (encoding, delimiter, header, column types
 * and nullability) and writes a commented definition that validates and loads the sample as is.
 * It reads at most `rows` records, streaming; when unsure it widens a type (to text at the end).
 */
import { createReadStream } from 'node:fs';
import { isUtf8 } from 'node:buffer';
import path from 'node:path';
import { CastFailure, compileCaster } from './pipeline/cast.js';
import { openSource } from './source/open.js';
import { RecordParser } from './source/parse.js';
import type { Column } from './jobtypes/normalize.js';
import { SQL_TYPE_NAMES, type ColumnType, type Encoding } from './jobtypes/schema.js';

export interface Sniffed {
  encoding: Encoding;
  delimiter: string;
  header: boolean;
  headers: string[];
  columns: Array<{ name: string; source: string; type: ColumnType; required: boolean }>;
  rowsRead: number;
}

/** Candidate types from narrowest to widest; the first that accepts every non-empty value wins. */
const CANDIDATES: ColumnType[] = ['boolean', 'integer', 'bigint', 'numeric', 'date', 'timestamptz', 'text'];

async function head(file: string, bytes: number): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let n = 0;
  for await (const c of createReadStream(file, { start: 0, end: bytes - 1 })) {
    chunks.push(c as Buffer);
    n += (c as Buffer).length;
  }
  return Buffer.concat(chunks, n);
}

function sniffEncoding(sample: Buffer): Encoding {
  if (sample[0] === 0xff && sample[1] === 0xfe) return 'utf16le';
  // A cut in the middle of a multi-byte character at the end of the sample is not an error.
  for (let cut = 0; cut < 4; cut++) if (isUtf8(sample.subarray(0, sample.length - cut))) return 'utf8';
  return 'windows-1252';
}

function sniffDelimiter(text: string): string {
  const lines = text.split(/\r\n|\n|\r/).filter((l) => l.length > 0).slice(0, 20);
  let best = ',';
  let bestScore = -1;
  for (const d of [',', ';', '\t', '|']) {
    const counts = lines.map((l) => l.replace(/"[^"]*"/g, '').split(d).length - 1);
    if (counts.length === 0 || counts[0] === 0) continue;
    const consistent = counts.filter((c) => c === counts[0]).length / counts.length;
    const score = consistent * 100 + counts[0]!;
    if (score > bestScore) {
      best = d;
      bestScore = score;
    }
  }
  return best;
}

/** snake_case, SQL-friendly: "Amount (EUR)" → amount_eur; "2nd" → c_2nd. */
export function snakeCase(header: string, index: number): string {
  const s = header
    .normalize('NFKD')
    .replace(/[\u0300-\u036f]/g, '')
    .replace(/([a-z0-9])([A-Z])/g, '$1_$2')
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '_')
    .replace(/^_+|_+$/g, '');
  if (!s) return `column_${index + 1}`;
  return /^[0-9]/.test(s) ? `c_${s}` : s.slice(0, 63);
}

function column(type: ColumnType): Column {
  return { name: 'x', type, sqlType: SQL_TYPE_NAMES[type], required: false, source: 'x', trim: true, nullIf: [], default: undefined, format: undefined, decimal: '.', thousands: undefined };
}

export async function sniff(file: string, maxRows: number): Promise<Sniffed> {
  const sample = await head(file, 64 * 1024);
  const encoding = sniffEncoding(sample);
  const text = encoding === 'utf8' ? sample.toString('utf8') : encoding === 'utf16le' ? sample.toString('utf16le') : sample.toString('latin1');
  const delimiter = sniffDelimiter(text.replace(/^\uFEFF/, ''));
  const records: string[][] = [];
  const { stream } = openSource(file, { gzip: /\.gz$/i.test(file), encoding });
  const parser = new RecordParser({ delimiter, quote: '"', escape: '"', maxRecordSize: 16 << 20 });
  const sink = (fields: string[]) => {
    if (records.length <= maxRows) records.push(fields);
  };
  for await (const chunk of stream) {
    parser.write(chunk as Buffer, sink);
    if (records.length > maxRows) break;
  }
  if (records.length <= maxRows) parser.end(sink);
  stream.destroy();
  if (records.length === 0) throw new Error(`${file}: the sample is empty`);

  const first = records[0]!;
  const width = first.length;
  // One caster per candidate type, compiled once: `fits(i, v)` says whether candidate i accepts v.
  const casters = CANDIDATES.map((t) => compileCaster(column(t), { timezone: undefined }));
  const fits = (i: number, v: string) => !(casters[i]!(v, () => false) instanceof CastFailure);
  const typeOf = (v: string): ColumnType => CANDIDATES[CANDIDATES.findIndex((_t, i) => fits(i, v))]!;
  // A header row: distinct non-empty names, and some column whose first value does not fit the type of the rest.
  const rest = records.slice(1);
  const distinct = new Set(first.map((h) => h.trim().toLowerCase())).size === width && first.every((h) => h.trim() !== '');
  const looksTyped = first.some((h, i) => {
    const later = rest.map((r) => r[i] ?? '').filter((v) => v.trim() !== '');
    return later.length > 0 && later.every((v) => typeOf(v) !== 'text') && typeOf(h) === 'text';
  });
  const header = distinct && (looksTyped || rest.length === 0 || first.every((h) => typeOf(h) === 'text'));
  const data = header ? rest : records;
  const headers = header ? first.map((h) => h.trim()) : first.map((_h, i) => `column_${i + 1}`);
  const used = new Set<string>();
  const columns = headers.map((h, i) => {
    let name = snakeCase(h, i);
    while (used.has(name)) name = `${name}_${i + 1}`;
    used.add(name);
    const values = data.map((r) => r[i] ?? '');
    const nonEmpty = values.filter((v) => v.trim() !== '');
    let idx = 0;
    for (const v of nonEmpty) {
      while (idx < CANDIDATES.length - 1 && !fits(idx, v)) idx++;
    }
    // Widen boolean columns made only of 0/1 to integer: they are more likely counts or flags as numbers.
    let type = nonEmpty.length === 0 ? 'text' : CANDIDATES[idx]!;
    // Leading zeros (zip codes, account numbers) and a leading + (phone numbers) would not survive a number type: keep text.
    if (['integer', 'bigint', 'numeric'].includes(type) && nonEmpty.some((v) => /^\+|^-?0\d/.test(v.trim()))) type = 'text';
    if (type === 'boolean' && nonEmpty.every((v) => v === '0' || v === '1')) type = 'integer';
    return { name, source: h, type, required: data.length > 0 && nonEmpty.length === values.length };
  });
  return { encoding, delimiter, header, headers, columns, rowsRead: data.length };
}

function yamlString(s: string): string {
  return JSON.stringify(s);
}

/** The definition text, with comments. */
export function renderDefinition(name: string, sampleFile: string, definitionDir: string, s: Sniffed, table: string): string {
  const rel = path.relative(definitionDir, path.dirname(path.resolve(sampleFile))) || '.';
  const pattern = /\.gz$/i.test(sampleFile) ? '*.csv.gz' : `*${path.extname(sampleFile) || '.csv'}`;
  const lines = [
    `# Job type "${name}", scaffolded by \`importer new\` from ${path.basename(sampleFile)} (${s.rowsRead} rows sniffed).`,
    '# Review the types and `required` flags, then: importer validate ' + name + '  (dry run), importer run ' + name,
    `name: ${name}`,
    '# schedule: "0 2 * * *"        # uncomment for `importer schedule`',
    'source:',
    `  path: ${yamlString(rel)}      # the sample's folder, relative to this file`,
    `  pattern: ${yamlString(pattern)}`,
    'csv:',
    `  delimiter: ${yamlString(s.delimiter)}`,
    `  header: ${s.header}${s.header ? '' : '            # no header row: columns map by position'}`,
    `  encoding: ${s.encoding}`,
    'target:',
    `  table: ${table}`,
    '  mode: append                  # append | upsert | replace; upsert needs a key',
    '  # key: [id]',
    'columns:',
  ];
  for (const c of s.columns) {
    lines.push(`  - name: ${c.name}`);
    lines.push(`    type: ${c.type}`);
    if (s.header && c.source !== c.name) lines.push(`    source: ${yamlString(c.source)}`);
    if (c.required) lines.push('    required: true              # no empty value in the sample');
  }
  lines.push('errors:', '  max_rejects: 0                # a count or a percentage such as "1%"', '');
  return lines.join('\n');
}
