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

  it('counts a lone CR that comes after many LF-only records in the same chunk', () => {
    // The parser remembers where the next CR is; a CR far into the chunk must still be found.
    const rows = Array.from({ length: 500 }, (_v, i) => `${i},x`).join('\n');
    const text = `a,b\n${rows}\rlate,y\n"q\r\nr",z\rend,w`;
    for (const chunk of [7, 100, 1 << 20]) {
      const r = parse(text, chunk);
      // The record delimiter is LF (csv-parse takes the first it sees), so the lone CR stays inside
      // a field but still starts a physical line: the record after it starts on line 503.
      expect(r.slice(-2).map((x) => [x.fields, x.line]), `chunk ${chunk}`).toEqual([
        [['499', 'x\rlate', 'y'], 501],
        [['q\r\nr', 'z\rend', 'w'], 503],
      ]);
    }
  });

  it('decodes multi-byte characters split across chunks, quotes doubled and embedded newlines', () => {
    const text = 'a,b\n"Zoë ""Z""",李雷\n"Müller, Hans","x""y\nz"\n€,\n';
    for (const chunk of [1, 2, 5, 1000]) {
      expect(parse(text, chunk).map((r) => r.fields), `chunk ${chunk}`).toEqual([
        ['a', 'b'],
        ['Zoë "Z"', '李雷'],
        ['Müller, Hans', 'x"y\nz'],
        ['€', ''],
      ]);
    }
  });
});
