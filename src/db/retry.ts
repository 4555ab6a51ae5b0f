/**
 * Retries transient database errors with exponential backoff and full jitter until a deadline.
 * Classification is by SQLSTATE (and Node's socket error codes), never by message text, except for
 * the few errors node-postgres raises without a code when a connection drops.
 */
import type { Logger } from 'pino';
import { ImporterError } from '../errors.js';

const TRANSIENT_SQLSTATES = new Set(['57P01', '57P02', '57P03', '53300', '53400', '40001', '40P01', '55P03']);
const TRANSIENT_NODE_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'EPIPE', 'ETIMEDOUT', 'EHOSTUNREACH', 'ENOTFOUND', 'EAI_AGAIN']);

export function isTransient(err: unknown): boolean {
  if (err instanceof ImporterError) return false;
  const code = (err as { code?: unknown })?.code;
  if (typeof code === 'string') {
    if (code.startsWith('08')) return true;
    return TRANSIENT_SQLSTATES.has(code) || TRANSIENT_NODE_CODES.has(code);
  }
  // node-postgres raises these without a code when the socket goes away.
  return (
    err instanceof Error &&
    /Connection terminated|Connection ended|not queryable|timeout exceeded when trying to connect|the database system is (starting up|shutting down)/i.test(err.message)
  );
}

/**
 * Errors that no retry and no restart can fix: the role lacks a privilege or cannot log in, an
 * object or column is missing, the statement is wrong for the server (class 42), the database does
 * not exist (3D000), or the server's disk is full (53100, for the file at hand).
 */
export function isPermanent(err: unknown): boolean {
  const code = (err as { code?: unknown })?.code;
  if (typeof code !== 'string' || !/^[0-9A-Z]{5}$/.test(code)) return false;
  return code.startsWith('42') || code.startsWith('28') || code === '3D000' || code === '53100';
}

export interface RetryPolicy {
  /** Give up once this many milliseconds have passed since the first failure. */
  readonly deadlineMs: number;
  readonly baseMs: number;
  readonly maxDelayMs: number;
}

export const DEFAULT_RETRY: RetryPolicy = { deadlineMs: 5 * 60_000, baseMs: 200, maxDelayMs: 10_000 };

export function backoffDelay(attempt: number, policy: RetryPolicy, random: () => number = Math.random): number {
  const ceiling = Math.min(policy.maxDelayMs, policy.baseMs * 2 ** attempt);
  return Math.round(ceiling / 2 + (random() * ceiling) / 2);
}

/** Runs `fn`, retrying transient failures. Permanent errors and the deadline end it. */
export async function withRetry<T>(
  what: string,
  fn: (attempt: number) => Promise<T>,
  policy: RetryPolicy,
  logger: Logger,
  signal?: AbortSignal,
): Promise<T> {
  let firstFailure: number | undefined;
  for (let attempt = 0; ; attempt++) {
    try {
      return await fn(attempt);
    } catch (err) {
      if (!isTransient(err) || signal?.aborted) throw err;
      firstFailure ??= Date.now();
      const elapsed = Date.now() - firstFailure;
      if (elapsed >= policy.deadlineMs) {
        throw new ImporterError(
          'DB_TRANSIENT',
          `${what}: the database stayed unavailable for ${Math.round(elapsed / 1000)}s (--retry-deadline): ${(err as Error).message}`,
          { attempts: attempt + 1 },
          { cause: err },
        );
      }
      const delay = Math.min(backoffDelay(attempt, policy), policy.deadlineMs - elapsed);
      logger.warn({ err: (err as Error).message, code: (err as { code?: string }).code, attempt: attempt + 1, delayMs: delay }, `${what}: transient database error, retrying`);
      await new Promise((r) => setTimeout(r, delay));
    }
  }
}
