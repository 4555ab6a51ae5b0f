/**
 * `node dist/bench/parseCpu.js [--rows 1000000] [--runs 3] [--file path]`: the CPU of parsing alone,
 * one thread, on bench/generate.ts's file: csv-parse's own stream (parse and discard, the floor),
 * RecordParser (source/parse.ts: records with line, byte offset and raw text), and RecordParser
 * followed by the per-record stages (pipeline/process.ts, chunk.ts: what the inline record source
 * does). Prints the median CPU seconds of each over --runs, and the records seen.
 */
import { createReadStream, existsSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { pipeline } from 'node:stream/promises';
import { parse as csvParse } from 'csv-parse';
import { parse as parseYaml } from 'yaml';
import { normalizeJobType } from '../src/jobtypes/normalize.js';
import { ChunkBuilder } from '../src/pipeline/chunk.js';
import { mapHeader } from '../src/pipeline/header.js';
import { compileProcessor } from '../src/pipeline/process.js';
import { newRecordParser } from '../src/pipeline/recordParser.js';
import { GENERATED_HEADER, generatedJobType, writeGeneratedCsv } from './generate.js';

function arg(name: string, fallback: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 && process.argv[i + 1] !== undefined ? process.argv[i + 1]! : fallback;
}

const rows = Number(arg('rows', '1000000'));
const runs = Number(arg('runs', '3'));
const file = arg('file', path.join(os.tmpdir(), `importer-parse-bench-${rows}.csv`));
const CHUNK = 256 * 1024;

async function cpu(fn: () => Promise<number>): Promise<{ seconds: number; records: number }> {
  const before = process.cpuUsage();
  const records = await fn();
  const used = process.cpuUsage(before);
  return { seconds: (used.user + used.system) / 1e6, records };
}

async function chunks(each: (b: Buffer) => void): Promise<void> {
  for await (const c of createReadStream(file, { highWaterMark: CHUNK })) each(c as Buffer);
}

async function main(): Promise<void> {
  if (!existsSync(file)) await writeGeneratedCsv(file, rows);
  const def = parseYaml(generatedJobType({ name: 'bench', dir: path.dirname(file), table: 'bench' })) as unknown;
  const normalized = normalizeJobType(def, path.join(path.dirname(file), 'bench.yaml'));
  if (!normalized.ok) throw new Error(JSON.stringify(normalized.problems));
  const jt = normalized.jobType;
  const mapping = mapHeader(jt, GENERATED_HEADER.split(','), file);
  const variants: Record<string, () => Promise<number>> = {
    'csv-parse stream alone': async () => {
      let n = 0;
      await pipeline(createReadStream(file, { highWaterMark: CHUNK }), csvParse({ relax_column_count: true }), async (records: AsyncIterable<unknown>) => {
        for await (const _r of records) n++;
      });
      return n;
    },
    RecordParser: async () => {
      const p = newRecordParser(jt);
      let n = 0;
      const sink = (): void => void n++;
      await chunks((b) => p.write(b, sink));
      p.end(sink);
      return n;
    },
    'RecordParser + process': async () => {
      const p = newRecordParser(jt);
      const processRecord = compileProcessor(jt, mapping);
      let n = 0;
      let first = true;
      await chunks((b) => {
        const c = new ChunkBuilder(processRecord, b.length * 1.25);
        p.write(b, (f, l, o, r) => (first ? void (first = false) : c.sink(f, l, o, r)));
        n += c.finish().records;
      });
      const c = new ChunkBuilder(processRecord, 0);
      p.end(c.sink);
      return n + c.finish().records;
    },
  };
  for (const [name, fn] of Object.entries(variants)) {
    const got: number[] = [];
    let records = 0;
    for (let i = 0; i < runs; i++) {
      const r = await cpu(fn);
      got.push(r.seconds);
      records = r.records;
    }
    got.sort((a, b) => a - b);
    process.stdout.write(`${name}: median ${got[Math.floor(got.length / 2)]!.toFixed(2)} s CPU (${got.map((s) => s.toFixed(2)).join(' ')}), ${records} records\n`);
  }
}

await main();
