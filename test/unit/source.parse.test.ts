import { describe, expect, it } from 'vitest';
import { RecordParser } from '../../src/source/parse.js';

function parse(text: string, chunkSize = 3) {
  const p = new RecordParser({ delimiter: ',', quote: '"', escape: '"', maxRecordSize: 1 << 20 });
  const out: Array<{ fields: string[]; line: number; offset: number; raw: string }> = [];
  const sink = (fields: string[], line: number, offset: number, raw: { text(): string }) => out.push({ fields, line, offset, raw: raw.text() });
  const buf = Buffer.from(text);
  for (let i = 0; i < buf.length; i += chunkSize) p.write(buf.subarray(i, i + chunkSize), sink);
  p.end(sink);
  return out;
}

describe('RecordParser', () => {
  for (const [name, nl] of [['LF', '\n'], ['CRLF', '\r\n'], ['CR', '\r']] as const) {
    for (const chunk of [1, 2, 3, 7, 1000]) {
      it(`counts physical lines with ${name} endings and embedded newlines (chunks of ${chunk})`, () => {
        const text = `a,b${nl}1,"x${nl}y"${nl}2,z${nl}"3","multi${nl}${nl}line"${nl}4,last`;
        const r = parse(text, chunk);
        expect(r.map((x) => x.line)).toEqual([1, 2, 4, 5, 8]);
        expect(r.map((x) => x.fields)).toEqual([['a', 'b'], ['1', `x${nl}y`], ['2', 'z'], ['3', `multi${nl}${nl}line`], ['4', 'last']]);
        expect(r[3]!.raw).toBe(`"3","multi${nl}${nl}line"`);
        expect(r.map((x) => text.slice(x.offset).startsWith(x.raw))).toEqual([true, true, true, true, true]);
      });
    }
  }

  it('reports an unclosed quote with the line where the record starts', () => {
    expect(() => parse('a,b\n1,2\n3,"open\n4,5\n')).toThrow(expect.objectContaining({ code: 'CSV_QUOTE_NOT_CLOSED', context: { line: 3, offset: 8 } }));
  });
});
