import { describe, expect, it } from 'vitest';
import { BoundedBuffer } from '../../src/pipeline/buffer.js';
import type { Reject, RejectInfo } from '../../src/db/batch.js';
import { decodeRejects, encodeReject, encodeValue } from '../../src/db/copyText.js';
import { Batcher } from '../../src/pipeline/batcher.js';
import { MARKS, type ProcessedChunk } from '../../src/pipeline/chunk.js';
import { isQuotedEmptyField, quotedFieldLength } from '../../src/pipeline/encode.js';
import { PipelineMetrics } from '../../src/observability/metrics.js';

describe('BoundedBuffer', () => {
  it('makes put wait while full and keeps FIFO order', async () => {
    const b = new BoundedBuffer<number>(2);
    await b.put(1);
    await b.put(2);
    let third = false;
    const p = b.put(3).then(() => (third = true));
    await new Promise((r) => setTimeout(r, 20));
    expect(third).toBe(false);
    expect(b.size).toBe(2);
    expect(await b.take()).toBe(1);
    await p;
    expect(third).toBe(true);
    b.close();
    expect([await b.take(), await b.take(), await b.take()]).toEqual([2, 3, undefined]);
    expect(b.highWater).toBe(2);
  });

  it('fail() wakes a waiting producer with the error', async () => {
    const b = new BoundedBuffer<number>(1);
    await b.put(1);
    const p = b.put(2);
    b.fail(new Error('consumer died'));
    await expect(p).rejects.toThrow('consumer died');
    expect(await b.take()).toBeUndefined();
  });

  it('rejects a bad capacity with what it expected', () => {
    expect(() => new BoundedBuffer(0)).toThrow('Expected buffer capacity to be an integer from 1 upwards, got 0');
  });
});

/** A chunk of records: each a row (string), a reject (code) or a blank line (null). */
function chunk(records: Array<string | { code: string } | null>, firstLine = 2): ProcessedChunk {
  const marks = new Float64Array(records.length * MARKS);
  let data = '';
  let rows = 0;
  let rejectText = '';
  const rejectEnds: number[] = [];
  const rejectRecords: number[] = [];
  const rejectInfo: RejectInfo[] = [];
  records.forEach((r, i) => {
    if (typeof r === 'string') {
      data += r;
      rows++;
    } else if (r) {
      const reject: Reject = { line: firstLine + i, offset: i * 10, record: 'x', column: 'c', code: r.code, message: 'm' };
      rejectText += encodeReject(reject);
      rejectEnds.push(Buffer.byteLength(rejectText));
      rejectRecords.push(i);
      rejectInfo.push({ code: r.code, line: reject.line });
    }
    marks.set([Buffer.byteLength(data), rows, firstLine + i, (i + 1) * 10, firstLine + i + 1], i * MARKS);
  });
  return { data: Buffer.from(data), records: records.length, marks, rejectData: Buffer.from(rejectText), rejectEnds, rejectRecords, rejectInfo };
}

describe('Batcher', () => {
  it('cuts by rows, keeps record ranges contiguous and hands rejects on in order', () => {
    const seen: string[] = [];
    const b = new Batcher(2, 1 << 20, [], 0, (r) => seen.push(r.code), new PipelineMetrics());
    const out = b.add(chunk(['a\n', { code: 'C1' }, null, 'b\n', 'c\n']));
    expect(out.map((x) => [x.firstRecord, x.recordCount, x.rows, Buffer.concat(x.data).toString()])).toEqual([
      [0, 2, 1, 'a\n'],
      [2, 2, 1, 'b\n'],
    ]);
    expect(out[0]!.rejects.count).toBe(1);
    expect(decodeRejects(out[0]!.rejects.data)).toEqual([{ line: 3, offset: 10, record: 'x', column: 'c', code: 'C1', message: 'm', constraint: null }]);
    expect(seen).toEqual(['C1']);
    expect(b.pending).toBe(1);
    const last = b.cut()!;
    expect(last).toMatchObject({ seq: 2, firstRecord: 4, recordCount: 1, rows: 1, lastLine: 6, endOffset: 50 });
    expect(b.records).toBe(5);
  });

  it('cuts by bytes', () => {
    const b = new Batcher(100, 4, [], 0, () => undefined, new PipelineMetrics());
    const out = b.add(chunk(['aa\n', 'bb\n', 'cc\n']));
    expect(out.map((x) => Buffer.concat(x.data).toString())).toEqual(['aa\nbb\n']);
    expect(Buffer.concat(b.cut()!.data).toString()).toBe('cc\n');
  });

  it('drops committed ranges with their rejects, and never lets a batch span one', () => {
    const seen: string[] = [];
    const committed = [{ first: 1, count: 2, rows: 1, rejects: 1, endOffset: 30, nextLine: 4 }];
    const b = new Batcher(10, 1 << 20, committed, 0, (r) => seen.push(r.code), new PipelineMetrics());
    const out = b.add(chunk(['a\n', { code: 'OLD' }, 'b\n', 'c\n', { code: 'NEW' }]));
    out.push(b.cut()!);
    expect(out.map((x) => [x.firstRecord, x.recordCount, Buffer.concat(x.data).toString()])).toEqual([
      [0, 1, 'a\n'],
      [3, 2, 'c\n'],
    ]);
    expect(seen).toEqual(['NEW']);
  });

  it('continues a batch across chunks', () => {
    const b = new Batcher(3, 1 << 20, [], 0, () => undefined, new PipelineMetrics());
    expect(b.add(chunk(['a\n', 'b\n']))).toEqual([]);
    const [batch] = b.add(chunk(['c\n', 'd\n'], 4));
    expect(batch).toMatchObject({ firstRecord: 0, recordCount: 3, rows: 3, lastLine: 4 });
    expect(Buffer.concat(batch!.data).toString()).toBe('a\nb\nc\n');
  });
});

describe('encode', () => {
  it('escapes COPY text specials and writes NULL as \\N', () => {
    expect(encodeValue(null)).toBe('\\N');
    expect(encodeValue('a\\b\tc\nd\re')).toBe('a\\\\b\\tc\\nd\\re');
    expect(encodeValue('\\N')).toBe('\\\\N');
  });

  it('encodes rejects as COPY lines and decodes them back, escapes and NULLs included', () => {
    const rejects: Reject[] = [
      { line: 7, offset: 120, record: 'a\tb\nc\\d,\\N', column: null, code: 'CAST_INVALID_DATE', message: 'column "d": "x" is not a date', constraint: null },
      { line: 9, offset: 300, record: '', column: 'id', code: 'PG_23505', message: 'duplicate key (Key (id)=(1))', constraint: 't_pkey' },
    ];
    const data = [Buffer.from(rejects.map(encodeReject).join(''))];
    expect(decodeRejects(data)).toEqual(rejects);
    expect(decodeRejects(data, 1)).toEqual(rejects.slice(0, 1));
  });

  it('finds quoted empty fields in a raw record', () => {
    expect(isQuotedEmptyField('1,"",', 1, ',', '"')).toBe(true);
    expect(isQuotedEmptyField('1,"",', 2, ',', '"')).toBe(false);
    expect(isQuotedEmptyField('"a,""b",,""', 1, ',', '"')).toBe(false);
    expect(isQuotedEmptyField('"a,""b",,""', 2, ',', '"')).toBe(true);
  });

  it('honours an escape other than the quote when it looks for quoted fields (issue 17, wrong result 1)', () => {
    // a,"b,c\"","" : the third field is a quoted empty string, not NULL.
    expect(isQuotedEmptyField('a,"b,c\\"",""', 2, ',', '"', '\\')).toBe(true);
    expect(quotedFieldLength('a,"b,c\\"",""', 1, ',', '"', '\\')).toBe(5);
    expect(quotedFieldLength('a,"b,c\\"",""', 0, ',', '"', '\\')).toBe(-1);
    expect(quotedFieldLength('1,"    "', 1, ',', '"')).toBe(4);
  });
});
