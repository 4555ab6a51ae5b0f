/**
 * What every command shares: the common options (and the environment variables behind their
 * defaults), option parsers, the logger, and opening the database. The CLI is the only place that
 * reads the environment; what it reads is passed down explicitly.
 */
import { Command, Option } from 'commander';
import type { Logger } from 'pino';
import { openDatabase, startupLine, type Database } from '../db/connection.js';
import { DEFAULT_CONNECT_TIMEOUT_MS } from '../db/probe.js';
import { chooseServer, type ServerChoice } from '../db/serverChoice.js';
import { ImporterError } from '../errors.js';
import { createLogger, type LogFormat, type LogSink } from '../observability/logger.js';

export { EXIT } from '../errors.js';

export interface CommonOptions {
  jobtypes: string;
  databaseUrl?: string;
  dataDir: string;
  logLevel: string;
  logFormat: LogFormat;
  quiet?: boolean;
  json?: boolean;
  connectTimeout: number;
  /** false with --no-color. */
  color?: boolean;
}

export function addCommon(cmd: Command): Command {
  return cmd
    .option('--jobtypes <dir>', 'folder of job type definitions', process.env.IMPORTER_JOBTYPES ?? './jobtypes')
    .option('--database-url <url>', 'PostgreSQL to load into (default: $DATABASE_URL, else the PG* variables, else the embedded server)')
    .option('--connect-timeout <seconds>', 'at start, how long a server that refuses or does not answer is tried (an unknown host, login or database fails at once)', positiveInt('--connect-timeout'), DEFAULT_CONNECT_TIMEOUT_MS / 1000)
    .option('--data-dir <dir>', 'where the embedded PostgreSQL keeps its data', process.env.IMPORTER_DATA_DIR ?? '.importer')
    .addOption(new Option('--log-level <level>', 'log level').choices(['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent']).default('info'))
    .addOption(new Option('--log-format <format>', 'log format on stderr').choices(['json', 'pretty']).default('pretty'))
    .option('-q, --quiet', 'only warnings and errors on stderr')
    .option('--no-color', 'no colours in the logs (also when $NO_COLOR is set, or stderr is not a terminal)');
}

/** Colours only on a terminal, and never with --no-color or a non-empty NO_COLOR (https://no-color.org). */
export function useColor(o: Pick<CommonOptions, 'color'>, env: Readonly<Record<string, string | undefined>> = process.env, tty = process.stderr.isTTY === true): boolean {
  return o.color !== false && !env.NO_COLOR && tty;
}

export function loggerFor(o: CommonOptions, sink?: LogSink): Logger {
  return createLogger({ level: o.quiet && o.logLevel === 'info' ? 'warn' : o.logLevel, format: o.logFormat, color: useColor(o), sink });
}

/** The logger of a command whose stdout is the answer (status, history, sql, rejects): info is not worth showing. */
export function quietLoggerFor(o: CommonOptions): Logger {
  return loggerFor({ ...o, logLevel: o.logLevel === 'info' ? 'warn' : o.logLevel });
}

/** The server by the libpq conventions (db/serverChoice.ts): --database-url, DATABASE_URL, PG* variables, embedded. */
export function serverChoice(o: CommonOptions): ServerChoice {
  return chooseServer(o.databaseUrl, process.env);
}

export function databaseUrl(o: CommonOptions): string | undefined {
  return serverChoice(o).url;
}

/** What openDatabase needs from the common options. */
export function databaseOptions(o: CommonOptions, logger: Logger) {
  const choice = serverChoice(o);
  return { url: choice.url, chosenBy: choice.chosenBy, dataDir: o.dataDir, logger, connectTimeoutMs: o.connectTimeout * 1000 };
}

export function positiveInt(name: string) {
  return (v: string): number => {
    const n = Number(v);
    if (!Number.isInteger(n) || n < 1) throw new ImporterError('USAGE', `${name} expects a whole number from 1 upwards, got "${v}"`);
    return n;
  };
}

export function nonNegativeInt(name: string) {
  return (v: string): number => {
    const n = Number(v);
    if (!Number.isInteger(n) || n < 0) throw new ImporterError('USAGE', `${name} expects a whole number from 0 upwards, got "${v}"`);
    return n;
  };
}

/** For repeatable options. */
export const collect = (v: string, prev: string[] | undefined): string[] => [...(prev ?? []), v];

/** Opens the database, runs `fn`, and always releases it (an embedded server is stopped). */
export async function withDatabase<T>(o: CommonOptions, logger: Logger, fn: (db: Database) => Promise<T>): Promise<T> {
  const db = await openDatabase(databaseOptions(o, logger));
  logger.info(startupLine(db));
  try {
    return await fn(db);
  } finally {
    await db.close();
  }
}

/** The dashboard's options from the environment: IMPORTER_DASHBOARD_TOKEN and IMPORTER_DASHBOARD_ALLOWED_HOSTS (comma-separated, added to --allow-host). */
export function dashboardAccess(allowHost: readonly string[] | undefined): { token: string | undefined; allowedHosts: string[] } {
  const fromEnv = (process.env.IMPORTER_DASHBOARD_ALLOWED_HOSTS ?? '').split(',').map((h) => h.trim()).filter(Boolean);
  return { token: process.env.IMPORTER_DASHBOARD_TOKEN || undefined, allowedHosts: [...(allowHost ?? []), ...fromEnv] };
}

export const ALLOW_HOST_HELP = 'a host name the dashboard answers to besides localhost and --host, e.g. behind a proxy (repeatable; also $IMPORTER_DASHBOARD_ALLOWED_HOSTS, comma-separated)';
