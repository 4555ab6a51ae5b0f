/**
 * One job type's import in a child process (`importer run JOBTYPE`), supervised: a crash (exit code
 * other than 0, 1 or 2, or a signal) is restarted with backoff under the job type's restart
 * policy. Used by the scheduler for every fire, and by `importer run --isolate`.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Logger } from 'pino';
import { EXIT, isSignalExitCode } from '../errors.js';
import type { JobType } from '../jobtypes/normalize.js';
import { restartPolicy } from './restartPolicy.js';

/** bin/importer.js of this package, found upwards (from dist/src/supervisor when built, src/supervisor under a test runner). */
function findBin(): string {
  for (let dir = path.dirname(fileURLToPath(import.meta.url)); ; dir = path.dirname(dir)) {
    const bin = path.join(dir, 'bin', 'importer.js');
    if (existsSync(bin)) return bin;
    if (dir === path.dirname(dir)) return path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..', '..', 'bin', 'importer.js');
  }
}

export const BIN = findBin();

export interface ChildOptions {
  readonly jobtypesDir: string;
  readonly databaseUrl: string;
  readonly dataDir: string;
  readonly maxConnections: number;
  readonly trigger: string;
  readonly extraArgs?: readonly string[];
  /** Every child started, so that the owner can signal them on shutdown. */
  readonly children: Set<ChildProcess>;
  readonly stopping: () => boolean;
}

export interface ChildOutcome {
  status: 'succeeded' | 'failed' | 'interrupted';
  restarts: number;
  exitCode: number | null;
  error?: string;
  /** stdout of the last attempt (the JSON report when --json was passed). */
  stdout: string;
}

function runOnce(jt: JobType, o: ChildOptions): Promise<{ code: number | null; signal: NodeJS.Signals | null; stdout: string }> {
  const args = [
    BIN,
    'run',
    jt.name,
    '--jobtypes',
    o.jobtypesDir,
    '--max-connections',
    String(o.maxConnections),
    '--jobs',
    '1',
    '--trigger',
    o.trigger,
    '--data-dir',
    o.dataDir,
    ...(o.extraArgs ?? []),
  ];
  const child = spawn(process.execPath, args, { env: { ...process.env, DATABASE_URL: o.databaseUrl, IMPORTER_CHILD: '1' }, stdio: ['ignore', 'pipe', 'inherit'] });
  o.children.add(child);
  let stdout = '';
  child.stdout!.on('data', (d: Buffer) => (stdout += d.toString()));
  return new Promise((resolve) => {
    child.on('close', (code, signal) => {
      o.children.delete(child);
      resolve({ code, signal, stdout });
    });
  });
}

export async function runSupervisedChild(jt: JobType, o: ChildOptions, log: Logger): Promise<ChildOutcome> {
  const policy = restartPolicy(jt.restart);
  for (;;) {
    const restarts = policy.restarts;
    const { code, signal, stdout } = await runOnce(jt, o);
    // ok: done; failed: files or definitions failed (recorded in the ledger; a restart would not help); usage.
    if (code === EXIT.ok || code === EXIT.failed || code === EXIT.usage) return { status: code === EXIT.ok ? 'succeeded' : 'failed', restarts, exitCode: code, stdout };
    const error = signal ? `import process killed by ${signal}` : `import process crashed with exit code ${code}`;
    if (o.stopping() || isSignalExitCode(code)) return { status: 'interrupted', restarts, exitCode: code, error, stdout };
    const next = policy.onFailure();
    if (!next.restart) {
      log.error({ jobType: jt.name, restarts, error }, `${jt.name}: gave up after ${restarts} restarts`);
      return { status: 'failed', restarts, exitCode: code, error, stdout };
    }
    log.warn({ jobType: jt.name, error, restart: next.attempt, delayMs: next.delayMs }, `${jt.name}: import crashed; restarting`);
    await new Promise((r) => setTimeout(r, next.delayMs));
  }
}
