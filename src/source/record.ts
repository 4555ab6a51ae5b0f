/** What the CSV parser (parse.ts) takes and gives: its options, records and their faults. */

export interface ParserOptions {
  readonly delimiter: string;
  readonly quote: string;
  readonly escape: string;
  /** csv-parse's guard against unbounded fields, in characters. */
  readonly maxRecordSize: number;
  /** false: the file has no quoting, every quote is text (csv-parse's `quote: false`). @default true */
  readonly quoting?: boolean;
  /** Lines starting with this are skipped (csv-parse's `comment`). */
  readonly comment?: string | undefined;
  /** The record delimiter (csv-parse's `record_delimiter`); undefined: the first CRLF, LF or CR outside quotes. */
  readonly recordDelimiter?: string | undefined;
  /** A stray quote in an unquoted field, or text after a closing quote, is literal text (csv-parse's `relax_quotes`). */
  readonly relaxQuotes?: boolean;
  /**
   * A broken record (see CsvFault) is delivered as one record with its fault, and parsing goes on
   * after it; otherwise it stops the parse with an ImporterError.
   */
  readonly faultsAsRecords?: boolean;
  /** Take record ends from csv-parse (`on_record`) even with RFC 4180 quoting: tests compare the two ways. */
  readonly endsFromCsvParse?: boolean;
  /** When parsing a piece of a larger stream: the physical line and byte offset where it starts. */
  readonly startLine?: number;
  readonly startOffset?: number;
}

/** The raw bytes of the record being delivered; valid only during the sink call. */
export interface RawRecord {
  text(): string;
  bytes(): Buffer;
  /** Byte offset just after the record (and its line break). */
  end(): number;
  /** Physical line where the next record starts. */
  nextLine(): number;
  /** Whether the raw record contains two quote characters in a row (cheap: no decoding). */
  hasQuotePair(): boolean;
  /** Why the record could not be read as fields (its fields are then empty), or undefined. */
  fault(): CsvFault | undefined;
}

/** Called once per record, with the physical line and byte offset where the record starts. */
export type RecordSink = (fields: string[], line: number, offset: number, raw: RawRecord) => void;

export type CsvFaultCode = 'CSV_QUOTE_NOT_CLOSED' | 'CSV_INVALID_OPENING_QUOTE' | 'CSV_INVALID_CLOSING_QUOTE' | 'CSV_MAX_RECORD_SIZE';

export interface CsvFault {
  readonly code: CsvFaultCode;
  readonly message: string;
}

/** csv-parse's codes for the errors that spoil one record, as we report them (csv-parse lacks the prefix on one). */
export const FAULT_CODES: Readonly<Record<string, CsvFaultCode>> = {
  CSV_QUOTE_NOT_CLOSED: 'CSV_QUOTE_NOT_CLOSED',
  INVALID_OPENING_QUOTE: 'CSV_INVALID_OPENING_QUOTE',
  CSV_INVALID_CLOSING_QUOTE: 'CSV_INVALID_CLOSING_QUOTE',
  CSV_MAX_RECORD_SIZE: 'CSV_MAX_RECORD_SIZE',
};



/** Bytes of a broken record past the record limit that its raw text shows. */
export const RECORD_PREFIX_BYTES = 1024;
