/** The pino logger: always to stderr (stdout is for results such as --json), secrets redacted. */
import pino, { type Logger } from 'pino';
import pretty from 'pino-pretty';

export type LogFormat = 'json' | 'pretty';

export interface LoggerOptions {
  readonly level: string;
  readonly format: LogFormat;
}

export const REDACT_PATHS = ['password', '*.password', 'url', '*.url', 'connectionString', '*.connectionString', 'databaseUrl'];

export function createLogger(opts: LoggerOptions): Logger {
  const base = { level: opts.level, base: undefined, redact: { paths: REDACT_PATHS, censor: '****' } };
  if (opts.format === 'json') return pino(base, pino.destination({ fd: 2, sync: true }));
  return pino(
    base,
    pretty({
      destination: 2,
      sync: true,
      colorize: process.stderr.isTTY === true,
      translateTime: 'HH:MM:ss',
      ignore: 'pid,hostname',
      singleLine: true,
    }),
  );
}

/** A logger that drops everything, for library use and tests. */
export function silentLogger(): Logger {
  return pino({ level: 'silent' });
}
