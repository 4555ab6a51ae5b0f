/** The one place a job type's CSV dialect becomes RecordParser (csv-parse) options. */
import type { JobType } from '../jobtypes/normalize.js';
import { RecordParser } from '../source/parse.js';

/** csv-parse's guard against unbounded records: four times the field limit, at least 1 MiB. */
export function maxRecordSize(jt: JobType): number {
  return Math.max(jt.csv.maxFieldBytes * 4, 1024 * 1024);
}

/**
 * Whether quote parity finds this job type's record boundaries, so that its files can be cut into
 * pieces for the parse threads: RFC 4180 quoting (the escape is the quote), no comments, and a
 * line break as the record delimiter.
 */
export function piecesByParity(jt: JobType): boolean {
  const rd = jt.csv.recordDelimiter;
  return jt.csv.quoting && jt.csv.escape === jt.csv.quote && jt.csv.comment === undefined && (rd === undefined || rd === '\n' || rd === '\r\n');
}

/** A parser for a job type's files; `start` places a piece that does not begin the file. */
export function newRecordParser(jt: JobType, start?: { line: number; offset: number }): RecordParser {
  return new RecordParser({
    delimiter: jt.csv.delimiter,
    quote: jt.csv.quote,
    quoting: jt.csv.quoting,
    escape: jt.csv.escape,
    maxRecordSize: maxRecordSize(jt),
    relaxQuotes: jt.csv.relaxQuotes,
    comment: jt.csv.comment,
    recordDelimiter: jt.csv.recordDelimiter,
    // A broken record is one reject (process.ts); the header's is the file's error (header.ts).
    faultsAsRecords: true,
    ...(start ? { startLine: start.line, startOffset: start.offset } : {}),
  });
}
