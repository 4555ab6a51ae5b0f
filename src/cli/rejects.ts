/** `importer rejects`: the quarantine, listed or exported as a fixable CSV. */
import { rejects, type RejectFilter, type RejectRow } from '../db/read/rejects.js';
import { withSession } from '../db/session.js';
import type { JobType } from '../jobtypes/normalize.js';
import { openSource } from '../source/open.js';
import { RecordParser } from '../source/parse.js';

async function fetchRejects(url: string, f: RejectFilter): Promise<RejectRow[]> {
  return withSession(url, (c) => rejects(c, f));
}

export async function listRejects(url: string, f: RejectFilter, json: boolean): Promise<string> {
  const rows = await fetchRejects(url, f);
  if (json) return JSON.stringify({ rejects: rows.map((r) => ({ ...r, id: Number(r.id), run_id: r.run_id === null ? null : Number(r.run_id), line: Number(r.line), byte_offset: Number(r.byte_offset) })) }) + '\n';
  if (rows.length === 0) return 'no rejects\n';
  const byReason = new Map<string, number>();
  for (const r of rows) byReason.set(r.code, (byReason.get(r.code) ?? 0) + 1);
  const lines = rows.map((r) => {
    const rec = r.record.replace(/\r?\n|\r/g, '\\n');
    return `${r.job_type}  run ${r.run_id ?? '-'}  ${r.file}:${r.line}  ${r.column_name ?? '-'}  ${r.code}  ${r.message}\n    ${rec.length > 120 ? rec.slice(0, 117) + '...' : rec}`;
  });
  const summary = [...byReason].sort((a, b) => b[1] - a[1]).map(([c, n]) => `${c} ×${n}`).join(', ');
  return `${lines.join('\n')}\n\n${rows.length} rejects${f.limit && rows.length === f.limit ? ` (first ${f.limit}; --limit for more)` : ''}: ${summary}\n`;
}

/** The raw header line of a source file, or undefined when it cannot be read. */
async function headerLine(file: string, jt: JobType): Promise<string | undefined> {
  try {
    const { stream } = openSource(file, { gzip: /\.gz$/i.test(file), encoding: jt.csv.encoding });
    const parser = new RecordParser({ delimiter: jt.csv.delimiter, quote: jt.csv.quote, escape: jt.csv.escape, maxRecordSize: 1 << 20 });
    let header: string | undefined;
    for await (const chunk of stream) {
      parser.write(chunk as Buffer, (_f, _l, _o, raw) => (header ??= raw.text()));
      if (header !== undefined) break;
    }
    stream.destroy();
    return header;
  } catch {
    return undefined;
  }
}

/**
 * A CSV to fix and drop back into the source folder: the files' header line (the definition's
 * columns if the files are gone or disagree), then every rejected record exactly as it stood.
 */
export async function csvRejects(url: string, jt: JobType, f: RejectFilter): Promise<string> {
  const rows = await fetchRejects(url, { ...f, jobType: jt.name });
  let header = '';
  if (jt.csv.header) {
    const headers = new Set(await Promise.all([...new Set(rows.map((r) => r.file))].map((file) => headerLine(file, jt))));
    const only = headers.size === 1 ? [...headers][0] : undefined;
    const q = jt.csv.quote;
    const field = (s: string) => (s.includes(jt.csv.delimiter) || s.includes(q) || /[\r\n]/.test(s) ? q + s.split(q).join(q + q) + q : s);
    header = (only ?? jt.columns.map((c) => field(c.source)).join(jt.csv.delimiter)) + '\n';
  }
  return header + rows.map((r) => r.record + '\n').join('');
}
