import { describe, expect, it } from 'vitest';
import { RecordParser } from '../../src/source/parse.js';
import { countLineBreaks, PieceSplitter, type Piece } from '../../src/source/split.js';

/** Feeds `text` in chunks of `chunk` bytes to a splitter aiming at `target` bytes per piece. */
function split(text: string | Buffer, chunk: number, target: number, quote = '"'): Piece[] {
  const buf = Buffer.isBuffer(text) ? text : Buffer.from(text);
  const s = new PieceSplitter(quote, target, { line: 1, offset: 0 });
  const pieces: Piece[] = [];
  for (let i = 0; i < buf.length; i += chunk) pieces.push(...s.push(buf.subarray(i, i + chunk)));
  const last = s.end();
  if (last) pieces.push(last);
  return pieces;
}

type Rec = { fields: string[]; line: number; offset: number };

function parse(buf: Buffer, start: { line: number; offset: number } = { line: 1, offset: 0 }, escape = '"'): Rec[] {
  const p = new RecordParser({ delimiter: ',', quote: '"', escape, maxRecordSize: 1 << 20, startLine: start.line, startOffset: start.offset });
  const out: Rec[] = [];
  const sink = (fields: string[], line: number, offset: number) => out.push({ fields: [...fields], line, offset });
  p.write(buf, sink);
  p.end(sink);
  return out;
}

/** What every split must satisfy: nothing lost, positions right, and each piece parses alone into the same records. */
function checkPieces(text: string | Buffer, pieces: Piece[]) {
  const buf = Buffer.isBuffer(text) ? text : Buffer.from(text);
  expect(Buffer.concat(pieces.map((p) => p.buf)).equals(buf)).toBe(true);
  let offset = 0;
  let line = 1;
  pieces.forEach((p, i) => {
    expect(p.seq).toBe(i);
    expect(p.startOffset).toBe(offset);
    expect(p.startLine).toBe(line);
    offset += p.buf.length;
    line += countLineBreaks(p.buf);
  });
  const separately = pieces.flatMap((p) => parse(p.buf, { line: p.startLine, offset: p.startOffset }));
  expect(separately).toEqual(parse(buf));
}

describe('PieceSplitter', () => {
  it('cuts on the last record boundary once a piece reaches its target size', () => {
    const text = 'a,b\n1,2\n3,4\n5,6\n7,8\n';
    const pieces = split(text, 6, 6);
    expect(pieces.map((p) => p.buf.toString())).toEqual(['a,b\n', '1,2\n3,4\n', '5,6\n', '7,8\n']);
    checkPieces(text, pieces);
  });

  it('keeps everything in one piece below the target size', () => {
    const pieces = split('a,b\n1,2\n', 3, 1000);
    expect(pieces.map((p) => p.buf.toString())).toEqual(['a,b\n1,2\n']);
  });

  it('returns no piece for empty input, and keeps a last record without a line break', () => {
    expect(split('', 4, 4)).toEqual([]);
    const pieces = split('a\nb\nc', 2, 2);
    expect(pieces.at(-1)!.buf.toString()).toBe('c');
    checkPieces('a\nb\nc', pieces);
  });

  it('never cuts at a line break inside quotes', () => {
    const text = 'id,note\n1,"line one\nline two\nline three"\n2,x\n';
    for (let target = 1; target <= text.length; target++) {
      const pieces = split(text, 1000, target);
      for (const p of pieces.slice(0, -1)) expect(['id,note\n', '1,"line one\nline two\nline three"\n', '2,x\n']).toContain(p.buf.toString());
      checkPieces(text, pieces);
    }
  });

  it('waits for more bytes when one record is larger than a piece', () => {
    const big = `1,"${'x\n'.repeat(50)}"\n`;
    const s = new PieceSplitter('"', 16, { line: 1, offset: 0 });
    const first = s.push(Buffer.from(big.slice(0, 40)));
    expect(first).toEqual([]);
    const rest = s.push(Buffer.from(big.slice(40) + '2,y\n'));
    expect(rest.map((p) => p.buf.toString())).toEqual([big + '2,y\n']);
  });

  it('tracks quote parity across doubled quotes (the escape is the quote)', () => {
    // `""` inside a quoted field is a literal quote: the field stays open across the line break.
    const text = 'a,b\n1,"say ""hi""\nthere"\n2,""\n3,"""\n"""\n4,z\n';
    for (const chunk of [1, 2, 3, 5, 8]) {
      for (const target of [1, 4, 9]) {
        const pieces = split(text, chunk, target);
        checkPieces(text, pieces);
        expect(parse(Buffer.from(text)).map((r) => r.fields[1])).toEqual(['b', 'say "hi"\nthere', '', '"\n"', 'z']);
      }
    }
  });

  it('cuts correctly when a chunk ends in the middle of a quoted field', () => {
    const text = '1,"ab\ncd",x\n2,"ef\ngh",y\n3,"ij\nkl",z\n';
    for (let chunk = 1; chunk <= 12; chunk++) {
      const pieces = split(text, chunk, 4);
      expect(pieces.length).toBeGreaterThan(1);
      checkPieces(text, pieces);
    }
  });

  it('never cuts between the CR and the LF of a CRLF, even when a chunk ends between them', () => {
    const text = 'a,b\r\n1,"x\r\ny"\r\n2,z\r\n3,w\r\n';
    for (let chunk = 1; chunk <= 8; chunk++) {
      for (const target of [1, 3, 5]) {
        const pieces = split(text, chunk, target);
        for (const p of pieces.slice(0, -1)) expect(p.buf.toString().endsWith('\r\n'), JSON.stringify(p.buf.toString())).toBe(true);
        checkPieces(text, pieces);
      }
    }
  });

  it('treats a lone CR as a line break', () => {
    const text = 'a,b\r1,2\r3,"4\r5"\r6,7\r';
    const pieces = split(text, 3, 3);
    expect(pieces.map((p) => p.buf.toString())).toEqual(['a,b\r', '1,2\r', '3,"4\r5"\r', '6,7\r']);
    expect(pieces.map((p) => p.startLine)).toEqual([1, 2, 3, 5]);
    checkPieces(text, pieces);
  });

  it('continues lines and offsets from where the file resumes', () => {
    const s = new PieceSplitter('"', 4, { line: 41, offset: 1000 });
    const [p] = s.push(Buffer.from('1,2\n3,4\n'));
    const q = s.end();
    expect([p!.startLine, p!.startOffset]).toEqual([41, 1000]);
    expect([q?.startLine, q?.startOffset]).toEqual([undefined, undefined]);
    expect(p!.buf.toString()).toBe('1,2\n3,4\n');
  });

  it('honours another quote character', () => {
    const text = "a,'b\nc'\n1,2\n";
    const pieces = split(text, 2, 2, "'");
    expect(pieces.map((p) => p.buf.toString())).toEqual(["a,'b\nc'\n", '1,2\n']);
  });

  it('assumes the escape is the quote: a backslash-escaped quote flips parity (why producer.ts splits only when csv.escape equals csv.quote)', () => {
    const text = 'a,"x\\"\ny"\n1,2\n';
    // csv-parse with escape "\" reads one record with a field `x"\ny`...
    expect(parse(Buffer.from(text), { line: 1, offset: 0 }, '\\').map((r) => r.fields)).toEqual([['a', 'x"\ny'], ['1', '2']]);
    // ...but quote parity sees the quote after the backslash as closing the field; the quote after
    // `y` then opens nowhere RFC 4180 allows, so the splitter stops cutting (dirty): the rest is one piece.
    const pieces = split(text, 100, 1);
    expect(pieces.map((p) => p.buf.toString())).toEqual([text]);
  });

  function generated(ending: string, records = 400): Buffer {
    let seed = 7;
    const rand = (n: number) => ((seed = (seed * 1103515245 + 12345) % 2 ** 31), seed % n);
    const fields = ['plain', '"quoted, comma"', '"multi\nline"', '"a ""quote"""', '"crlf\r\ninside"', '', '""', 'ünïcödé'];
    let text = `c1,c2,c3${ending}`;
    for (let i = 0; i < records; i++) text += [0, 1, 2].map(() => fields[rand(fields.length)]).join(',') + ending;
    return Buffer.from(text);
  }

  for (const [name, ending] of [['LF', '\n'], ['CRLF', '\r\n']] as const) {
    it(`splits a generated ${name} file of mixed records into pieces that parse to the same records`, () => {
      const buf = generated(ending);
      for (const [chunk, target] of [[7, 50], [64, 64], [1, 300], [1000, 1], [333, 2000]] as const) {
        const pieces = split(buf, chunk, target);
        expect(pieces.length).toBeGreaterThan(2);
        checkPieces(buf, pieces);
      }
    });
  }

  // Known gap, found by this test: csv-parse detects the record delimiter from the first line break
  // it sees, so in a file that mixes LF and CRLF a piece that starts on a CRLF record reads the LF
  // records after it differently from a whole-file parse (fields keep a "\r", records merge).
  // it.fails: this test starts failing (and must become a plain `it`) once pieces parse the same.
  it.fails('parses a file with mixed LF and CRLF endings the same in pieces as whole', () => {
    const buf = Buffer.from('a,b\n1,2\r\n3,4\n5,6\r\n7,8\n');
    checkPieces(buf, split(buf, 3, 3));
  });
});
