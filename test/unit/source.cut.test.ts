import { describe, expect, it } from 'vitest';
import { RecordCutter } from '../../src/source/cut.js';
import { RecordParser } from '../../src/source/parse.js';

interface Cut {
  text: string;
  broken?: string;
  line: number;
  nextLine: number;
  offset: number;
  end: number;
}

function cut(text: string, chunkSize: number): Cut[] {
  const c = new RecordCutter('"', ',', 1 << 20, { line: 1, offset: 0 });
  const out: Cut[] = [];
  const sink = (buf: Buffer, s: number, e: number, line: number, nextLine: number, offset: number, end: number, broken: string | undefined) =>
    out.push({ text: buf.subarray(s, e).toString(), line, nextLine, offset, end, ...(broken ? { broken } : {}) });
  const buf = Buffer.from(text);
  for (let i = 0; i < buf.length; i += chunkSize) c.push(buf.subarray(i, i + chunkSize), sink);
  c.end(sink);
  return out;
}

/** What the client parser says of the same records: start line, next line, offset, end. */
function parsed(text: string): Omit<Cut, 'text'>[] {
  const p = new RecordParser({ delimiter: ',', quote: '"', escape: '"', maxRecordSize: 1 << 20 });
  const out: Omit<Cut, 'text'>[] = [];
  const sink = (_f: string[], line: number, offset: number, raw: { end(): number; nextLine(): number }) => out.push({ line, nextLine: raw.nextLine(), offset, end: raw.end() });
  p.write(Buffer.from(text), sink);
  p.end(sink);
  return out;
}

describe('RecordCutter', () => {
  for (const [name, nl] of [['LF', '\n'], ['CRLF', '\r\n'], ['CR', '\r']] as const) {
    const text = `a,b${nl}1,"x${nl}y"${nl}2,z${nl}${nl}"3","multi${nl}${nl}line ""q"""${nl}4,last`;
    for (const chunk of [1, 2, 3, 5, 7, 1000]) {
      it(`cuts at line breaks outside quotes with ${name} endings, as the client parser counts lines (chunks of ${chunk})`, () => {
        const r = cut(text, chunk);
        expect(r.map((x) => x.text)).toEqual(['a,b', `1,"x${nl}y"`, '2,z', '', `"3","multi${nl}${nl}line ""q"""`, '4,last']);
        expect(r.map(({ line, nextLine, offset, end }) => ({ line, nextLine, offset, end }))).toEqual(parsed(text));
      });
    }
  }

  it('keeps a CR that is the last byte of a chunk until it knows whether an LF follows', () => {
    const r = cut('a\r\nb\r\nc', 2);
    expect(r.map((x) => [x.text, x.line, x.end])).toEqual([['a', 1, 3], ['b', 2, 6], ['c', 3, 7]]);
  });

  it('makes the rest of the stream one record when a quote never closes', () => {
    const r = cut('a,b\n1,"open\n2,x\n', 4);
    expect(r.map((x) => [x.text, x.line])).toEqual([['a,b', 1], ['1,"open\n2,x\n', 2]]);
  });

  it('reads a quote RFC 4180 forbids as text to find the record\'s end, and marks that record broken', () => {
    for (const chunk of [1, 3, 1000]) {
      const r = cut('id,v\n1,a"b\n2,"c"x\n3,"d""e"\n4,"f",g"\n5,ok\n', chunk);
      expect(r.map((x) => [x.text, x.broken ?? null]), `chunk ${chunk}`).toEqual([
        ['id,v', null],
        ['1,a"b', 'CSV_INVALID_OPENING_QUOTE'],
        ['2,"c"x', 'CSV_INVALID_CLOSING_QUOTE'],
        ['3,"d""e"', null],
        ['4,"f",g"', 'CSV_INVALID_OPENING_QUOTE'],
        ['5,ok', null],
      ]);
    }
  });

  it('skips a record past the limit to its end, keeping its first KiB, and goes on after it', () => {
    for (const chunk of [7, 100, 5000]) {
      const c = new RecordCutter('"', ',', 64, { line: 1, offset: 0 });
      const out: Array<[string, number, number, number, string | undefined]> = [];
      const text = 'a,b\n1,"' + 'x\r\n'.repeat(100) + '"\r\n2,ok\n';
      const buf = Buffer.from(text);
      const sink = (b: Buffer, s: number, e: number, line: number, _nl: number, offset: number, end: number, broken: string | undefined) =>
        out.push([b.subarray(s, e).toString().slice(0, 4), line, offset, end, broken]);
      for (let i = 0; i < buf.length; i += chunk) c.push(buf.subarray(i, i + chunk), sink);
      c.end(sink);
      const long = text.indexOf('2,ok');
      expect(out, `chunk ${chunk}`).toEqual([
        ['a,b', 1, 0, 4, undefined],
        ['1,"x', 2, 4, long, 'CSV_MAX_RECORD_SIZE'],
        ['2,ok', 103, long, buf.length, undefined],
      ]);
    }
  });

  it('stops the file when a record has no end within 16 record limits', () => {
    const c = new RecordCutter('"', ',', 16, { line: 1, offset: 0 });
    expect(() => c.push(Buffer.from('a,"' + 'x'.repeat(400)), () => undefined)).toThrow(expect.objectContaining({ code: 'CSV_MAX_RECORD_SIZE' }));
  });
});
