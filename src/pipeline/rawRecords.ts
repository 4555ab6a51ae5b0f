/**
 * Reads back the raw records at given byte offsets of a file (the decoded stream's, as `_rec` holds
 * them), for rows that are rejected after they were staged. One pass from the start, stopping at the
 * last wanted record; it runs only when the target refused rows.
 */
import type { JobType } from '../jobtypes/normalize.js';
import type { SourceFile } from '../source/discover.js';
import { SourceReader } from './reader.js';
import { newRecordParser } from './recordParser.js';

export async function readRawRecords(file: SourceFile, jt: JobType, offsets: readonly number[]): Promise<Map<number, string>> {
  const wanted = new Set(offsets);
  const found = new Map<number, string>();
  if (wanted.size === 0) return found;
  const last = Math.max(...offsets);
  const reader = new SourceReader(file, jt.csv.encoding);
  const parser = newRecordParser(jt);
  let done = false;
  const sink = (_fields: string[], _line: number, offset: number, raw: { text(): string }) => {
    // PostgreSQL text cannot hold NUL: show it as ␀, as every reject does.
    if (wanted.has(offset)) found.set(offset, raw.text().replace(/\0/g, '\u2400'));
    if (offset >= last) done = true;
  };
  try {
    for (;;) {
      const r = await reader.next(undefined, async () => undefined);
      if (r.done) break;
      parser.write(r.value, sink);
      if (done) break;
    }
    if (!done) parser.end(sink);
  } finally {
    reader.close();
  }
  return found;
}
