/**
 * The per-record stages after parsing: field count, size and UTF-8 checks, cast, encode. One
 * function per record, with no I/O, shared by the producer and the parse worker threads.
 * A bad record becomes a Reject (data, not an exception).
 */
import { isUtf8 } from 'node:buffer';
import type { JobType } from '../jobtypes/normalize.js';
import type { RawRecord } from '../source/parse.js';
import type { Reject } from '../db/batch.js';
import { CastFailure, compileCaster, type CastOutcome } from './cast.js';
import { encodeValue } from '../db/copyText.js';
import { quotedFieldLength } from './encode.js';
import type { HeaderMapping } from './header.js';

/** A COPY row (string), a Reject, or null for a blank line that is not a record. */
export type Processed = string | Reject | null;

/**
 * Compiles the record processor of a job type for a header mapping. The COPY row starts with the
 * record's byte offset (its `_rec`: unique and in file order) and its physical line.
 */
export function compileProcessor(jt: JobType, mapping: HeaderMapping): (fields: string[], line: number, offset: number, raw: RawRecord) => Processed {
  const casters = jt.columns.map((c) => compileCaster(c, { timezone: jt.timezone }));
  const nCols = jt.columns.length;
  const values: CastOutcome[] = new Array<CastOutcome>(nCols);
  const checkUtf8 = jt.csv.encoding === 'utf8';
  const maxField = jt.csv.maxFieldBytes;
  const { delimiter, quote, escape } = jt.csv;
  // Ragged records: missing trailing fields read as absent (NULL, then the column's default), extra ones are not read.
  const fillShort = jt.csv.onShortRow === 'fill';
  const dropLong = jt.csv.onLongRow === 'drop';
  const reject = (line: number, offset: number, raw: RawRecord, column: string | null, code: string, message: string): Reject => ({
    line,
    offset,
    // PostgreSQL text cannot hold NUL: show it as ␀ in the quarantined record.
    record: raw.text().replace(/\0/g, '\u2400'),
    column,
    code,
    message,
  });

  // Only text and JSON values can hold a tab, newline or backslash; every other type's caster
  // returns digits, dates, hex and the like, which COPY takes as they are.
  const escapes = jt.columns.map((c) => c.type === 'text' || c.type === 'json' || c.type === 'jsonb');
  const largeField = maxField / 4;
  // One probe for every field (instead of a closure per field): asked only for empty or trimmed text
  // values. An empty value can only be quoted if the record holds two quotes in a row (no decoding).
  let probeRaw: RawRecord | undefined;
  let probeIndex = 0;
  let probeEmpty = false;
  const quoting = jt.csv.quoting;
  const quoted = (): boolean =>
    quoting &&
    (probeEmpty ? probeRaw!.hasQuotePair() : true) && quotedFieldLength(probeRaw!.text(), probeIndex, delimiter, quote, escape) >= 0;

  return (fields, line, offset, raw) => {
    const fault = raw.fault();
    if (fault) return reject(line, offset, raw, null, fault.code, fault.message);
    // A blank line in a multi-column file is not a record.
    if (fields.length === 1 && fields[0] === '' && mapping.width > 1) return null;
    if (fields.length !== mapping.width && !(fields.length < mapping.width ? fillShort : dropLong)) {
      return reject(line, offset, raw, null, 'CSV_RECORD_INCONSISTENT_FIELDS_LENGTH', `expected ${mapping.width} fields, found ${fields.length}`);
    }
    probeRaw = raw;
    for (let i = 0; i < nCols; i++) {
      const idx = mapping.indexes[i]!;
      const v = idx < 0 ? undefined : fields[idx];
      if (v !== undefined && v.length > largeField && Buffer.byteLength(v) > maxField) {
        const name = jt.columns[i]!.name;
        return reject(line, offset, raw, name, 'FIELD_TOO_LARGE', `column "${name}": the field has more than ${maxField} bytes (csv.max_field_bytes)`);
      }
      if (checkUtf8 && v !== undefined && v.includes('\uFFFD') && !isUtf8(raw.bytes())) {
        const name = jt.columns[i]!.name;
        return reject(line, offset, raw, name, 'INVALID_UTF8', `column "${name}": the record is not valid UTF-8 (set csv.encoding if the file uses another charset)`);
      }
      probeIndex = idx;
      probeEmpty = v === '';
      const out = casters[i]!(v, quoted);
      if (out instanceof CastFailure) return reject(line, offset, raw, jt.columns[i]!.name, out.code, out.message);
      values[i] = out;
    }
    let row = `${offset}\t${line}`;
    for (let i = 0; i < nCols; i++) {
      const v = values[i] as string | null;
      row += v === null ? '\t\\N' : escapes[i] ? '\t' + encodeValue(v) : '\t' + v;
    }
    return row + '\n';
  };
}
