/**
 * Opens a source file as a stream of UTF-8 bytes: read → gunzip (.gz) → decode (charset, BOM).
 * `progress.bytesRead` counts bytes read from disk, so percent-done works for compressed files too,
 * and `digest()` hashes them, so a load can tell whether it read the bytes that were claimed.
 */
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { open } from 'node:fs/promises';
import { PassThrough, Transform, type Readable, pipeline } from 'node:stream';
import { createGunzip } from 'node:zlib';
import iconv from 'iconv-lite';
import { ImporterError } from '../errors.js';

export interface OpenedSource {
  readonly stream: Readable;
  readonly progress: { bytesRead: number };
  /** The sha256 of the bytes read from disk so far (call once, at the end). */
  digest(): string;
}

/** The charsets a file may be in (csv.encoding); all but utf8 are transcoded with iconv-lite. */
export const ENCODINGS = ['utf8', 'latin1', 'windows-1252', 'utf16le'] as const;
export type Encoding = (typeof ENCODINGS)[number];

const ICONV_NAMES: Record<Exclude<Encoding, 'utf8'>, string> = {
  latin1: 'latin1',
  'windows-1252': 'win1252',
  utf16le: 'utf16le',
};

/** Strips a UTF-8 byte order mark at the very start of the stream. */
function stripUtf8Bom(): Transform {
  let first = true;
  return new Transform({
    transform(chunk: Buffer, _enc, cb) {
      if (first) {
        first = false;
        if (chunk.length >= 3 && chunk[0] === 0xef && chunk[1] === 0xbb && chunk[2] === 0xbf) chunk = chunk.subarray(3);
      }
      cb(null, chunk);
    },
  });
}

/** Re-encodes a decoded charset to UTF-8 bytes. */
function toUtf8(encoding: Exclude<Encoding, 'utf8'>): Transform {
  const decoder = iconv.getDecoder(ICONV_NAMES[encoding], { stripBOM: true });
  return new Transform({
    transform(chunk: Buffer, _enc, cb) {
      const s = decoder.write(chunk);
      cb(null, s ? Buffer.from(s, 'utf8') : undefined);
    },
    flush(cb) {
      const s = decoder.end();
      cb(null, s ? Buffer.from(s, 'utf8') : undefined);
    },
  });
}

/**
 * `start` (plain UTF-8 files only) reads from that byte on, past a part already loaded; the BOM check
 * and the digest then do not apply.
 */
export function openSource(file: string, opts: { gzip: boolean; encoding: Encoding; highWaterMark?: number; start?: number }): OpenedSource {
  const start = opts.start ?? 0;
  const progress = { bytesRead: start };
  const input = createReadStream(file, { highWaterMark: opts.highWaterMark ?? 256 * 1024, start });
  const hash = createHash('sha256');
  input.on('data', (c: Buffer | string) => {
    progress.bytesRead += c.length;
    hash.update(c as Buffer);
  });
  const stages: NodeJS.ReadWriteStream[] = [];
  if (opts.gzip) {
    const gunzip = createGunzip();
    stages.push(gunzip);
  }
  if (start === 0 || opts.encoding !== 'utf8') stages.push(opts.encoding === 'utf8' ? stripUtf8Bom() : toUtf8(opts.encoding));
  else stages.push(new PassThrough());
  const out = (pipeline as unknown as (...s: unknown[]) => Readable)(input, ...stages, (err: Error | null) => {
    if (err) out.destroy(wrapReadError(err, file));
  });
  return { stream: out, progress, digest: () => hash.digest('hex') };
}

/** 3 when a UTF-8 file starts with a byte order mark (which the decoded stream drops), else 0. */
export async function utf8BomLength(file: string): Promise<number> {
  const fh = await open(file, 'r');
  try {
    const { bytesRead, buffer } = await fh.read(Buffer.alloc(3), 0, 3, 0);
    return bytesRead === 3 && buffer[0] === 0xef && buffer[1] === 0xbb && buffer[2] === 0xbf ? 3 : 0;
  } finally {
    await fh.close();
  }
}

export function wrapReadError(err: Error, file: string): Error {
  if (err instanceof ImporterError) return err;
  const code = (err as { code?: string }).code;
  if (code === 'Z_BUF_ERROR' || code === 'Z_DATA_ERROR' || /unexpected end of file/i.test(err.message)) {
    return new ImporterError('SOURCE_GZIP_INVALID', `${file}: the gzip data is truncated or corrupt (${err.message})`, { file }, { cause: err });
  }
  return new ImporterError('SOURCE_READ_FAILED', `${file}: cannot be read: ${err.message}`, { file }, { cause: err });
}
