/**
 * The command line: the only place that reads argv and the environment and decides the exit code.
 * Commands stay thin; the work lives in importer.ts and below.
 *
 * Exit codes: 0 success; 1 a job type, file or definition failed; 2 bad usage or no valid
 * definition; 128+N stopped by signal N (130 for SIGINT, 143 for SIGTERM).
 */
import { spawn } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { Command, CommanderError, Option } from 'commander';
import pg from 'pg';
import type { Logger } from 'pino';
import { openDatabase, type Database } from '../db/connection.js';
import { withSession } from '../db/session.js';
import { ImporterError, errorCode, errorMessage } from '../errors.js';
import { run, DEFAULTS, selectJobTypes, type RunReport } from '../importer.js';
import { dryRun } from '../validate.js';
import { Scheduler } from '../supervisor/scheduler.js';
import { nextFire } from '../util/cron.js';
import { createProgress } from '../observability/progress.js';
import { runCrashHooks } from '../observability/crash.js';
import type { Dashboard } from '../dashboard/server.js';
import { runIsolated } from '../supervisor/isolated.js';
import { history } from '../db/read/runs.js';
import { status } from '../db/read/status.js';
import { renderDefinition, sniff } from '../jobtypes/scaffold.js';
import { existsSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { csvRejects, listRejects } from './rejects.js';
import { formatProblem, loadJobTypes } from '../jobtypes/load.js';
import { createLogger, type LogFormat } from '../observability/logger.js';
import { formatSummary, table } from './summary.js';

export const EXIT = { ok: 0, failed: 1, usage: 2 } as const;

interface CommonOptions {
  jobtypes: string;
  databaseUrl?: string;
  dataDir: string;
  logLevel: string;
  logFormat: LogFormat;
  quiet?: boolean;
  json?: boolean;
}

function addCommon(cmd: Command): Command {
  return cmd
    .option('--jobtypes <dir>', 'folder of job type definitions', process.env.IMPORTER_JOBTYPES ?? './jobtypes')
    .option('--database-url <url>', 'PostgreSQL to load into (default: $DATABASE_URL, else the embedded server)')
    .option('--data-dir <dir>', 'where the embedded PostgreSQL keeps its data', process.env.IMPORTER_DATA_DIR ?? '.importer')
    .addOption(new Option('--log-level <level>', 'log level').choices(['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent']).default('info'))
    .addOption(new Option('--log-format <format>', 'log format on stderr').choices(['json', 'pretty']).default('pretty'))
    .option('-q, --quiet', 'only warnings and errors on stderr');
}

/** A path relative to the working directory when it lies inside it, else absolute. */
function shownPath(p: string): string {
  const rel = path.relative(process.cwd(), p);
  return rel === '' ? '.' : rel.startsWith('..') || path.isAbsolute(rel) ? p : rel;
}

function loggerFor(o: CommonOptions): Logger {
  return createLogger({ level: o.quiet && o.logLevel === 'info' ? 'warn' : o.logLevel, format: o.logFormat });
}

function databaseUrl(o: CommonOptions): string | undefined {
  return o.databaseUrl ?? (process.env.DATABASE_URL || undefined);
}

function positiveInt(name: string) {
  return (v: string): number => {
    const n = Number(v);
    if (!Number.isInteger(n) || n < 1) throw new ImporterError('USAGE', `${name} expects a whole number from 1 upwards, got "${v}"`);
    return n;
  };
}

/** Opens the database, runs `fn`, and always releases it (an embedded server is stopped). */
async function withDatabase<T>(o: CommonOptions, logger: Logger, fn: (db: Database) => Promise<T>): Promise<T> {
  const db = await openDatabase({ url: databaseUrl(o), dataDir: o.dataDir, logger });
  logger.info(`database: ${db.display}`);
  try {
    return await fn(db);
  } finally {
    await db.close();
  }
}

async function query(db: Database, sql: string, params: unknown[] = []): Promise<pg.QueryResult> {
  // Rows as arrays (duplicate column names stay apart) of PostgreSQL's own text (dates stay dates).
  return withSession(db.url, (client) => client.query({ text: sql, values: params, rowMode: 'array', types: { getTypeParser: () => (v: string) => v } }), 'server');
}

function printRows(result: pg.QueryResult, json: boolean | undefined): void {
  if (json) {
    const names = result.fields.map((f) => f.name);
    const objects = (result.rows as unknown as unknown[][]).map((r) => Object.fromEntries(r.map((v, i) => [names[i], v])));
    process.stdout.write(JSON.stringify(objects) + '\n');
    return;
  }
  if (!result.fields || result.fields.length === 0) {
    process.stdout.write(`${result.command} ${result.rowCount ?? ''}\n`);
    return;
  }
  const names = result.fields.map((f) => f.name);
  const cells = (result.rows as unknown as unknown[][]).map((r) => r.map((v) => (v === null || v === undefined ? '' : String(v))));
  const widths = names.map((n, i) => Math.min(60, Math.max(n.length, ...cells.map((c) => c[i]!.length))));
  const line = (c: string[]) => c.map((v, i) => v.replace(/\n/g, '\\n').slice(0, 60).padEnd(widths[i]!)).join(' | ').trimEnd();
  process.stdout.write([line(names), widths.map((w) => '-'.repeat(w)).join('-+-'), ...cells.map(line)].join('\n') + '\n');
  process.stdout.write(`(${result.rowCount} row${result.rowCount === 1 ? '' : 's'})\n`);
}

/** Installs graceful shutdown: the first SIGINT/SIGTERM aborts, the second exits at once. */
function shutdownSignal(
  logger: Logger,
  timeoutMs: number,
  onForce?: () => void,
): { signal: AbortSignal; received: () => NodeJS.Signals | undefined; dispose: () => void } {
  const controller = new AbortController();
  let received: NodeJS.Signals | undefined;
  let timer: NodeJS.Timeout | undefined;
  const force = (why: string, sig: NodeJS.Signals) => {
    logger.error(`${why}: exiting now`);
    onForce?.();
    process.exit(128 + (sig === 'SIGINT' ? 2 : 15));
  };
  const onSignal = (sig: NodeJS.Signals) => {
    if (received) force(`second ${sig}`, sig);
    received = sig;
    logger.warn(`${sig} received: finishing in-flight batches, then stopping (send it again to exit at once)`);
    timer = setTimeout(() => force(`shutdown took longer than ${timeoutMs / 1000}s`, sig), timeoutMs);
    timer.unref();
    controller.abort();
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  return {
    signal: controller.signal,
    received: () => received,
    dispose: () => {
      clearTimeout(timer);
      process.off('SIGINT', onSignal);
      process.off('SIGTERM', onSignal);
    },
  };
}

const collect = (v: string, prev: string[]): string[] => [...prev, v];

/** --allow-host names and $IMPORTER_DASHBOARD_ALLOWED_HOSTS (comma-separated). */
function allowedHosts(fromFlags: readonly string[]): string[] {
  const fromEnv = (process.env.IMPORTER_DASHBOARD_ALLOWED_HOSTS ?? '').split(',').map((h) => h.trim()).filter(Boolean);
  return [...fromFlags, ...fromEnv];
}

function runExitCode(report: RunReport, sig: NodeJS.Signals | undefined): number {
  if (sig) return 128 + (sig === 'SIGINT' ? 2 : 15);
  return report.status === 'succeeded' ? EXIT.ok : EXIT.failed;
}

export function buildProgram(): Command {
  const program = new Command();
  program
    .name('importer')
    .description('Load CSV files into PostgreSQL: one job type per definition file, back-pressured COPY pipelines, exactly-once.')
    .showSuggestionAfterError(true)
    .showHelpAfterError('(run with --help for usage)')
    .exitOverride();

  addCommon(
    program
      .command('run')
      .description('load the files of every job type (or the named ones) once, then print a summary')
      .argument('[jobtypes...]', 'job type names (default: all enabled job types)')
      .option('--json', 'print one JSON document on stdout instead of the summary')
      .option('--force', 'load files again even if the ledger says they were loaded')
      .option('--isolate', 'run each job type in its own child process, so that even a hard crash of one is contained (the connections are split between them)')
      .option('--max-connections <n>', 'connections to PostgreSQL at most, for the whole process', positiveInt('--max-connections'), DEFAULTS.maxConnections)
      .option('--jobs <n>', 'job types loading at once', positiveInt('--jobs'), DEFAULTS.jobs)
      .option('--buffer <n>', `batches buffered per file between batcher and consumers (default: the definition's pipeline.buffer_batches, else ${DEFAULTS.bufferBatches})`, positiveInt('--buffer'))
      .option('--consumers <n>', `parallel COPY streams per file (default: pipeline.consumers, else ${DEFAULTS.consumers})`, positiveInt('--consumers'))
      .option('--retry-deadline <seconds>', 'how long transient database errors are retried', positiveInt('--retry-deadline'), 300)
      .option('--shutdown-timeout <seconds>', 'on SIGTERM/SIGINT, how long in-flight batches may take before the process exits anyway', positiveInt('--shutdown-timeout'), 30)
      .option('--parse-threads <n>', `one pool of threads for the process that parse and cast files over 4 MiB (0: all in the main thread; default ${DEFAULTS.parseThreads} here)`, (v: string) => {
        const n = Number(v);
        if (!Number.isInteger(n) || n < 0) throw new ImporterError('USAGE', `--parse-threads expects a whole number from 0 upwards, got "${v}"`);
        return n;
      })
      .option('--progress-interval <seconds>', 'without a terminal: seconds between plain progress lines', positiveInt('--progress-interval'), 5)
      .addOption(new Option('--trigger <name>', 'recorded in the run history (schedule sets it)').default('manual').hideHelp()),
  )
    .addHelpText(
      'after',
      `
Examples:
  $ importer run                         load every job type in ./jobtypes
  $ importer run orders customers        load two job types
  $ importer run --json > result.json    machine-readable result on stdout, logs on stderr
  $ DATABASE_URL=postgres://user@db/warehouse importer run --max-connections 8`,
    )
    .action(async (names: string[], o: CommonOptions & { force?: boolean; maxConnections: number; jobs: number; buffer?: number; consumers?: number; retryDeadline: number; shutdownTimeout: number; trigger: string; progressInterval: number; parseThreads?: number; isolate?: boolean }) => {
      const logger = loggerFor(o);
      const shutdown = shutdownSignal(logger, o.shutdownTimeout * 1000);
      const progress = o.quiet || o.logLevel === 'silent' ? undefined : createProgress({ logger, tty: process.stderr.isTTY === true && !process.env.IMPORTER_CHILD, intervalMs: o.progressInterval * 1000 });
      try {
        const runner = o.isolate
          ? (x: Parameters<typeof run>[0]) =>
              runIsolated({
                ...x,
                childArgs: ['--log-level', o.logLevel, '--log-format', o.logFormat, ...(o.parseThreads !== undefined ? ['--parse-threads', String(o.parseThreads)] : [])],
              })
          : run;
        const report = await runner({
          jobtypesDir: o.jobtypes,
          only: names,
          databaseUrl: databaseUrl(o),
          dataDir: o.dataDir,
          maxConnections: o.maxConnections,
          jobs: o.jobs,
          bufferBatches: o.buffer,
          consumers: o.consumers,
          force: o.force ?? false,
          retryDeadlineMs: o.retryDeadline * 1000,
          trigger: o.trigger,
          parseThreads: o.parseThreads,
          logger,
          signal: shutdown.signal,
          ...(progress
            ? { onFileStart: progress.onFileStart, onFileProgress: progress.onFileProgress, onFileEnd: progress.onFileEnd }
            : {}),
        });
        progress?.stop();
        process.stdout.write(o.json ? JSON.stringify(report) + '\n' : formatSummary(report));
        process.exitCode = runExitCode(report, shutdown.received());
      } finally {
        progress?.stop();
        shutdown.dispose();
      }
    });

  addCommon(program.command('status').description('one line per job type: its last run (when, result, rows, rejects, duration) and its next scheduled time').option('--json', 'print JSON'))
    .addHelpText('after', '\nExamples:\n  $ importer status\n  $ importer status --json | jq \'.jobtypes[] | select(.last_run.status == "failed")\'')
    .action(async (o: CommonOptions) => {
      const logger = loggerFor({ ...o, logLevel: o.logLevel === 'info' ? 'warn' : o.logLevel });
      const loaded = await loadJobTypes(o.jobtypes);
      await withDatabase(o, logger, async (database) => {
        const rows = await withSession(database.url, (c) => status(c, loaded.valid));
        if (o.json) {
          process.stdout.write(JSON.stringify({ jobtypes: rows }) + '\n');
          return;
        }
        const header = ['JOB TYPE', 'LAST RUN', 'RESULT', 'ROWS', 'REJECTS', 'SECONDS', 'NEXT FIRE'];
        const cells = rows.map((r) => [
          r.name,
          r.last_run ? r.last_run.started_at.replace('T', ' ').slice(0, 19) : 'never',
          r.last_run?.status ?? '-',
          r.last_run ? r.last_run.rows_loaded.toLocaleString('en-US') : '-',
          r.last_run ? r.last_run.rows_rejected.toLocaleString('en-US') : '-',
          r.last_run?.seconds != null ? r.last_run.seconds.toFixed(1) : '-',
          r.next_fire ? r.next_fire.replace('T', ' ').slice(0, 19) : '-',
        ]);
        process.stdout.write(table([header, ...cells]) + '\n');
      });
    });

  addCommon(
    program
      .command('history')
      .description('past runs of every job type (or one), newest first, with their files')
      .argument('[jobtype]', 'only this job type')
      .option('--limit <n>', 'runs to show', positiveInt('--limit'), 20)
      .option('--json', 'print JSON'),
  )
    .addHelpText('after', '\nExamples:\n  $ importer history\n  $ importer history orders --limit 5 --json')
    .action(async (name: string | undefined, o: CommonOptions & { limit: number }) => {
      const logger = loggerFor({ ...o, logLevel: o.logLevel === 'info' ? 'warn' : o.logLevel });
      await withDatabase(o, logger, async (database) => {
        const runs = await withSession(database.url, (c) => history(c, name, o.limit));
        if (o.json) {
          process.stdout.write(JSON.stringify({ runs }) + '\n');
          return;
        }
        if (runs.length === 0) process.stdout.write('no runs yet\n');
        for (const r of runs) {
          process.stdout.write(
            `${r.started_at.replace('T', ' ').slice(0, 19)}  run ${r.run_id}  ${r.job_type}  ${r.status}  ${r.trigger}  ${r.rows_loaded.toLocaleString('en-US')} rows, ${r.rows_rejected} rejected, ${r.seconds?.toFixed(1) ?? '-'}s${r.restarts ? `, ${r.restarts} restarts` : ''}${r.error ? `  ${r.error}` : ''}\n`,
          );
          for (const f of r.files) {
            process.stdout.write(`    ${f.status.padEnd(11)} ${shownPath(f.path)}  ${f.rows_loaded} rows, ${f.rows_rejected} rejected${f.error_code ? `  ${f.error_code}` : ''}\n`);
          }
        }
      });
    });

  addCommon(
    program
      .command('new')
      .description('scaffold a job type from a sample CSV: sniffs delimiter, encoding, header, types and nullability')
      .argument('<name>', 'job type name (also the default table)')
      .requiredOption('--from <sample>', 'a sample CSV (or .csv.gz)')
      .option('--table <table>', 'target table (default: the name)')
      .option('--rows <n>', 'rows to sniff', positiveInt('--rows'), 10000)
      .option('--force', 'overwrite an existing definition'),
  )
    .addHelpText('after', '\nExamples:\n  $ importer new payments --from /srv/drop/payments/payments-2026-11-01.csv\n  $ importer new stock --from stock.csv --table warehouse.stock --jobtypes ./jobtypes')
    .action(async (name: string, o: CommonOptions & { from: string; table?: string; rows: number; force?: boolean }) => {
      if (!/^[A-Za-z0-9][A-Za-z0-9_.-]*$/.test(name)) throw new ImporterError('USAGE', `job type name "${name}" must start with a letter or digit and use only letters, digits, _ . -`);
      const dir = path.resolve(o.jobtypes);
      const file = path.join(dir, `${name}.yaml`);
      if (existsSync(file) && !o.force) throw new ImporterError('USAGE', `${path.relative(process.cwd(), file)} exists; pass --force to overwrite it`);
      if (!existsSync(o.from)) throw new ImporterError('USAGE', `${o.from}: no such file`);
      const sniffed = await sniff(path.resolve(o.from), o.rows);
      await mkdir(dir, { recursive: true });
      const table = o.table ?? name.replace(/[^A-Za-z0-9_]/g, '_').toLowerCase();
      await writeFile(file, renderDefinition(name, o.from, dir, sniffed, table));
      const check = await loadJobTypes(dir);
      const bad = check.invalid.find((d) => d.file === file);
      if (bad) throw new ImporterError('INTERNAL', `the scaffolded definition does not validate: ${bad.problems.map((p) => formatProblem(file, p)).join('; ')}`);
      process.stdout.write(`wrote ${shownPath(file)}: ${sniffed.columns.length} columns, delimiter ${JSON.stringify(sniffed.delimiter)}, ${sniffed.encoding}, header ${sniffed.header ? 'yes' : 'no'} (${sniffed.rowsRead} rows sniffed)\n`);
      for (const c of sniffed.columns) process.stdout.write(`  ${c.name.padEnd(24)} ${c.type.padEnd(12)} ${c.required ? 'required' : 'nullable'}${sniffed.header && c.source !== c.name ? `  (from "${c.source}")` : ''}\n`);
      process.stdout.write(`next: importer validate ${name}   then   importer run ${name}\n`);
    });

  const jobtypes = program.command('jobtypes').description('list and validate job type definitions');
  addCommon(jobtypes.command('list').description('show every definition with its table, source, schedule and validity').option('--json', 'print JSON'))
    .addHelpText('after', '\nExample:\n  $ importer jobtypes list --jobtypes ./jobtypes')
    .action(async (o: CommonOptions) => {
      const loaded = await loadJobTypes(o.jobtypes);
      const rows = [
        ...loaded.valid.map((j) => ({
          name: j.name,
          valid: true,
          enabled: j.enabled,
          table: `${j.target.schema}.${j.target.table}`,
          mode: j.target.mode,
          source: path.join(shownPath(j.source.dir), j.source.pattern),
          schedule: j.schedule ?? null,
          next_fire: j.schedule && j.enabled ? (nextFire(j.schedule, j.timezone)?.toISOString() ?? null) : null,
          file: path.relative(process.cwd(), j.file),
          errors: [] as string[],
        })),
        ...loaded.invalid.map((d) => ({
          name: d.name,
          valid: false,
          enabled: false,
          table: null,
          mode: null,
          source: null,
          schedule: null,
          next_fire: null,
          file: path.relative(process.cwd(), d.file),
          errors: d.problems.map((p) => formatProblem(d.file, p)),
        })),
      ].sort((a, b) => a.name.localeCompare(b.name));
      if (o.json) {
        process.stdout.write(JSON.stringify({ jobtypes: rows }) + '\n');
      } else {
        const header = ['NAME', 'VALID', 'TABLE', 'MODE', 'SOURCE', 'SCHEDULE', 'NEXT FIRE'];
        const cells = rows.map((r) => [r.name, r.valid ? (r.enabled ? 'yes' : 'disabled') : 'NO', r.table ?? '-', r.mode ?? '-', r.source ?? '-', r.schedule ?? '-', r.next_fire ?? '-']);
        process.stdout.write(table([header, ...cells]) + '\n');
        for (const r of rows) for (const e of r.errors) process.stdout.write(`\n${e}`);
        if (rows.some((r) => r.errors.length > 0)) process.stdout.write('\n');
      }
    });
  addCommon(jobtypes.command('validate').description('check every definition; exit 1 when any is invalid'))
    .addHelpText('after', '\nExample:\n  $ importer jobtypes validate && echo all good')
    .action(async (o: CommonOptions) => {
      const loaded = await loadJobTypes(o.jobtypes);
      for (const j of loaded.valid) process.stdout.write(`ok       ${path.relative(process.cwd(), j.file)} (${j.name})\n`);
      for (const d of loaded.invalid) for (const p of d.problems) process.stdout.write(`invalid  ${formatProblem(d.file, p)}\n`);
      if (loaded.valid.length + loaded.invalid.length === 0) {
        process.stdout.write(`no definitions in ${loaded.dir}\n`);
        process.exitCode = EXIT.usage;
      } else process.exitCode = loaded.invalid.length > 0 ? EXIT.failed : EXIT.ok;
    });

  addCommon(
    program
      .command('sql')
      .description('run one SQL statement against the database in use (the embedded one by default) and print the rows')
      .argument('<statement>', 'SQL to run')
      .option('--json', 'print the rows as JSON'),
  )
    .addHelpText('after', `\nExamples:\n  $ importer sql "select count(*) from orders"\n  $ importer sql "select * from importer.rejects order by id desc limit 5" --json`)
    .action(async (statement: string, o: CommonOptions) => {
      const logger = loggerFor({ ...o, logLevel: o.logLevel === 'info' ? 'warn' : o.logLevel });
      await withDatabase(o, logger, async (db) => printRows(await query(db, statement), o.json));
    });

  const db = program.command('db').description('the database in use');
  addCommon(db.command('url').description('start the embedded server (if no DATABASE_URL) and print a connection string; keeps it running until Ctrl-C'))
    .addHelpText('after', '\nExample:\n  $ importer db url      # then, in another terminal, run the psql command it prints')
    .action(async (o: CommonOptions) => {
      const logger = loggerFor(o);
      const database = await openDatabase({ url: databaseUrl(o), dataDir: o.dataDir, logger });
      const u = new URL(database.url);
      const password = decodeURIComponent(u.password);
      u.password = '';
      if (!database.embedded) {
        process.stdout.write(`${u.toString()}\n`);
        return;
      }
      const passfile = path.resolve(o.dataDir, 'pgpass');
      await writeFile(passfile, `${u.hostname}:${u.port}:*:${decodeURIComponent(u.username)}:${password.replace(/[:\\]/g, '\\$&')}\n`, { mode: 0o600 });
      process.stdout.write(`${u.toString()}\n`);
      process.stderr.write(`The password is in ${passfile} (never printed). Connect with:\n  PGPASSFILE=${passfile} psql '${u.toString()}'\nor simply: importer psql\nPress Ctrl-C to stop the server.\n`);
      await new Promise<void>((resolve) => {
        process.once('SIGINT', resolve);
        process.once('SIGTERM', resolve);
      });
      await database.close();
    });

  addCommon(
    program
      .command('psql')
      .description('open psql on the database in use (starts and stops the embedded server around it)')
      .argument('[args...]', 'extra psql arguments')
      .allowUnknownOption(true),
  )
    .addHelpText('after', `\nExamples:\n  $ importer psql\n  $ importer psql -- -c "\\dt"`)
    .action(async (args: string[], o: CommonOptions) => {
      const logger = loggerFor(o);
      await withDatabase(o, logger, async (database) => {
        const u = new URL(database.url);
        const password = decodeURIComponent(u.password);
        u.password = '';
        const code = await new Promise<number>((resolve, reject) => {
          const child = spawn('psql', [u.toString(), ...args], { stdio: 'inherit', env: { ...process.env, PGPASSWORD: password } });
          child.on('error', (err) => reject(new ImporterError('USAGE', `cannot start psql: ${err.message}. Install the PostgreSQL client, or use "importer sql".`)));
          child.on('exit', (c) => resolve(c ?? 1));
        });
        process.exitCode = code;
      });
    });

  addCommon(
    program
      .command('schedule')
      .description('daemon: fire each job type on its cron schedule, reload definitions when the folder changes')
      .option('--run-now', 'run every job type once at start')
      .option('--max-connections <n>', 'connections for the daemon and all its imports together', positiveInt('--max-connections'), 8)
      .option('--jobs <n>', 'imports running at once (each gets an equal share of the connections)', positiveInt('--jobs'), 3)
      .option('--shutdown-timeout <seconds>', 'on SIGTERM/SIGINT, how long running imports may take to stop', positiveInt('--shutdown-timeout'), 30)
      .option('--dashboard', 'also serve the dashboard (see importer serve)')
      .option('--host <host>', 'dashboard address', '127.0.0.1')
      .option('--port <port>', 'dashboard port', positiveInt('--port'), 7070)
      .option('--allow-host <name>', 'a host name the dashboard answers to besides localhost and --host (repeatable; also $IMPORTER_DASHBOARD_ALLOWED_HOSTS, comma-separated)', collect, []),
  )
    .addHelpText(
      'after',
      `
Examples:
  $ importer schedule                      fire job types on their schedule: lines until stopped
  $ importer schedule --run-now            also run everything once at start
  $ DATABASE_URL=postgres://... importer schedule --max-connections 10 --jobs 4`,
    )
    .action(async (o: CommonOptions & { runNow?: boolean; maxConnections: number; jobs: number; shutdownTimeout: number; dashboard?: boolean; host: string; port: number; allowHost: string[] }) => {
      const logger = loggerFor(o);
      await withDatabase(o, logger, async (database) => {
        let dashboard: Dashboard | undefined;
        if (o.dashboard) {
          const { startDashboard } = await import('../dashboard/server.js');
          dashboard = await startDashboard({ host: o.host, port: o.port, databaseUrl: database.url, jobtypesDir: path.resolve(o.jobtypes), token: process.env.IMPORTER_DASHBOARD_TOKEN || undefined, allowedHosts: allowedHosts(o.allowHost), logger });
        }
        const scheduler = new Scheduler({
          jobtypesDir: path.resolve(o.jobtypes),
          databaseUrl: database.url,
          logger,
          maxConnections: o.maxConnections,
          jobs: o.jobs,
          runNow: o.runNow ?? false,
          shutdownTimeoutMs: o.shutdownTimeout * 1000,
          dataDir: o.dataDir,
          childArgs: ['--log-level', o.logLevel, '--log-format', o.logFormat],
        });
        const shutdown = shutdownSignal(logger, (o.shutdownTimeout + 10) * 1000, () => scheduler.kill());
        try {
          await scheduler.start();
          await new Promise<void>((resolve) => shutdown.signal.addEventListener('abort', () => resolve(), { once: true }));
          await scheduler.stop();
          await dashboard?.stop();
          logger.info('scheduler stopped');
          const sig = shutdown.received();
          process.exitCode = sig ? 128 + (sig === 'SIGINT' ? 2 : 15) : EXIT.ok;
        } finally {
          shutdown.dispose();
        }
      });
    });

  addCommon(
    program
      .command('serve')
      .description('the dashboard: job types, live imports, run history, rejects; a JSON API and /metrics (read-only)')
      .option('--host <host>', 'address to listen on', '127.0.0.1')
      .option('--port <port>', 'port', positiveInt('--port'), 7070)
      .option('--allow-host <name>', 'a host name the dashboard answers to besides localhost and --host, e.g. behind a proxy (repeatable; also $IMPORTER_DASHBOARD_ALLOWED_HOSTS, comma-separated)', collect, []),
  )
    .addHelpText(
      'after',
      `
Examples:
  $ importer serve                                   http://127.0.0.1:7070/
  $ IMPORTER_DASHBOARD_TOKEN=s3cret importer serve --host 0.0.0.0
  $ curl -H "Authorization: Bearer s3cret" http://host:7070/api/runs`,
    )
    .action(async (o: CommonOptions & { host: string; port: number; allowHost: string[] }) => {
      const logger = loggerFor(o);
      await withDatabase(o, logger, async (database) => {
        // Loaded on demand: the dashboard (and prom-client) costs memory that `run` does not need.
        const { startDashboard } = await import('../dashboard/server.js');
        const dashboard = await startDashboard({
          host: o.host,
          port: o.port,
          databaseUrl: database.url,
          jobtypesDir: path.resolve(o.jobtypes),
          token: process.env.IMPORTER_DASHBOARD_TOKEN || undefined,
          allowedHosts: allowedHosts(o.allowHost),
          logger,
        });
        process.stdout.write(`dashboard: ${dashboard.url}\n`);
        const shutdown = shutdownSignal(logger, 10_000);
        await new Promise<void>((resolve) => shutdown.signal.addEventListener('abort', () => resolve(), { once: true }));
        await dashboard.stop();
        shutdown.dispose();
        process.exitCode = EXIT.ok;
      });
    });

  addCommon(
    program
      .command('validate')
      .description('dry run: parse and cast every row of a job type\'s files (or the given ones), print the header check and the rejects; writes nothing')
      .argument('<jobtype>', 'job type name')
      .argument('[files...]', 'files to check instead of the job type\'s source folder')
      .option('--json', 'print JSON'),
  )
    .addHelpText('after', '\nExamples:\n  $ importer validate orders\n  $ importer validate orders ~/Downloads/orders-2026-11-03.csv')
    .action(async (name: string, files: string[], o: CommonOptions) => {
      const logger = loggerFor(o);
      const loaded = await loadJobTypes(o.jobtypes);
      const bad = loaded.invalid.find((d) => d.name === name);
      if (bad) {
        for (const p of bad.problems) process.stderr.write(`${formatProblem(bad.file, p)}\n`);
        process.exitCode = EXIT.failed;
        return;
      }
      const [jt] = selectJobTypes(loaded.valid, [], [name]);
      const reports = await dryRun(jt!, files, logger);
      if (o.json) process.stdout.write(JSON.stringify({ jobtype: name, files: reports }) + '\n');
      else {
        for (const r of reports) {
          process.stdout.write(`${path.relative(process.cwd(), r.path) || r.path}\n`);
          process.stdout.write(`  ${r.status === 'failed' ? 'FAILED' : r.status === 'over_threshold' ? 'WOULD FAIL' : 'ok'}: ${r.rows} rows, ${r.would_load} would load, ${r.rejected} rejected (errors.max_rejects ${jt!.maxRejects.text})\n`);
          for (const w of r.warnings) process.stdout.write(`  warning: ${w}\n`);
          if (r.error) process.stdout.write(`  ${r.error.code}: ${r.error.message}\n`);
          for (const j of r.rejects) process.stdout.write(`  line ${j.line}${j.column ? ` ${j.column}` : ''}: ${j.code}: ${j.message}\n`);
        }
      }
      process.exitCode = reports.every((r) => r.status === 'ok') ? EXIT.ok : EXIT.failed;
    });

  addCommon(
    program
      .command('rejects')
      .description('list quarantined rows, or export them as a CSV to fix and drop back in')
      .argument('[jobtype]', 'only this job type')
      .option('--run <id>', 'only rejects of this run', positiveInt('--run'))
      .option('--file <path>', 'only rejects of files whose path contains this')
      .option('--limit <n>', 'rows to list at most', positiveInt('--limit'), 100)
      .option('--csv', 'print the rejected records as a CSV (the job type\'s header, then the raw records); needs JOBTYPE')
      .option('--json', 'print JSON'),
  )
    .addHelpText('after', '\nExamples:\n  $ importer rejects orders\n  $ importer rejects orders --run 12 --csv > orders-fixme.csv   # fix it, then move it into the source folder')
    .action(async (name: string | undefined, o: CommonOptions & { run?: number; file?: string; limit: number; csv?: boolean }) => {
      const logger = loggerFor({ ...o, logLevel: o.logLevel === 'info' ? 'warn' : o.logLevel });
      if (o.csv && !name) throw new ImporterError('USAGE', 'rejects --csv needs a JOBTYPE (its header starts the CSV)');
      const loaded = await loadJobTypes(o.jobtypes).catch(() => undefined);
      const jt = name ? loaded?.valid.find((j) => j.name === name) : undefined;
      if (o.csv && !jt) throw new ImporterError('USAGE', `rejects --csv: no valid job type "${name}" in ${o.jobtypes}`);
      await withDatabase(o, logger, async (database) => {
        const filter = { jobType: name, runId: o.run, file: o.file, limit: o.csv ? undefined : o.limit };
        if (o.csv) process.stdout.write(await csvRejects(database.url, jt!, filter));
        else process.stdout.write(await listRejects(database.url, filter, o.json ?? false));
      });
    });

  return program;
}

export async function main(argv: string[]): Promise<void> {
  const program = buildProgram();
  // `importer ... | head` closes stdout early: that is not an error worth a stack trace.
  process.stdout.on('error', (err: NodeJS.ErrnoException) => {
    if (err.code === 'EPIPE') process.exit(process.exitCode ?? 0);
    throw err;
  });
  // Global crash capture: one structured record on stderr, never a silent death.
  let crashed = false;
  const crash = (kind: string) => (err: unknown) => {
    const e = err instanceof Error ? err : new Error(String(err));
    process.stderr.write(
      JSON.stringify({ level: 60, time: Date.now(), msg: `importer: ${kind}`, code: errorCode(err), err: e.message, stack: e.stack, context: (err as ImporterError).context }) + '\n',
    );
    if (crashed) process.exit(70);
    crashed = true;
    void runCrashHooks(e).finally(() => process.exit(70));
  };
  process.on('uncaughtException', crash('uncaught exception'));
  process.on('unhandledRejection', crash('unhandled rejection'));
  try {
    await program.parseAsync(argv);
  } catch (err) {
    if (err instanceof CommanderError) {
      process.exitCode = err.exitCode === 0 ? EXIT.ok : EXIT.usage;
      return;
    }
    const code = errorCode(err);
    process.stderr.write(`importer: ${code}: ${errorMessage(err)}\n`);
    if (err instanceof ImporterError && err.code === 'JOBTYPE_NONE_VALID') {
      for (const d of (err.context.invalid as Array<{ errors: string[] }> | undefined) ?? []) for (const e of d.errors) process.stderr.write(`  ${e}\n`);
    }
    process.exitCode = code === 'USAGE' || code.startsWith('JOBTYPE_') || code === 'JOBTYPES_DIR_NOT_FOUND' ? EXIT.usage : EXIT.failed;
  }
}
