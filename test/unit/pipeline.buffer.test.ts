import { describe, expect, it } from 'vitest';
import { BoundedBuffer } from '../../src/pipeline/buffer.js';
import { Batcher } from '../../src/pipeline/batcher.js';
import { encodeValue, isQuotedEmptyField } from '../../src/pipeline/encode.js';

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

describe('Batcher', () => {
  it('cuts by rows and keeps record ranges contiguous', () => {
    const b = new Batcher(2, 1 << 20);
    b.addRow(0, 2, 0, 'a\n');
    expect(b.full).toBe(false);
    b.addReject(1, 10, { line: 3, offset: 10, record: 'x', column: 'c', code: 'C', message: 'm' });
    expect(b.full).toBe(true);
    const batch = b.cut()!;
    expect(batch).toMatchObject({ seq: 0, firstRecord: 0, recordCount: 2, rows: 1 });
    expect(Buffer.concat(batch.data).toString()).toBe('a\n');
    expect(batch.rejects).toHaveLength(1);
    expect(b.continues(5)).toBe(true);
    b.addRow(5, 7, 40, 'b\n');
    expect(b.continues(7)).toBe(false);
  });
});

describe('encode', () => {
  it('escapes COPY text specials and writes NULL as \\N', () => {
    expect(encodeValue(null)).toBe('\\N');
    expect(encodeValue('a\\b\tc\nd\re')).toBe('a\\\\b\\tc\\nd\\re');
    expect(encodeValue('\\N')).toBe('\\\\N');
  });

  it('finds quoted empty fields in a raw record', () => {
    expect(isQuotedEmptyField('1,"",', 1, ',', '"')).toBe(true);
    expect(isQuotedEmptyField('1,"",', 2, ',', '"')).toBe(false);
    expect(isQuotedEmptyField('"a,""b",,""', 1, ',', '"')).toBe(false);
    expect(isQuotedEmptyField('"a,""b",,""', 2, ',', '"')).toBe(true);
  });
});
