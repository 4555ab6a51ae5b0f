/**
 * Global crash capture, written once. The CLI installs it for uncaughtException and
 * unhandledRejection: it logs a single structured record (with the stack) on stderr and runs the
 * registered hooks, such as recording the crash in the run history, for at most a few seconds;
 * then the CLI's `exit` ends the process with 70. A second crash meanwhile exits at once.
 */
import { errorCode, type ImporterError } from '../errors.js';
import { EXIT } from '../errors.js';

type Hook = (err: Error) => Promise<void>;

const hooks = new Set<Hook>();

/** Exit code of a crash (EX_SOFTWARE). */
export const CRASH_EXIT_CODE = EXIT.crashed;

/** Registers a hook to run on a crash; returns the way to remove it. */
export function onCrash(hook: Hook): () => void {
  hooks.add(hook);
  return () => hooks.delete(hook);
}

export async function runCrashHooks(err: Error, timeoutMs = 3000): Promise<void> {
  await Promise.race([Promise.allSettled([...hooks].map((h) => h(err))), new Promise((r) => setTimeout(r, timeoutMs).unref())]);
}

/** Installs the handlers; `exit` (the CLI's process.exit) is called with CRASH_EXIT_CODE. Returns the way to remove them. */
export function installCrashCapture(exit: (code: number) => void): () => void {
  let crashed = false;
  const crash = (kind: string) => (err: unknown) => {
    const e = err instanceof Error ? err : new Error(String(err));
    process.stderr.write(
      JSON.stringify({ level: 60, time: Date.now(), msg: `importer: ${kind}`, code: errorCode(err), err: e.message, stack: e.stack, context: (err as ImporterError).context }) + '\n',
    );
    if (crashed) exit(CRASH_EXIT_CODE);
    crashed = true;
    void runCrashHooks(e).finally(() => exit(CRASH_EXIT_CODE));
  };
  const onException = crash('uncaught exception');
  const onRejection = crash('unhandled rejection');
  process.on('uncaughtException', onException);
  process.on('unhandledRejection', onRejection);
  return () => {
    process.off('uncaughtException', onException);
    process.off('unhandledRejection', onRejection);
  };
}
