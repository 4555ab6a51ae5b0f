/** Runs the real CLI as a child process, the way an operator does. */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, writeFile, mkdir } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';

export const ROOT = path.resolve(import.meta.dirname, '..', '..');
export const BIN = path.join(ROOT, 'bin', 'importer.js');
export const FIXTURES = path.join(ROOT, 'fixtures');

export interface CliResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

export function startCli(args: string[], opts: { env?: Record<string, string | undefined>; cwd?: string } = {}): { child: ChildProcess; done: Promise<CliResult> } {
  // Only a test's own env chooses a server by the libpq variables, never the machine's.
  const inherited: Record<string, string | undefined> = { ...process.env };
  for (const v of ['PGHOST', 'PGHOSTADDR', 'PGPORT', 'PGDATABASE', 'PGUSER', 'PGSERVICE']) delete inherited[v];
  const env: Record<string, string | undefined> = { ...inherited, ...opts.env };
  for (const k of Object.keys(env)) if (env[k] === undefined) delete env[k];
  const child = spawn(process.execPath, [BIN, ...args], { cwd: opts.cwd ?? ROOT, env: env as NodeJS.ProcessEnv, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout!.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
  const done = new Promise<CliResult>((resolve) => child.on('close', (code, signal) => resolve({ code, signal, stdout, stderr })));
  return { child, done };
}

export function runCli(args: string[], opts: { env?: Record<string, string | undefined>; cwd?: string } = {}): Promise<CliResult> {
  return startCli(args, opts).done;
}

/** A temporary folder with job type definitions written from the given YAML texts. */
export async function jobtypesDir(defs: Record<string, string>): Promise<string> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'importer-jobtypes-'));
  await mkdir(dir, { recursive: true });
  for (const [file, text] of Object.entries(defs)) await writeFile(path.join(dir, file), text);
  return dir;
}

export async function tempDir(prefix = 'importer-data-'): Promise<string> {
  return mkdtemp(path.join(os.tmpdir(), prefix));
}
