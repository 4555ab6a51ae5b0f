/**
 * Every text the CLI prints on stdout, in one place: the `run` summary, the tables of `status`,
 * `jobtypes list` and `sql`, `history`, `rejects`, `validate` and `new`. Commands fetch, these
 * functions turn what was fetched into text (JSON output is JSON.stringify of the same data).
 */
import path from 'node:path';
import type pg from 'pg';
import type { HistoryRun } from '../db/read/runs.js';
import type { RejectRow } from '../db/read/rejects.js';
import type { StatusRow } from '../db/read/status.js';
import type { RunReport } from '../importer.js';
import type { Sniffed } from '../scaffold.js';
import type { DryRunFile } from '../validate.js';

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

/** A path relative to the working directory when it lies inside it, else absolute. */
export function shownPath(p: string): string {
  const rel = path.relative(process.cwd(), p);
  return rel === '' ? '.' : rel.startsWith('..') || path.isAbsolute(rel) ? p : rel;
}

const when = (iso: string) => iso.replace('T', ' ').slice(0, 19);

/** `importer status`. */
export function formatStatus(rows: readonly StatusRow[]): string {
  const header = ['JOB TYPE', 'LAST RUN (UTC)', 'RESULT', 'ROWS', 'REJECTS', 'SECONDS', 'NEXT FIRE (UTC)'];
  const cells = rows.map((r) => [
    r.name,
    r.last_run ? when(r.last_run.started_at) : 'never',
    r.last_run?.status ?? '-',
    r.last_run ? fmtInt(r.last_run.rows_loaded) : '-',
    r.last_run ? fmtInt(r.last_run.rows_rejected) : '-',
    r.last_run?.seconds != null ? r.last_run.seconds.toFixed(1) : '-',
    r.next_fire ? when(r.next_fire) : '-',
  ]);
  return table([header, ...cells]) + '\n';
}

/** `importer history`. */
export function formatHistory(runs: readonly HistoryRun[]): string {
  if (runs.length === 0) return 'no runs yet\n';
  let out = '';
  for (const r of runs) {
    out += `${when(r.started_at)}  run ${r.run_id}  ${r.job_type}  ${r.status}  ${r.trigger}  ${fmtInt(r.rows_loaded)} rows, ${r.rows_rejected} rejected, ${r.seconds?.toFixed(1) ?? '-'}s${r.restarts ? `, ${r.restarts} restarts` : ''}${r.error ? `  ${r.error}` : ''}\n`;
    for (const f of r.files) {
      const why = f.reason ? `  (${f.reason})` : '';
      const err = f.error_code ? `  ${f.error_code}${f.line ? ` at line ${f.line}` : ''}` : '';
      out += `    ${f.status.padEnd(11)} ${shownPath(f.path)}  ${f.rows_loaded} rows, ${f.rows_rejected} rejected${f.resumed ? ', resumed' : ''}${why}${err}\n`;
    }
  }
  return out;
}

/** `importer rejects` (and `--json`): the rows, then a count by reason. */
export function formatRejects(rows: readonly RejectRow[], limit: number | undefined, json: boolean): string {
  if (json) return JSON.stringify({ rejects: rows.map((r) => ({ ...r, id: Number(r.id), run_id: r.run_id === null ? null : Number(r.run_id), line: Number(r.line), byte_offset: Number(r.byte_offset) })) }) + '\n';
  if (rows.length === 0) return 'no rejects\n';
  const byReason = new Map<string, number>();
  for (const r of rows) byReason.set(r.code, (byReason.get(r.code) ?? 0) + 1);
  const lines = rows.map((r) => {
    const rec = r.record.replace(/\r?\n|\r/g, '\\n');
    return `${r.job_type}  run ${r.run_id ?? '-'}  ${r.file}:${r.line}  ${r.column_name ?? '-'}  ${r.code}  ${r.message}${r.loaded ? '' : '  (file not loaded)'}\n    ${rec.length > 120 ? rec.slice(0, 117) + '...' : rec}`;
  });
  const summary = [...byReason].sort((a, b) => b[1] - a[1]).map(([c, n]) => `${c} ×${n}`).join(', ');
  const notLoaded = rows.filter((r) => !r.loaded).length;
  const note = notLoaded > 0 ? `\n${notLoaded} of them belong to a file that was not loaded (it failed, e.g. on errors.max_rejects, or is still loading)\n` : '';
  return `${lines.join('\n')}\n\n${rows.length} rejects${limit && rows.length === limit ? ` (first ${limit}; --limit for more)` : ''}: ${summary}\n${note}`;
}

/**
 * `importer sql` with one or several statements: one statement prints as before; several print each
 * result in order, separated by a blank line (with --json, one JSON array per line).
 */
export function formatResults(results: readonly pg.QueryResult[], json: boolean | undefined): string {
  return results.map((r) => formatRows(r, json)).join(json ? '' : '\n');
}

/** `importer sql`: rows fetched as arrays of PostgreSQL's own text. */
export function formatRows(result: pg.QueryResult, json: boolean | undefined): string {
  if (json) {
    const names = result.fields.map((f) => f.name);
    const objects = (result.rows as unknown as unknown[][]).map((r) => Object.fromEntries(r.map((v, i) => [names[i], v])));
    return JSON.stringify(objects) + '\n';
  }
  if (!result.fields || result.fields.length === 0) return `${result.command} ${result.rowCount ?? ''}\n`;
  const names = result.fields.map((f) => f.name);
  const cells = (result.rows as unknown as unknown[][]).map((r) => r.map((v) => (v === null || v === undefined ? '' : String(v))));
  const widths = names.map((n, i) => Math.min(60, Math.max(n.length, ...cells.map((c) => c[i]!.length))));
  const line = (c: string[]) => c.map((v, i) => v.replace(/\n/g, '\\n').slice(0, 60).padEnd(widths[i]!)).join(' | ').trimEnd();
  return [line(names), widths.map((w) => '-'.repeat(w)).join('-+-'), ...cells.map(line)].join('\n') + '\n' + `(${result.rowCount} row${result.rowCount === 1 ? '' : 's'})\n`;
}

export interface JobTypeListRow {
  name: string;
  valid: boolean;
  enabled: boolean;
  table: string | null;
  mode: string | null;
  /** The parser in force (csv.parser, auto resolved), the load strategy, and what keeps the server from parsing. */
  parser: string | null;
  strategy: string | null;
  client_only: string[];
  source: string | null;
  schedule: string | null;
  next_fire: string | null;
  file: string;
  errors: string[];
}

/** `importer jobtypes list`. */
export function formatJobTypeList(rows: readonly JobTypeListRow[]): string {
  const header = ['NAME', 'VALID', 'TABLE', 'MODE', 'PARSER', 'STRATEGY', 'SOURCE', 'SCHEDULE', 'NEXT FIRE'];
  const cells = rows.map((r) => [
    r.name,
    r.valid ? (r.enabled ? 'yes' : 'disabled') : 'NO',
    r.table ?? '-',
    r.mode ?? '-',
    r.parser ?? '-',
    r.strategy ?? '-',
    r.source ?? '-',
    r.schedule ?? '-',
    r.next_fire ?? '-',
  ]);
  let out = table([header, ...cells]) + '\n';
  for (const r of rows) for (const e of r.errors) out += `\n${e}`;
  if (rows.some((r) => r.errors.length > 0)) out += '\n';
  return out;
}

/** `importer validate` (the dry run). */
export function formatDryRun(reports: readonly DryRunFile[], maxRejects: string): string {
  let out = '';
  for (const r of reports) {
    out += `${path.relative(process.cwd(), r.path) || r.path}\n`;
    out += `  ${r.status === 'failed' ? 'FAILED' : r.status === 'over_threshold' ? 'WOULD FAIL' : 'ok'}: ${r.rows} rows, ${r.would_load} would load, ${r.rejected} rejected (errors.max_rejects ${maxRejects})\n`;
    for (const w of r.warnings) out += `  warning: ${w}\n`;
    if (r.error) out += `  ${r.error.code}: ${r.error.message}\n`;
    for (const j of r.rejects) out += `  line ${j.line}${j.column ? ` ${j.column}` : ''}: ${j.code}: ${j.message}\n`;
  }
  return out;
}

/** `importer new`: what was written and sniffed. */
export function formatScaffold(name: string, file: string, sniffed: Sniffed): string {
  let out = `wrote ${shownPath(file)}: ${sniffed.columns.length} columns, delimiter ${JSON.stringify(sniffed.delimiter)}, ${sniffed.encoding}, header ${sniffed.header ? 'yes' : 'no'} (${sniffed.rowsRead} rows sniffed)\n`;
  for (const c of sniffed.columns) out += `  ${c.name.padEnd(24)} ${c.type.padEnd(12)} ${c.required ? 'required' : 'nullable'}${sniffed.header && c.source !== c.name ? `  (from "${c.source}")` : ''}\n`;
  return out + `next: importer validate ${name}   then   importer run ${name}\n`;
}
