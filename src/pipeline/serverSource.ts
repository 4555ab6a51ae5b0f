/**
 * The record source of server-side parsing: records are cut at their line breaks (source/cut.ts),
 * never split into fields, and handed to COPY … (FORMAT csv) as they are; PostgreSQL's input
 * functions cast the values. Each record's line break becomes a plain LF (PostgreSQL wants one
 * line-break style per COPY), a blank line is a record with no row (as on the client path), and
 * for staging each row starts with its `_rec` (byte offset) and `_line` fields.
 * The chunks it delivers have the one ProcessedChunk shape, with `raw` set.
 */
import type { JobType } from '../jobtypes/normalize.js';
import type { RejectInfo } from '../db/batch.js';
import { encodeReject } from '../db/copyText.js';
import { RecordCutter, type BrokenRecord } from '../source/cut.js';
import { ByteSink } from './bytes.js';
import { chunkError, MARKS, type ProcessedChunk } from './chunk.js';
import type { HeaderMapping } from './header.js';
import { maxRecordSize } from './recordParser.js';
import type { RecordSource } from './recordSource.js';

const NEWLINE = Buffer.from('\n');

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
    const data = new ByteSink(expected + expected / 8);
    let marks = new Float64Array(MARKS * 1024);
    let records = 0;
    let rows = 0;
    const firstOffset = offset;
    let error: ProcessedChunk['error'];
    // A record with a quote RFC 4180 forbids is rejected here, as the client parser rejects it.
    let rejects: ByteSink | undefined;
    const rejectEnds: number[] = [];
    const rejectRecords: number[] = [];
    const rejectInfo: RejectInfo[] = [];
    try {
      cut((buf, s, e, line, nextLine, at, nextOffset, broken) => {
        if (broken) {
          rejects ??= new ByteSink();
          const record = buf.subarray(s, e).toString('utf8').replace(/\0/g, '\u2400');
          rejects.append(encodeReject({ line, offset: at, record, column: null, code: broken, message: `line ${line}: ${BROKEN[broken]}` }));
          rejectEnds.push(rejects.length);
          rejectRecords.push(records);
          rejectInfo.push({ code: broken, line });
        } else if (e > s || !blankIsRecordOnly) {
          if (prefixed) data.append(`${at}${delimiter}${line}${delimiter}`);
          data.appendBytes(buf, s, e);
          data.appendBytes(NEWLINE, 0, 1);
          rows++;
        }
        if ((records + 1) * MARKS > marks.length) {
          const bigger = new Float64Array(marks.length * 2);
          bigger.set(marks);
          marks = bigger;
        }
        const m = records * MARKS;
        marks[m] = data.length;
        marks[m + 1] = rows;
        marks[m + 2] = line;
        marks[m + 3] = nextOffset;
        marks[m + 4] = nextLine;
        offset = nextOffset;
        records++;
      });
    } catch (err) {
      error = chunkError(err);
    }
    return {
      data: data.finish(),
      records,
      marks: marks.subarray(0, records * MARKS),
      rejectData: rejects ? rejects.finish() : EMPTY,
      rejectEnds,
      rejectRecords,
      rejectInfo,
      raw: { firstOffset },
      error,
    };
  };

  return {
    push: (bytes, take) => take(run(bytes.length, (sink) => cutter.push(bytes, sink))),
    end: (take) => take(run(0, (sink) => cutter.end(sink))),
    close: () => undefined,
  };
}

const EMPTY = new Uint8Array(0);
