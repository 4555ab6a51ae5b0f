/**
 * PostgreSQL's COPY text format, and COPY FROM STDIN through pg-copy-streams: its `finish` fires once
 * the server has the data, and a failed or destroyed COPY rolls back with its transaction.
 */
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type pg from 'pg';
import { from as copyFrom } from 'pg-copy-streams';
import type { Reject } from './batch.js';

const NEEDS_ESCAPE = /[\\\t\n\r]/;
const ESCAPES = /[\\\t\n\r]/g;
const ESCAPED: Record<string, string> = { '\\': '\\\\', '\t': '\\t', '\n': '\\n', '\r': '\\r' };

/** Escapes one value for COPY text format; null is \N. */
export function encodeValue(v: string | null): string {
  if (v === null) return '\\N';
  return NEEDS_ESCAPE.test(v) ? v.replace(ESCAPES, (c) => ESCAPED[c]!) : v;
}

/** Streams COPY text (a string or buffers) into `COPY … FROM STDIN`; nothing to send, nothing sent. */
export async function copyIn(client: pg.ClientBase, sql: string, data: string | readonly Uint8Array[]): Promise<void> {
  const parts = typeof data === 'string' ? [Buffer.from(data, 'utf8')] : data.filter((d) => d.byteLength > 0);
  if (parts.length === 0) return;
  await pipeline(Readable.from(parts), client.query(copyFrom(sql)));
}

/**
 * The columns of a batch's rejects, in encodeReject's order. The file's own columns (run_id,
 * job_type, file_id, file) come from their defaults, which read settings the batch's transaction
 * sets (migration 6), so a reject is encoded once, where it is found, without knowing its file.
 */
export const REJECT_COLUMNS = ['line', 'byte_offset', 'record', 'column_name', 'code', 'message', 'constraint_name'] as const;

export function encodeReject(r: Reject): string {
  return `${r.line}\t${r.offset}\t${encodeValue(r.record)}\t${encodeValue(r.column)}\t${encodeValue(r.code)}\t${encodeValue(r.message)}\t${encodeValue(r.constraint ?? null)}\n`;
}

const UNESCAPED: Record<string, string> = { '\\': '\\', t: '\t', n: '\n', r: '\r' };

/** One COPY text value back (\\N is null). */
export function decodeValue(v: string): string | null {
  if (v === '\\N') return null;
  return v.replace(/\\(.)/g, (_m, c: string) => UNESCAPED[c] ?? c);
}

/** encodeReject's lines back into rejects (for `importer validate`, which shows the first ones). */
export function decodeRejects(data: readonly Uint8Array[], limit = Infinity): Reject[] {
  const out: Reject[] = [];
  for (const line of Buffer.concat(data).toString('utf8').split('\n')) {
    if (out.length >= limit) break;
    if (!line) continue;
    const [l, offset, record, column, code, message, constraint] = line.split('\t');
    out.push({ line: Number(l), offset: Number(offset), record: decodeValue(record!) ?? '', column: decodeValue(column!), code: decodeValue(code!)!, message: decodeValue(message!) ?? '', constraint: decodeValue(constraint!) });
  }
  return out;
}
