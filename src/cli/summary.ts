/** The human summary printed after `importer run`. */
import path from 'node:path';
import type { RunReport } from '../importer.js';

function fmtInt(n: number): string {
  return n.toLocaleString('en-US');
}

/** Aligned columns, two spaces apart; columns in `rightAligned` are padded on the left. */
export function table(rows: string[][], rightAligned: ReadonlySet<number> = new Set()): string {
  const widths = rows[0]!.map((_c, i) => Math.max(...rows.map((r) => r[i]!.length)));
  return rows
    .map((r) => r.map((c, i) => (rightAligned.has(i) ? c.padStart(widths[i]!) : c.padEnd(widths[i]!))).join('  ').trimEnd())
    .join('\n');
}

export function formatSummary(report: RunReport, cwd = process.cwd()): string {
  const rows: string[][] = [['JOB TYPE', 'FILE', 'STATUS', 'LOADED', 'REJECTED', 'SECONDS', 'ROWS/S']];
  const notes: string[] = [];
  for (const job of report.jobs) {
    const files = job.files.length;
    rows.push([
      job.name,
      `(${files} file${files === 1 ? '' : 's'})`,
      job.status,
      fmtInt(job.rows_loaded),
      fmtInt(job.rows_rejected),
      job.seconds.toFixed(2),
      job.seconds > 0 ? fmtInt(Math.round((job.rows_loaded + job.rows_rejected) / job.seconds)) : '0',
    ]);
    if (job.error) notes.push(`${job.name}: ${job.error.code}: ${job.error.message}`);
    for (const f of job.files) {
      const rel = path.relative(cwd, f.path);
      const shown = rel && !rel.startsWith('..') ? rel : f.path;
      rows.push([
        '',
        shown,
        f.status + (f.resumed ? ' (resumed)' : ''),
        fmtInt(f.rows_loaded),
        fmtInt(f.rows_rejected),
        f.seconds.toFixed(2),
        fmtInt(f.rows_per_second),
      ]);
      if (f.status === 'skipped' && f.reason) notes.push(`${shown}: skipped: ${f.reason}`);
      if (f.error) notes.push(`${shown}: ${f.error.code}: ${f.error.message.replace(`${f.path}: `, '')}`);
      const reasons = Object.entries(f.rejects_by_reason).sort((a, b) => b[1] - a[1]);
      if (reasons.length > 0) notes.push(`${shown}: rejects by reason: ${reasons.map(([c, n]) => `${c} ×${n}`).join(', ')}`);
      if (f.rows_duplicate > 0 || f.rows_updated > 0) {
        notes.push(`${shown}: ${fmtInt(f.rows_inserted)} inserted, ${fmtInt(f.rows_updated)} updated, ${fmtInt(f.rows_duplicate)} skipped as duplicates`);
      }
    }
  }
  for (const d of report.invalid) {
    rows.push([d.name, path.relative(cwd, d.file) || d.file, 'invalid', '-', '-', '-', '-']);
    notes.push(...d.errors);
  }
  let out = table(rows, new Set([3, 4, 5, 6]));
  if (notes.length > 0) out += '\n\n' + notes.join('\n');
  out += `\n\nrun ${report.run_id ?? '-'} ${report.status} in ${report.seconds.toFixed(2)}s`;
  return out + '\n';
}
