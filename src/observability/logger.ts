/** The pino logger: always to stderr (stdout is for results such as --json), secrets redacted. */
import pino, { type Logger } from 'pino';
import pretty from 'pino-pretty';

export type LogFormat = 'json' | 'pretty';

export interface LoggerOptions {
  readonly level: string;
  readonly format: LogFormat;
  /** Colours in the pretty format. @default whether stderr is a terminal */
  readonly color?: boolean | undefined;
}

export const REDACT_PATHS = ['password', '*.password', 'url', '*.url', 'connectionString', '*.connectionString', 'databaseUrl'];

export function createLogger(opts: LoggerOptions): Logger {
  // JSON records carry ISO 8601 times ("time":"2026-12-01T02:00:00.123Z"), as log shippers expect.
  const base = { level: opts.level, base: undefined, redact: { paths: REDACT_PATHS, censor: '****' }, timestamp: pino.stdTimeFunctions.isoTime };
  if (opts.format === 'json') return pino(base, pino.destination({ fd: 2, sync: true }));
  return pino(
    base,
    pretty({
      destination: 2,
      sync: true,
      colorize: opts.color ?? process.stderr.isTTY === true,
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
