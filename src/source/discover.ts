/** Lists the files of a job type: those under its source folder that match its glob, in name order. */
import { readdir, realpath, stat } from 'node:fs/promises';
import path from 'node:path';
import picomatch from 'picomatch';
import { ImporterError } from '../errors.js';

export interface SourceFile {
  /** Absolute, resolved path. */
  readonly path: string;
  /** Path relative to the source folder, as matched by the pattern. */
  readonly relative: string;
  readonly size: number;
  /** Last modification, as stat saw it at discovery. */
  readonly mtimeMs: number;
  readonly gzip: boolean;
}

async function walk(dir: string, rel: string, out: string[], deep: boolean): Promise<void> {
  const entries = await readdir(path.join(dir, rel), { withFileTypes: true });
  for (const e of entries) {
    const r = rel ? `${rel}/${e.name}` : e.name;
    if (e.isDirectory()) {
      if (deep) await walk(dir, r, out, deep);
    } else if (e.isFile() || e.isSymbolicLink()) {
      out.push(r);
    }
  }
}

export async function discoverFiles(dir: string, pattern: string): Promise<SourceFile[]> {
  let root: string;
  try {
    root = await realpath(dir);
    if (!(await stat(root)).isDirectory()) throw new Error('not a directory');
  } catch (err) {
    throw new ImporterError('SOURCE_NOT_FOUND', `source folder ${dir} does not exist or is not a folder`, { dir }, { cause: err });
  }
  const match = picomatch(pattern, { dot: false });
  const candidates: string[] = [];
  await walk(root, '', candidates, pattern.includes('/') || pattern.includes('**'));
  const files: SourceFile[] = [];
  for (const rel of candidates.filter((c) => match(c)).sort()) {
    const abs = path.join(root, rel);
    // A symlink may point anywhere: only follow it when it stays inside the source folder.
    const real = await realpath(abs).catch(() => undefined);
    if (!real || (real !== root && !real.startsWith(root + path.sep))) continue;
    const st = await stat(real);
    if (!st.isFile()) continue;
    files.push({ path: abs, relative: rel, size: st.size, mtimeMs: st.mtimeMs, gzip: /\.gz$/i.test(rel) });
  }
  return files;
}
