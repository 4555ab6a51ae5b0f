/**
 * Graceful shutdown on signals: the first SIGINT/SIGTERM aborts, a second one or the timeout exits
 * at once with the signal's exit code (errors.ts: SIGINT 130, SIGTERM 143).
 */
import type { Logger } from 'pino';
import { signalExitCode } from '../errors.js';

export { signalExitCode } from '../errors.js';

export interface Shutdown {
  /** Aborted by the first SIGINT/SIGTERM. */
  readonly signal: AbortSignal;
  /** The signal received, if any. */
  received(): NodeJS.Signals | undefined;
  /** Resolves when the first signal arrives. */
  requested(): Promise<void>;
  dispose(): void;
}

/** Installs graceful shutdown: the first SIGINT/SIGTERM aborts, the second (or `timeoutMs` later) exits at once. */
export function shutdownSignal(logger: Logger, timeoutMs: number, onForce?: () => void): Shutdown {
  const controller = new AbortController();
  let received: NodeJS.Signals | undefined;
  let timer: NodeJS.Timeout | undefined;
  const force = (why: string, sig: NodeJS.Signals) => {
    logger.error(`${why}: exiting now`);
    onForce?.();
    process.exit(signalExitCode(sig));
  };
  const onSignal = (sig: NodeJS.Signals) => {
    if (received) force(`second ${sig}`, sig);
    received = sig;
    logger.warn(`${sig} received: finishing in-flight batches, then stopping (send it again to exit at once)`);
    timer = setTimeout(() => force(`shutdown took longer than ${timeoutMs / 1000}s`, sig), timeoutMs);
    timer.unref();
    controller.abort();
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  return {
    signal: controller.signal,
    received: () => received,
    requested: () =>
      new Promise<void>((resolve) => {
        if (controller.signal.aborted) resolve();
        else controller.signal.addEventListener('abort', () => resolve(), { once: true });
      }),
    dispose: () => {
      clearTimeout(timer);
      process.off('SIGINT', onSignal);
      process.off('SIGTERM', onSignal);
    },
  };
}
