/**
 * Fault injection for the supervision tests, like a database's failpoints. Off unless the
 * IMPORTER_FAULT environment variable names a job type:
 *   IMPORTER_FAULT=orders:throw            the worker throws when it starts (restart policy)
 *   IMPORTER_FAULT=orders:exit             the process exits (code 70) when the worker starts
 *   IMPORTER_FAULT=orders:abort            the process aborts when the worker starts
 *   IMPORTER_FAULT=orders:throw-on-record:5  processing throws on the 5th record of each file
 *   IMPORTER_FAULT=orders:uncaught         an exception escapes every handler (global crash capture)
 *   IMPORTER_FAULT=orders:thread-exit      a parse thread exits when it gets a piece of an orders file
 */
export interface Fault {
  readonly jobType: string;
  readonly kind: 'throw' | 'exit' | 'abort' | 'throw-on-record' | 'uncaught' | 'thread-exit';
  readonly record: number;
}

export function faultFor(jobType: string, env: NodeJS.ProcessEnv = process.env): Fault | undefined {
  const spec = env.IMPORTER_FAULT;
  if (!spec) return undefined;
  for (const part of spec.split(',')) {
    const [name, kind, arg] = part.split(':');
    if (name !== jobType) continue;
    if (kind === 'throw' || kind === 'exit' || kind === 'abort' || kind === 'throw-on-record' || kind === 'uncaught' || kind === 'thread-exit') {
      return { jobType: name, kind, record: Number(arg ?? 1) };
    }
  }
  return undefined;
}

/** Called when a job type's worker starts. */
export function injectStartFault(jobType: string): void {
  const f = faultFor(jobType);
  if (!f) return;
  if (f.kind === 'throw') throw new Error(`injected fault: ${jobType} worker crashed (IMPORTER_FAULT)`);
  if (f.kind === 'exit') process.exit(70);
  if (f.kind === 'abort') process.abort();
  if (f.kind === 'uncaught') {
    setTimeout(() => {
      throw new Error(`injected fault: uncaught exception in ${jobType} (IMPORTER_FAULT)`);
    }, 0);
  }
}
