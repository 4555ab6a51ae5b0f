import { describe, expect, it } from 'vitest';
import { RecordParser } from '../../src/source/parse.js';
import { rng } from '../../bench/generate.js';

/** Every record as the parser delivers it, and the error that stopped it, if any. */
function run(text: Buffer, chunks: number[], endsFromCsvParse: boolean) {
  const p = new RecordParser({ delimiter: ',', quote: '"', escape: '"', maxRecordSize: 1 << 20, endsFromCsvParse });
  const out: unknown[] = [];
  const sink = (fields: string[], line: number, offset: number, raw: { end(): number; nextLine(): number; text(): string }) =>
    out.push([fields, line, offset, raw.end(), raw.nextLine(), raw.text()]);
  let pos = 0;
  try {
    for (const n of chunks) {
      p.write(text.subarray(pos, pos + n), sink);
      pos += n;
    }
    p.write(text.subarray(pos), sink);
    p.end(sink);
  } catch (err) {
    const e = err as { code?: string; context?: unknown };
    out.push({ code: e.code, context: e.context });
  }
  return out;
}

const PARTS = ['a', 'bc', 'é', ' ', ',', '"', '""', '\n', '\r', '\r\n', '"x,y"', '"q\nr"', '"s\r\nt"', '"u""v"', ''];

function randomCsv(next: () => number, breakAs: string, dirty: boolean): string {
  const records: string[] = [];
  const n = 1 + Math.floor(next() * 12);
  for (let r = 0; r < n; r++) {
    const fields: string[] = [];
    const width = 1 + Math.floor(next() * 4);
    for (let f = 0; f < width; f++) {
      let v = '';
      const parts = Math.floor(next() * 3);
      for (let k = 0; k < parts; k++) v += PARTS[Math.floor(next() * PARTS.length)]!;
      // Clean input quotes any field holding a quote, delimiter or line break; dirty input leaves some as they are.
      if (/[",\r\n]/.test(v) && (!dirty || next() < 0.8)) v = `"${v.replace(/"/g, '""')}"`;
      fields.push(v);
    }
    records.push(fields.join(','));
  }
  return records.join(breakAs) + (next() < 0.5 ? breakAs : '');
}

describe('record ends by quote parity (boundaries.ts) against csv-parse on_record', () => {
  for (const dirty of [false, true]) {
    it(`agree on ${dirty ? 'dirty' : 'well-formed'} input, any line ending, any chunking`, () => {
      const next = rng(dirty ? 7 : 3);
      for (let i = 0; i < 250; i++) {
        const breakAs = ['\n', '\r\n', '\r'][i % 3]!;
        const text = Buffer.from(randomCsv(next, breakAs, dirty));
        const chunks: number[] = [];
        for (let left = text.length; left > 0; ) {
          const n = 1 + Math.floor(next() * 9);
          chunks.push(n);
          left -= n;
        }
        expect(run(text, chunks, false), JSON.stringify(text.toString())).toEqual(run(text, chunks, true));
        expect(run(text, [text.length], false), JSON.stringify(text.toString())).toEqual(run(text, chunks, true));
      }
    });
  }
});
