/**
 * Global crash capture. The CLI installs one handler for uncaughtException and unhandledRejection;
 * it logs a single structured record (with the stack) and runs the registered hooks, such as
 * recording the crash in the run history, for at most a few seconds before the process exits 70.
 */
type Hook = (err: Error) => Promise<void>;

const hooks = new Set<Hook>();

/** Registers a hook to run on a crash; returns the way to remove it. */
export function onCrash(hook: Hook): () => void {
  hooks.add(hook);
  return () => hooks.delete(hook);
}

export async function runCrashHooks(err: Error, timeoutMs = 3000): Promise<void> {
  await Promise.race([Promise.allSettled([...hooks].map((h) => h(err))), new Promise((r) => setTimeout(r, timeoutMs).unref())]);
}
