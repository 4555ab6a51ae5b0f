/**
 * The process exit codes, written once. The CLI exits with them; whoever runs `importer` as a child
 * (the scheduler, --isolate) reads a child's exit with them, without importing the CLI.
 *
 * 0 success; 1 a job type, file or definition failed; 2 bad usage or no valid definition; 70 a
 * crash; 128 + N stopped by signal N (SIGINT 130, SIGTERM 143).
 */
export const EXIT = { ok: 0, failed: 1, usage: 2, crash: 70 } as const;

const SIGNAL_NUMBERS: Readonly<Partial<Record<NodeJS.Signals, number>>> = { SIGINT: 2, SIGTERM: 15 };

/** 128 + the signal's number (SIGINT 130, SIGTERM 143). */
export function signalExitCode(sig: NodeJS.Signals): number {
  return 128 + (SIGNAL_NUMBERS[sig] ?? 15);
}

/** True for the exit code of a process stopped gracefully by SIGINT or SIGTERM. */
export function isSignalExitCode(code: number | null): boolean {
  return code === signalExitCode('SIGINT') || code === signalExitCode('SIGTERM');
}
