/**
 * The COPY contract between the pipeline and the database: a batch of COPY-text rows with its
 * rejects, covering one contiguous range of a file's records, which is what its checkpoint records.
 */

/** What the threshold and the run report need of a reject. */
export interface RejectInfo {
  readonly code: string;
  readonly line: number;
}

/** A record that does not load, with its reason. A rejected row is data, not an exception. */
export interface Reject {
  readonly line: number;
  readonly offset: number;
  readonly record: string;
  readonly column: string | null;
  readonly code: string;
  readonly message: string;
  /** The constraint the server named, for a row the target refused. */
  readonly constraint?: string | null;
}

/**
 * How the batches of a server-parsed file are COPYed (FORMAT csv): the dialect, and the column that
 * each field of a row goes to, in order.
 */
export interface CsvCopy {
  /** The column of each field; null for a file column the definition does not name (staging keeps it in `_x<field>`). */
  readonly columns: readonly (string | null)[];
  /** Rows start with two more fields, `_rec` and `_line` (staging). */
  readonly prefixed: boolean;
  readonly delimiter: string;
  readonly quote: string;
  readonly escape: string;
  /** Columns whose quoted empty value is NULL as well (every column that is not text). */
  readonly forceNull: readonly string[];
  /** TimeZone for the batch's transaction (offset-less timestamps), when the job type names one. */
  readonly timezone: string | undefined;
}

/** Numbers per row in a server-parsed batch's `raw.rows`. */
export const ROW_MARKS = 3;

export interface Batch {
  readonly seq: number;
  /** Index (0-based, header excluded) of the first record the batch covers. */
  readonly firstRecord: number;
  /** Records covered, loaded and rejected. */
  readonly recordCount: number;
  /** Rows in `data`. */
  readonly rows: number;
  /** COPY text (UTF-8), one line per row, in one or more parts. */
  readonly data: readonly Uint8Array[];
  /**
   * The batch's rejects as COPY text for importer.rejects (REJECT_COLUMNS, encodeReject): bytes, not
   * objects, so that a file of bad rows costs no more memory than a file of good ones.
   */
  readonly rejects: { readonly count: number; readonly data: readonly Uint8Array[] };
  /** Physical line of the last record, and byte offset just after it (in the decoded UTF-8 stream). */
  readonly lastLine: number;
  readonly endOffset: number;
  /** Physical line where the record after the batch starts: with endOffset, where a resume begins. */
  readonly nextLine: number;
  /**
   * Server-parsed batches: `data` is raw CSV, and `rows` holds three numbers per row: the end of
   * the row in `data` (all parts together), its physical line and its byte offset in the file.
   */
  readonly raw?: { readonly copy: CsvCopy; readonly rows: Float64Array } | undefined;
}
