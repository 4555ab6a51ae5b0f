/**
 * The file's decoded bytes, as the producer reads them: from the start, or past the committed part of
 * a resumed file. A plain UTF-8 file is re-opened at the resume offset (its committed part is neither
 * read nor parsed); a compressed or transcoded one is read and decoded, but the committed part is
 * dropped before parsing.
 */
import type { Encoding } from '../source/open.js';
import type { SourceFile } from '../source/discover.js';
import type { Fingerprint } from '../source/fingerprint.js';
import { openSource, utf8BomLength, wrapReadError, type OpenedSource } from '../source/open.js';

export class SourceReader {
  private source: OpenedSource;
  private chunks: AsyncIterator<Buffer>;
  /** Decoded bytes still to drop (resume without a seek). */
  private skip = 0;
  /** Whether every byte of the file goes through this reader (only then is the digest its fingerprint). */
  private whole = true;

  constructor(
    private readonly file: SourceFile,
    private readonly encoding: Encoding,
  ) {
    // A small plain file is read in one piece no larger than itself: a 256 KiB buffer for each of
    // thousands of small files was most of what the garbage collector did (2,000 files × 100 rows).
    const highWaterMark = file.gzip ? undefined : Math.min(256 * 1024, Math.max(16 * 1024, file.size + 1));
    this.source = openSource(file.path, { gzip: file.gzip, encoding, highWaterMark });
    this.chunks = this.source.stream[Symbol.asyncIterator]() as AsyncIterator<Buffer>;
  }

  /** Bytes read from disk (for a resumed plain file, counted from the start of the file). */
  get bytesRead(): number {
    return this.source.progress.bytesRead;
  }

  /**
   * Goes on at decoded byte `offset`, given that the bytes handed out so far end at decoded
   * position `at` with `pending` still unparsed. Returns what of `pending` is to be parsed.
   */
  async resumeAt(offset: number, at: number, pending: Buffer): Promise<{ rest: Buffer; seek: boolean }> {
    const pendingStart = at - pending.length;
    if (offset < pendingStart) throw new Error(`cannot resume at ${offset}: bytes from ${pendingStart} were already parsed`);
    if (offset <= at) return { rest: pending.subarray(offset - pendingStart), seek: false };
    if (!this.file.gzip && this.encoding === 'utf8') {
      const bom = await utf8BomLength(this.file.path);
      this.source.stream.destroy();
      this.source = openSource(this.file.path, { gzip: false, encoding: 'utf8', start: offset + bom });
      this.chunks = this.source.stream[Symbol.asyncIterator]() as AsyncIterator<Buffer>;
      this.whole = false;
      return { rest: Buffer.alloc(0), seek: true };
    }
    this.skip = offset - at;
    return { rest: Buffer.alloc(0), seek: false };
  }

  /**
   * The next decoded chunk. With `flushMs`, `onQuiet` runs when the file stays quiet that long (a
   * partial batch is flushed, so a slowly written file still commits as it goes).
   */
  async next(flushMs: number | undefined, onQuiet: () => Promise<void>): Promise<IteratorResult<Buffer>> {
    for (;;) {
      const r = await this.read(flushMs, onQuiet);
      if (r.done || this.skip === 0) return r;
      if (r.value.length <= this.skip) {
        this.skip -= r.value.length;
        continue;
      }
      const rest = r.value.subarray(this.skip);
      this.skip = 0;
      return { done: false, value: rest };
    }
  }

  private async read(flushMs: number | undefined, onQuiet: () => Promise<void>): Promise<IteratorResult<Buffer>> {
    const next = this.chunks.next().catch((err: unknown) => {
      throw wrapReadError(err as Error, this.file.path);
    });
    if (flushMs === undefined) return next;
    let timer: NodeJS.Timeout | undefined;
    const quiet = new Promise<'quiet'>((resolve) => (timer = setTimeout(() => resolve('quiet'), flushMs)));
    const first = await Promise.race([next, quiet]);
    clearTimeout(timer);
    if (first !== 'quiet') return first;
    await onQuiet();
    return next;
  }

  /** What was read, when the whole file was (a resumed plain file was not: its size and mtime vouch for it). */
  fingerprint(): Fingerprint | undefined {
    return this.whole ? { bytes: this.source.progress.bytesRead, sha256: this.source.digest() } : undefined;
  }

  close(): void {
    this.source.stream.destroy();
  }
}
