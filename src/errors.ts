/**
 * Every error the importer reports on purpose is an ImporterError with a stable string code.
 * Tests and scripts match on `code`; `message` is written for operators and says what to do.
 *
 * The codes are a type: `new ImporterError('TYPO', ...)` does not compile, and `EXIT_CODES` must
 * decide an exit code for every code. docs/errors.md lists them all (test/unit/errors.test.ts
 * compares the two both ways). Codes are a contract: add, never rename.
 */

/** Exit codes of the CLI (README, "Exit codes"). */
export const EXIT = {
  /** everything succeeded (skipped files are fine) */
  ok: 0,
  /** a job type, a file or a definition failed */
  failed: 1,
  /** bad usage (unknown command, option or job type), or no valid definition */
  usage: 2,
  /** the process crashed: an uncaught exception or unhandled rejection */
  crashed: 70,
} as const;

export type ExitCode = (typeof EXIT)[keyof typeof EXIT];

const SIGNAL_NUMBERS: Readonly<Partial<Record<NodeJS.Signals, number>>> = { SIGINT: 2, SIGTERM: 15 };

/** Exit code of a process stopped by a signal: 128 + N (130 for SIGINT, 143 for SIGTERM). */
export function signalExitCode(signal: NodeJS.Signals): number {
  return 128 + (SIGNAL_NUMBERS[signal] ?? 15);
}

/** True for the exit code of a process stopped gracefully by SIGINT or SIGTERM (the scheduler and --isolate read children's exits so). */
export function isSignalExitCode(code: number | null): boolean {
  return code === signalExitCode('SIGINT') || code === signalExitCode('SIGTERM');
}

/**
 * The codes the importer itself produces, each with its one-line meaning and the exit code of a
 * command that fails with it. A new code goes here first; the compiler then requires the rest.
 */
const CODES = {
  // Definitions and usage
  JOBTYPE_INVALID: { exit: EXIT.usage, doc: 'a definition failed validation (context.file, context.path); it is reported and skipped' },
  JOBTYPE_UNKNOWN: { exit: EXIT.usage, doc: '`importer run NAME` named a job type that does not exist' },
  JOBTYPE_NONE_VALID: { exit: EXIT.usage, doc: 'the jobtypes folder holds no valid definition to run' },
  JOBTYPES_DIR_NOT_FOUND: { exit: EXIT.usage, doc: 'the jobtypes folder cannot be read' },
  USAGE: { exit: EXIT.usage, doc: 'bad command-line usage' },
  // Sources
  SOURCE_NOT_FOUND: { exit: EXIT.failed, doc: 'the source folder of a job type (or a file given to validate) does not exist' },
  SOURCE_READ_FAILED: { exit: EXIT.failed, doc: 'a file could not be read' },
  SOURCE_GZIP_INVALID: { exit: EXIT.failed, doc: 'a .gz file is truncated or corrupt' },
  // Reported on a skipped file, never thrown: it fails nothing (the run exits 0 if nothing else failed).
  SOURCE_CHANGED: { exit: EXIT.failed, doc: 'a file changed while it was hashed or loaded (still being written); skipped, a later run loads it' },
  // Header and data
  HEADER_MISSING_COLUMN: { exit: EXIT.failed, doc: 'a required column of the definition is not in the header' },
  HEADER_DUPLICATE_COLUMN: { exit: EXIT.failed, doc: 'the header names a column twice' },
  HEADER_EXTRA_COLUMNS: { exit: EXIT.failed, doc: 'extra header columns with on_extra_columns: fail' },
  REJECT_THRESHOLD: { exit: EXIT.failed, doc: 'a file rejected more rows than errors.max_rejects allows' },
  PARSE_THREAD_FAILED: { exit: EXIT.failed, doc: 'a parse thread died twice on this file\'s records (in the pool, then alone)' },
  // Database
  TARGET_MISSING: { exit: EXIT.failed, doc: 'the target table does not exist and target.create is false' },
  DB_CONNECT_FAILED: { exit: EXIT.failed, doc: 'at start, the server could not be reached: an unknown host, a refused login or a missing database at once, a refused connection after --connect-timeout' },
  DB_TRANSIENT: { exit: EXIT.failed, doc: 'a retryable database error outlived --retry-deadline' },
  DB_CONFLICT: { exit: EXIT.failed, doc: 'another importer instance took over the file being loaded' },
  STAGING_LOST: { exit: EXIT.failed, doc: 'staged rows did not match their checkpoints (server crashes); nothing was moved, the next run reloads the file' },
  EMBEDDED_START_FAILED: { exit: EXIT.failed, doc: 'the embedded PostgreSQL did not start' },
  // Process
  // Thrown, INTERRUPTED exits 1; a signalled process exits by signalExitCode (130/143) instead.
  INTERRUPTED: { exit: EXIT.failed, doc: 'stopped by SIGINT/SIGTERM before the file finished; the next run resumes it' },
  WORKER_CRASHED: { exit: EXIT.failed, doc: 'an isolated import process (--isolate, schedule) crashed past its restart policy' },
  // A caught INTERNAL error exits 1; an uncaught one is a crash (EXIT.crashed, 70).
  INTERNAL: { exit: EXIT.failed, doc: 'a bug or an unexpected error without a code of its own' },
} as const satisfies Record<string, { exit: ExitCode; doc: string }>;

/** A code the importer produces itself. */
export type KnownErrorCode = keyof typeof CODES;
/** A csv-parse error (`CSV_QUOTE_NOT_CLOSED`, `CSV_INVALID_CLOSING_QUOTE`, ...), or our `CSV_PARSE_ERROR`. */
export type CsvErrorCode = `CSV_${string}`;
/** PostgreSQL refused the statement: `PG_` + SQLSTATE (`PG_23505`). */
export type PgErrorCode = `PG_${string}`;
/** Every code an ImporterError can carry. */
export type ErrorCode = KnownErrorCode | CsvErrorCode | PgErrorCode;
/** A Node.js system error passed through unchanged (`ECONNREFUSED`, `ENOENT`, `ERR_...`). */
export type SystemErrorCode = `E${string}`;
/** What `errorCode()` can return for any thrown value. */
export type ReportedCode = ErrorCode | SystemErrorCode;

/** Every code the importer produces itself, in documentation order. */
export const ERROR_CODES: readonly KnownErrorCode[] = Object.freeze(Object.keys(CODES) as KnownErrorCode[]);

/**
 * The families of codes taken from elsewhere: `pattern` says which codes belong, `doc` is how
 * docs/errors.md names the family.
 */
export const ERROR_CODE_FAMILIES = Object.freeze([
  { prefix: 'CSV_', pattern: /^CSV_[A-Z0-9_]+$/, doc: 'CSV_*', meaning: 'csv-parse could not read the file past that line' },
  { prefix: 'PG_', pattern: /^PG_[0-9A-Z]{5}$/, doc: 'PG_xxxxx', meaning: 'PostgreSQL refused the statement (SQLSTATE xxxxx)' },
  { prefix: 'E', pattern: /^(E[A-Z0-9]+|ERR_[A-Z0-9_]+)$/, doc: 'E*', meaning: 'a Node.js system error outside a file (ECONNREFUSED: the database refused the connection)' },
] as const);

/** The one-line meaning of a code the importer produces itself. */
export function describeCode(code: KnownErrorCode): string {
  return CODES[code].doc;
}

export function isKnownErrorCode(code: string): code is KnownErrorCode {
  return Object.hasOwn(CODES, code);
}

/**
 * The exit code of a command that fails with `code`: 2 for usage and definitions, 1 for the rest.
 * Crashes (70) and signals (130/143) are decided by how the process ends, not by a code.
 */
export function exitCodeFor(code: ReportedCode): ExitCode {
  return isKnownErrorCode(code) ? CODES[code].exit : EXIT.failed;
}

export class ImporterError extends Error {
  readonly code: ErrorCode;
  readonly context: Readonly<Record<string, unknown>>;

  constructor(code: ErrorCode, message: string, context: Record<string, unknown> = {}, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'ImporterError';
    this.code = code;
    this.context = Object.freeze({ ...context });
  }
}

const SQLSTATE = /^[0-9A-Z]{5}$/;

/**
 * The code of any error: ours, csv-parse's, a PostgreSQL SQLSTATE prefixed with PG_, or a Node.js
 * system error's own code; anything else is INTERNAL.
 */
export function errorCode(err: unknown): ReportedCode {
  if (err instanceof ImporterError) return err.code;
  if (err && typeof err === 'object' && 'code' in err && typeof (err as { code: unknown }).code === 'string') {
    const code = (err as { code: string }).code;
    if (ERROR_CODE_FAMILIES[0].pattern.test(code)) return code as CsvErrorCode;
    // A socket's EPIPE is five capitals too: a system error carries errno or syscall, a server error does not.
    const system = 'errno' in err || 'syscall' in err;
    if (SQLSTATE.test(code) && !system) return `PG_${code}`;
    if (ERROR_CODE_FAMILIES[2].pattern.test(code)) return code as SystemErrorCode;
    if (isKnownErrorCode(code)) return code;
  }
  return 'INTERNAL';
}

export function errorMessage(err: unknown): string {
  if (err instanceof Error) return err.message;
  return String(err);
}
