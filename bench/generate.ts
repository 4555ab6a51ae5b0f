/**
 * A deterministic CSV of `rows` rows and 12 mixed columns: quoted fields with commas and quotes,
 * embedded newlines, empty values, exact numerics, timestamps. Used by the benchmark and the tests.
 */
import { createWriteStream } from 'node:fs';
import { once } from 'node:events';

export const GENERATED_HEADER = 'id,uuid,customer,email,country,amount,quantity,price,active,created_at,birth_date,notes';

/** A small deterministic PRNG (mulberry32), so every run writes the same bytes. */
export function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const NAMES = ['Ada Lovelace', 'Grace Hopper', 'Müller, Hans', 'Zoë "Z" Ndlovu', 'Jean-Luc Picard', "O'Brien, Pat", 'Alan Turing', '李雷'];
const COUNTRIES = ['GB', 'US', 'DE', 'ZA', 'FR', 'IE', 'CN', 'NL'];

export interface GeneratedRow {
  id: string;
  uuid: string;
  customer: string;
  email: string | null;
  country: string;
  amount: string;
  quantity: string;
  price: string;
  active: boolean;
  created_at: string;
  birth_date: string | null;
  notes: string | null;
}

export function generatedRow(i: number): GeneratedRow {
  const r = rng(i * 2654435761);
  const hex = (n: number) => Array.from({ length: n }, () => Math.floor(r() * 16).toString(16)).join('');
  const day = 1 + (i % 28);
  return {
    id: String(i),
    uuid: `${hex(8)}-${hex(4)}-4${hex(3)}-a${hex(3)}-${hex(12)}`,
    customer: NAMES[i % NAMES.length]!,
    email: i % 11 === 0 ? null : `user${i}@example.com`,
    country: COUNTRIES[i % COUNTRIES.length]!,
    amount: `${Math.floor(r() * 1e9)}.${String(Math.floor(r() * 1e6)).padStart(6, '0')}`,
    quantity: String(Math.floor(r() * 100000) - 50000),
    price: (Math.floor(r() * 1e6) / 100).toString(),
    active: r() < 0.5,
    created_at: `2026-${String(1 + (i % 12)).padStart(2, '0')}-${String(day).padStart(2, '0')} ${String(i % 24).padStart(2, '0')}:${String(i % 60).padStart(2, '0')}:00+00`,
    birth_date: i % 5 === 0 ? null : `19${50 + (i % 50)}-${String(1 + (i % 12)).padStart(2, '0')}-${String(day).padStart(2, '0')}`,
    notes: i % 7 === 0 ? null : i % 50 === 0 ? `note ${i}, line one\nline two with "quotes"` : `plain note ${i}`,
  };
}

function csvField(v: string | null): string {
  if (v === null) return '';
  return /[",\n\r]/.test(v) ? `"${v.replace(/"/g, '""')}"` : v;
}

export function generatedLine(i: number): string {
  const g = generatedRow(i);
  return [g.id, g.uuid, g.customer, g.email, g.country, g.amount, g.quantity, g.price, g.active ? 'true' : 'false', g.created_at, g.birth_date, g.notes]
    .map(csvField)
    .join(',');
}

/** Writes rows first..first+rows-1 (ids) to `file`; returns the bytes written. */
export async function writeGeneratedCsv(file: string, rows: number, first = 1): Promise<number> {
  const out = createWriteStream(file);
  let bytes = 0;
  const write = async (s: string) => {
    bytes += Buffer.byteLength(s);
    if (!out.write(s)) await once(out, 'drain');
  };
  await write(GENERATED_HEADER + '\n');
  let chunk = '';
  for (let i = first; i < first + rows; i++) {
    chunk += generatedLine(i) + '\n';
    if (chunk.length > 1 << 16) {
      await write(chunk);
      chunk = '';
    }
  }
  await write(chunk);
  out.end();
  await once(out, 'finish');
  return bytes;
}

/** The job type definition (YAML) that loads a generated file into `table`. */
export function generatedJobType(opts: { name: string; dir: string; table: string; pattern?: string; batchRows?: number; extra?: string }): string {
  return `name: ${opts.name}
source:
  path: ${JSON.stringify(opts.dir)}
  pattern: ${JSON.stringify(opts.pattern ?? '*.csv')}
target:
  table: ${opts.table}
columns:
  - { name: id, type: bigint, required: true }
  - { name: uuid, type: uuid }
  - { name: customer, type: text }
  - { name: email, type: text }
  - { name: country, type: text }
  - { name: amount, type: numeric }
  - { name: quantity, type: integer }
  - { name: price, type: double }
  - { name: active, type: boolean }
  - { name: created_at, type: timestamptz }
  - { name: birth_date, type: date }
  - { name: notes, type: text }
batch:
  rows: ${opts.batchRows ?? 10000}
${opts.extra ?? ''}`;
}
