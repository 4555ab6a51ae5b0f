/**
 * The record source of server-side parsing: records are cut at their line breaks (source/cut.ts),
 * never split into fields, and handed to COPY … (FORMAT csv) as they are; PostgreSQL's input
 * functions cast the values. Each record's line break becomes a plain LF (PostgreSQL wants one
 * line-break style per COPY), a blank line is a record with no row (as on the client path), and
 * for staging each row starts with its `_rec` (byte offset) and `_line` fields.
 * The chunks it delivers have the one ProcessedChunk shape, with `raw` set.
 */
import type { JobType } from '../jobtypes/normalize.js';
import { RecordCutter, type BrokenRecord } from '../source/cut.js';
import { ChunkBuilder, type ProcessedChunk } from './chunk.js';
import type { HeaderMapping } from './header.js';
import { maxRecordSize } from './recordParser.js';
import type { RecordSource } from './recordSource.js';

const BROKEN: Record<BrokenRecord, string> = {
  CSV_INVALID_OPENING_QUOTE: 'a quote inside an unquoted field (quote the whole field, and double the quotes in it)',
  CSV_INVALID_CLOSING_QUOTE: 'text after a closing quote (quote the whole field, and double the quotes in it)',
  CSV_MAX_RECORD_SIZE: 'the record is longer than the record limit (4 × csv.max_field_bytes, at least 1 MiB); its first KiB is kept here',
};

export function serverSource(
  jt: JobType,
  mapping: HeaderMapping,
  start: { line: number; offset: number },
  /** Whether rows carry `_rec` and `_line` (staging) or only the file's fields (the target). */
  prefixed: boolean,
): RecordSource {
  const cutter = new RecordCutter(jt.csv.quote, jt.csv.delimiter, maxRecordSize(jt), start);
  const delimiter = jt.csv.delimiter;
  const blankIsRecordOnly = mapping.width > 1;
  let offset = start.offset;

  const run = (expected: number, cut: (sink: Parameters<RecordCutter['push']>[1]) => void): ProcessedChunk => {
    const chunk = new ChunkBuilder(undefined, expected + expected / 8);
    const firstOffset = offset;
    try {
      cut((buf, s, e, line, nextLine, at, nextOffset, broken) => {
        if (broken) {
          // A record the client parser rejects too (a quote RFC 4180 forbids, a record past the limit).
          const record = buf.subarray(s, e).toString('utf8').replace(/\0/g, '\u2400');
          chunk.reject({ line, offset: at, record, column: null, code: broken, message: `line ${line}: ${BROKEN[broken]}` });
        } else if (e > s || !blankIsRecordOnly) {
          chunk.rawRow(prefixed ? `${at}${delimiter}${line}${delimiter}` : undefined, buf, s, e);
        }
        chunk.endRecord(line, nextOffset, nextLine);
        offset = nextOffset;
      });
    } catch (err) {
      return chunk.finish(err, { firstOffset });
    }
    return chunk.finish(undefined, { firstOffset });
  };

  return {
    push: (bytes, take) => take(run(bytes.length, (sink) => cutter.push(bytes, sink))),
    end: (take) => take(run(0, (sink) => cutter.end(sink))),
    close: () => undefined,
  };
}

