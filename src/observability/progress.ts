/**
 * Progress of `importer run`. On a terminal: one live cli-progress bar per file being loaded
 * (rows, MB, percent of bytes read, rows/s, ETA, rejects). Without a TTY (cron, CI): a plain log
 * line per active file every `intervalMs`, and never a terminal control code.
 */
import { createRequire } from 'node:module';
import path from 'node:path';
import type cliProgress from 'cli-progress';
import type { Logger } from 'pino';
import type { MetricsSnapshot } from './metrics.js';
import type { SourceFile } from '../source/discover.js';
import type { FileReport } from './report.js';
import type { LogSink } from './logger.js';

export interface ProgressHooks {
  onFileStart(jobType: string, file: SourceFile): void;
  onFileProgress(jobType: string, file: SourceFile, m: MetricsSnapshot): void;
  onFileEnd(jobType: string, report: FileReport): void;
  stop(): void;
}

interface Active {
  jobType: string;
  file: SourceFile;
  m: MetricsSnapshot | undefined;
  bar?: cliProgress.SingleBar;
}

const mb = (bytes: number) => (bytes / 2 ** 20).toFixed(1);

function figures(a: Active) {
  const m = a.m;
  const rows = m ? m.cast.out + m.cast.rejected : 0;
  const seconds = m?.seconds ?? 0;
  const rate = seconds > 0 ? rows / seconds : 0;
  const bytesRead = m?.bytesRead ?? 0;
  const total = a.file.size || 1;
  // Compressed files: bytes read are compressed bytes, and so is the size.
  const fraction = Math.min(1, bytesRead / total);
  const eta = fraction > 0 && fraction < 1 ? (seconds / fraction) * (1 - fraction) : 0;
  return { rows, rate, fraction, eta, mbRead: mb(bytesRead), mbTotal: mb(a.file.size), rejects: m?.cast.rejected ?? 0 };
}

const key = (jobType: string, file: string) => `${jobType}\0${file}`;

export function createProgress(opts: { logger: Logger; tty: boolean; intervalMs?: number; sink?: LogSink | undefined }): ProgressHooks {
  return opts.tty ? barProgress(opts.sink) : lineProgress(opts.logger, opts.intervalMs ?? 5000);
}

/**
 * On a terminal: a live bar per file. cli-progress is loaded only here: cron and CI runs do without
 * it. Log lines go through the bars (MultiBar.log: clear, write the line, redraw) while they show.
 */
function barProgress(sink: LogSink | undefined): ProgressHooks {
  const active = new Map<string, Active>();
  const bars = createRequire(import.meta.url)('cli-progress') as typeof cliProgress;
  const multi = new bars.MultiBar(
    {
      stream: process.stderr,
      format: '{jobType} {file} [{bar}] {percentage}% | {rows} rows | {mb}/{size} MB | {rate} rows/s | ETA {eta}s | rejects {rejects}',
      barsize: 24,
      hideCursor: true,
      clearOnComplete: false,
      stopOnComplete: false,
      etaBuffer: 50,
      fps: 5,
    },
    bars.Presets.shades_classic,
  );
  sink?.divert((line) => multi.log(line.endsWith('\n') ? line : `${line}\n`));
  const payload = (a: Active) => {
    const f = figures(a);
    return {
      jobType: a.jobType,
      file: path.basename(a.file.path),
      rows: f.rows.toLocaleString('en-US'),
      mb: f.mbRead,
      size: f.mbTotal,
      rate: Math.round(f.rate).toLocaleString('en-US'),
      eta: Math.round(f.eta),
      rejects: f.rejects,
    };
  };
  return {
    onFileStart(jobType, file) {
      const a: Active = { jobType, file, m: undefined };
      a.bar = multi.create(1000, 0, payload(a));
      active.set(key(jobType, file.path), a);
    },
    onFileProgress(jobType, file, m) {
      const a = active.get(key(jobType, file.path));
      if (!a) return;
      a.m = m;
      a.bar?.update(Math.round(figures(a).fraction * 1000), payload(a));
    },
    onFileEnd(jobType, report) {
      const a = active.get(key(jobType, report.path));
      if (!a) return;
      a.bar?.update(1000, { ...payload(a), rows: (report.rows_loaded + report.rows_rejected).toLocaleString('en-US') });
      a.bar?.stop();
      active.delete(key(jobType, report.path));
    },
    stop() {
      multi.stop();
      sink?.divert(undefined);
    },
  };
}

/** Without a terminal: a plain log line per active file every `intervalMs`, no control codes. */
function lineProgress(logger: Logger, intervalMs: number): ProgressHooks {
  const active = new Map<string, Active>();
  const timer = setInterval(() => {
    for (const a of active.values()) {
      const f = figures(a);
      logger.info(
        {
          jobType: a.jobType,
          file: a.file.path,
          rows: f.rows,
          mb: Number(f.mbRead),
          percent: Math.round(f.fraction * 100),
          rowsPerSecond: Math.round(f.rate),
          etaSeconds: Math.round(f.eta),
          rejects: f.rejects,
        },
        `progress ${a.jobType} ${path.basename(a.file.path)}: ${Math.round(f.fraction * 100)}%, ${f.rows} rows, ${Math.round(f.rate)} rows/s, ETA ${Math.round(f.eta)}s, ${f.rejects} rejects`,
      );
    }
  }, intervalMs);
  timer.unref();
  return {
    onFileStart(jobType, file) {
      active.set(key(jobType, file.path), { jobType, file, m: undefined });
    },
    onFileProgress(jobType, file, m) {
      const a = active.get(key(jobType, file.path));
      if (a) a.m = m;
    },
    onFileEnd(jobType, report) {
      active.delete(key(jobType, report.path));
    },
    stop() {
      clearInterval(timer);
    },
  };
}
