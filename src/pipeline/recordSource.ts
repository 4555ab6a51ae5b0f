/**
 * Record sources: what turns a file's bytes after the header into processed chunks, in file order.
 * The producer has one record source per file and does not care which:
 * - inline: one csv-parse parser in this thread, one chunk per read;
 * - pool: pieces cut on record boundaries, parsed by the process's parse threads (poolSource.ts).
 * `take` hands a chunk downstream and resolves when there is room for it: demand reaches the
 * record source through it, so a source never runs ahead of the consumers.
 */
import type { JobType } from '../jobtypes/normalize.js';
import { ChunkBuilder, type ProcessedChunk } from './chunk.js';
import type { HeaderMapping } from './header.js';
import { compileProcessor } from './process.js';
import { newRecordParser } from './recordParser.js';

export type TakeChunk = (chunk: ProcessedChunk) => Promise<void>;

export interface RecordSource {
  /** Parses bytes that follow what was pushed before. */
  push(bytes: Buffer, take: TakeChunk): Promise<void>;
  /** The file ended: delivers what is left. */
  end(take: TakeChunk): Promise<void>;
  /** Releases what the source holds (after an error too). */
  close(): void;
}

/** Parses in this thread, continuing one parser across reads (any quote and escape characters). */
export function inlineSource(jt: JobType, mapping: HeaderMapping, start: { line: number; offset: number }): RecordSource {
  const parser = newRecordParser(jt, start);
  const processRecord = compileProcessor(jt, mapping);
  const run = (bytes: number, parse: (b: ChunkBuilder) => void): ProcessedChunk => {
    const chunk = new ChunkBuilder(processRecord, bytes * 1.25);
    try {
      parse(chunk);
    } catch (err) {
      return chunk.finish(err);
    }
    return chunk.finish();
  };
  return {
    push: (bytes, take) => take(run(bytes.length, (c) => parser.write(bytes, c.sink))),
    end: (take) => take(run(0, (c) => parser.end(c.sink))),
    close: () => undefined,
  };
}
