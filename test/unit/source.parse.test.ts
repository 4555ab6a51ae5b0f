import { describe, expect, it } from 'vitest';
import { RecordParser, type ParserOptions, type RecordSink } from '../../src/source/parse.js';

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

describe('RecordParser: a broken record is one record with its fault, and parsing goes on after it', () => {
  function faults(text: string, chunkSize: number, extra: Partial<ParserOptions> = {}) {
    const p = new RecordParser({ delimiter: ',', quote: '"', escape: '"', maxRecordSize: 64, faultsAsRecords: true, ...extra });
    const out: unknown[] = [];
    const sink: RecordSink = (fields, line, offset, raw) => out.push([raw.fault()?.code ?? fields, line, offset, raw.end(), raw.text()]);
    const buf = Buffer.from(text);
    for (let i = 0; i < buf.length; i += chunkSize) p.write(buf.subarray(i, i + chunkSize), sink);
    p.end(sink);
    return out;
  }
  const cases: Array<[string, string, unknown[]]> = [
    ['a quote never closed: the rest is one record', 'a,b\n1,2\n3,"open\n4,5\n', [[['a', 'b'], 1, 0, 4, 'a,b'], [['1', '2'], 2, 4, 8, '1,2'], ['CSV_QUOTE_NOT_CLOSED', 3, 8, 20, '3,"open\n4,5']]],
    ['a stray quote in an unquoted field', 'a,b\n1,x"y\n2,"q\nr"\n', [[['a', 'b'], 1, 0, 4, 'a,b'], ['CSV_INVALID_OPENING_QUOTE', 2, 4, 10, '1,x"y'], [['2', 'q\nr'], 3, 10, 18, '2,"q\nr"']]],
    ['text after a closing quote', 'a,b\n1,"x"y\n2,z', [[['a', 'b'], 1, 0, 4, 'a,b'], ['CSV_INVALID_CLOSING_QUOTE', 2, 4, 11, '1,"x"y'], [['2', 'z'], 3, 11, 14, '2,z']]],
    ['a stray quote before a quoted field with a line break', '1,x"y,"p\nq"\n2,z\n', [['CSV_INVALID_OPENING_QUOTE', 1, 0, 12, '1,x"y,"p\nq"'], [['2', 'z'], 3, 12, 16, '2,z']]],
    ['two broken records in a row, CRLF', '1,x"y\r\n2,"a"b\r\n3,c\r\n', [['CSV_INVALID_OPENING_QUOTE', 1, 0, 7, '1,x"y'], ['CSV_INVALID_CLOSING_QUOTE', 2, 7, 15, '2,"a"b'], [['3', 'c'], 3, 15, 20, '3,c']]],
  ];
  for (const [name, text, expected] of cases) {
    for (const chunk of [1, 3, 1000]) {
      for (const endsFromCsvParse of [false, true]) {
        it(`${name} (chunks of ${chunk}${endsFromCsvParse ? ', ends from on_record' : ''})`, () => {
          expect(faults(text, chunk, { endsFromCsvParse })).toEqual(expected);
        });
      }
    }
  }

  it('a record past the limit is one record, its text cut to its first KiB, and the next ones parse', () => {
    const long = 'x'.repeat(400);
    const r = faults(`1,"${long}\n${long}"\n2,z\n`, 100) as Array<[unknown, number, number, number, string]>;
    expect(r.map((x) => x.slice(0, 4))).toEqual([['CSV_MAX_RECORD_SIZE', 1, 0, 806], [['2', 'z'], 3, 806, 810]]);
    expect(r[0]![4]).toBe(`1,"${long}\n${long}"\n…`);
  });

  it('a broken record with no end within 16 record limits fails the parse (memory stays bounded)', () => {
    expect(() => faults(`1,"${'x'.repeat(2000)}`, 100)).toThrow(expect.objectContaining({ code: 'CSV_MAX_RECORD_SIZE', context: { line: 1, offset: 0 } }));
  });

  it('relax_quotes reads stray quotes as text', () => {
    expect(faults('1,x"y\n2,"a"b\n', 3, { relaxQuotes: true }).map((x) => (x as unknown[])[0])).toEqual([['1', 'x"y'], ['2', '"a"b']]);
  });
});
