/**
 * A file's identity in the ledger: the sha256 of its bytes as stored (compressed files hash
 * compressed), and whether it stayed the same while it was read.
 */
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { readFile, stat } from 'node:fs/promises';
import type { SourceFile } from './discover.js';

export interface Fingerprint {
  readonly sha256: string;
  /** Bytes hashed. */
  readonly bytes: number;
}

/** Files up to this size are hashed from one read: a stream costs more than the hashing for thousands of small files. */
const ONE_READ_BYTES = 1024 * 1024;

/** `size` (the size discovered), when given and small, lets a small file be hashed in one read. */
export async function sha256File(file: string, size?: number): Promise<Fingerprint> {
  if (size !== undefined && size <= ONE_READ_BYTES) {
    const bytes = await readFile(file);
    return { sha256: createHash('sha256').update(bytes).digest('hex'), bytes: bytes.length };
  }
  const hash = createHash('sha256');
  let bytes = 0;
  for await (const chunk of createReadStream(file, { highWaterMark: 1024 * 1024 })) {
    hash.update(chunk as Buffer);
    bytes += (chunk as Buffer).length;
  }
  return { sha256: hash.digest('hex'), bytes };
}

/**
 * Why a file is not what it was when it was discovered and hashed (its size, its modification time,
 * or the bytes read while loading it), or undefined when it is unchanged. Exporters often write files
 * in place: a file that changes while it loads must not be recorded under the hash of other bytes.
 */
export async function changedSince(file: SourceFile, claimed: Fingerprint, read?: Fingerprint): Promise<string | undefined> {
  const st = await stat(file.path).catch(() => undefined);
  if (!st) return 'the file disappeared';
  if (st.size !== file.size || claimed.bytes !== file.size) return `its size changed from ${file.size} to ${st.size} bytes`;
  if (st.mtimeMs !== file.mtimeMs) return 'it was modified';
  if (read && (read.bytes !== claimed.bytes || read.sha256 !== claimed.sha256)) return 'the bytes read differ from the bytes hashed';
  return undefined;
}
