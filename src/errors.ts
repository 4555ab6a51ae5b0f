/**
 * Every error the importer reports on purpose is an ImporterError with a stable string code.
 * Tests and scripts match on `code`; `message` is written for operators and says what to do.
 *
 * Codes (keep docs/errors.md in step):
 * - JOBTYPE_INVALID          a definition failed validation (context.file, context.path)
 * - JOBTYPE_UNKNOWN          `importer run NAME` named a job type that does not exist
 * - JOBTYPE_DUPLICATE_NAME   two definitions share a name
 * - SOURCE_NOT_FOUND         the source folder of a job type does not exist
 * - SOURCE_READ_FAILED       a file could not be read or decompressed
 * - CSV_*                    a file could not be parsed (codes from csv-parse, plus our own)
 * - HEADER_MISSING_COLUMN    a column of the definition is not in the header
 * - HEADER_DUPLICATE_COLUMN  the header names a column twice
 * - HEADER_EXTRA_COLUMNS     extra header columns with on_extra_columns: fail
 * - REJECT_THRESHOLD         a file rejected more rows than errors.max_rejects allows
 * - DB_TRANSIENT             a retryable database error outlived --retry-deadline
 * - DB_PERMANENT             the database refused the data (constraint, missing table, ...)
 * - DB_CONFLICT              another importer instance owns the file being loaded
 * - EMBEDDED_START_FAILED    the embedded PostgreSQL did not start
 * - USAGE                    bad command-line usage
 */
export class ImporterError extends Error {
  readonly code: string;
  readonly context: Readonly<Record<string, unknown>>;

  constructor(code: string, message: string, context: Record<string, unknown> = {}, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'ImporterError';
    this.code = code;
    this.context = Object.freeze({ ...context });
  }
}

/** The code of any error: ours, csv-parse's, or a PostgreSQL SQLSTATE prefixed with PG_. */
export function errorCode(err: unknown): string {
  if (err instanceof ImporterError) return err.code;
  if (err && typeof err === 'object' && 'code' in err && typeof (err as { code: unknown }).code === 'string') {
    const code = (err as { code: string }).code;
    return /^[0-9A-Z]{5}$/.test(code) ? `PG_${code}` : code;
  }
  return 'INTERNAL';
}

export function errorMessage(err: unknown): string {
  if (err instanceof Error) return err.message;
  return String(err);
}
