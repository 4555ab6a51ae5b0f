/** The pino logger: always to stderr (stdout is for results such as --json), secrets redacted. */
import { Writable } from 'node:stream';
import pino, { type Logger } from 'pino';
import pretty from 'pino-pretty';

export type LogFormat = 'json' | 'pretty';

export interface LoggerOptions {
  readonly level: string;
  readonly format: LogFormat;
  /** Colours in the pretty format. @default whether stderr is a terminal */
  readonly color?: boolean | undefined;
  /** Where the lines go: stderr, or what a live display diverts them to. @default stderr */
  readonly sink?: LogSink | undefined;
}

/**
 * The logger's stderr, which a live display (the progress bars) can take over for a while: each
 * line then goes through it, so that it is written above the bars instead of through them (a line
 * written straight to stderr leaves stale bar lines behind).
 */
export interface LogSink extends Writable {
  divert(to: ((line: string) => void) | undefined): void;
}

export function stderrSink(write: (chunk: string | Uint8Array) => unknown = (c) => process.stderr.write(c)): LogSink {
  let diverted: ((line: string) => void) | undefined;
  // _write runs synchronously while nothing is buffered: a line is on stderr before log.x() returns.
  const sink = new Writable({
    write(chunk: Buffer, _enc, done) {
      if (diverted) diverted(chunk.toString());
      else write(chunk);
      done();
    },
  }) as LogSink;
  sink.divert = (to) => {
    diverted = to;
  };
  return sink;
}

export const REDACT_PATHS = ['password', '*.password', 'url', '*.url', 'connectionString', '*.connectionString', 'databaseUrl'];

export function createLogger(opts: LoggerOptions): Logger {
  // JSON records carry ISO 8601 times ("time":"2026-12-01T02:00:00.123Z"), as log shippers expect.
  const base = { level: opts.level, base: undefined, redact: { paths: REDACT_PATHS, censor: '****' }, timestamp: pino.stdTimeFunctions.isoTime };
  if (opts.format === 'json') return pino(base, opts.sink ?? pino.destination({ fd: 2, sync: true }));
  return pino(
    base,
    pretty({
      destination: opts.sink ?? 2,
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
