/**
 * Fail fast at start: before any work, connect once. A server that was never there is not an
 * outage: an unknown host (ENOTFOUND), a refused login (28P01, 28000) and a missing database
 * (3D000) end the command at once; a refused connection, a timeout and a server still starting
 * (57P03) are retried for `--connect-timeout` only. The retry with backoff for `--retry-deadline`
 * (db/retry.ts) is for connections lost in the middle of a run.
 */
import type { Logger } from 'pino';
import pg from 'pg';
import { ImporterError } from '../errors.js';
import { APPLICATION_NAME } from './pool.js';

/** @default 10 s, the `--connect-timeout` default. */
export const DEFAULT_CONNECT_TIMEOUT_MS = 10_000;

const AT_ONCE_SQLSTATES: Readonly<Record<string, string>> = {
  '28P01': 'check the user name and the password (PGPASSWORD, PGPASSFILE or ~/.pgpass, or the URL)',
  '28000': 'check the user name, that the role may log in, and pg_hba.conf on the server',
  '3D000': 'check the database name, or create the database',
};
const AT_ONCE_NODE: Readonly<Record<string, string>> = {
  ENOTFOUND: 'check the host name',
  EAI_NONAME: 'check the host name',
};
const RETRIED = new Set(['ECONNREFUSED', 'ETIMEDOUT', 'EHOSTUNREACH', 'ENETUNREACH', 'ECONNRESET', 'EAI_AGAIN', '57P03', '53300']);

export type ProbeVerdict = 'fatal' | 'retry';

/** How a failed first connection is treated. Unknown errors are retried (then reported) like an outage. */
export function classifyConnectError(err: unknown): ProbeVerdict {
  const code = (err as { code?: unknown })?.code;
  if (typeof code === 'string') {
    if (code in AT_ONCE_SQLSTATES || code in AT_ONCE_NODE) return 'fatal';
    if (code.startsWith('28') || code.startsWith('42')) return 'fatal';
    if (RETRIED.has(code)) return 'retry';
  }
  return 'retry';
}

function hint(err: unknown, where: string): string {
  const code = (err as { code?: unknown })?.code;
  if (typeof code === 'string') {
    if (AT_ONCE_SQLSTATES[code]) return AT_ONCE_SQLSTATES[code];
    if (AT_ONCE_NODE[code]) return AT_ONCE_NODE[code];
  }
  return `check that the server runs and accepts connections at ${where}`;
}

/** host:port (or socket folder) of a connection string, without user or password. */
export function serverAddress(url: string): string {
  const p = new pg.Client({ connectionString: url }) as unknown as { host: string; port: number };
  return `${p.host}:${p.port}`;
}

function describe(err: unknown): string {
  const e = err as { code?: string; message?: string };
  const msg = e?.message || (err instanceof AggregateError ? err.errors.map((x: Error) => x.message).join('; ') : String(err));
  return e?.code && !msg.includes(e.code) ? `${msg} (${e.code})` : msg;
}

export interface ProbeOptions {
  /** Safe to print: the masked URL and what chose it. */
  readonly display: string;
  readonly timeoutMs: number;
  readonly logger: Logger;
}

/** Connects once (and again while the failure may heal, up to `timeoutMs`); throws DB_CONNECT_FAILED. */
export async function probeConnection(url: string, opts: ProbeOptions): Promise<void> {
  const started = Date.now();
  const where = serverAddress(url);
  for (let attempt = 1; ; attempt++) {
    const left = opts.timeoutMs - (Date.now() - started);
    const client = new pg.Client({ connectionString: url, application_name: APPLICATION_NAME, connectionTimeoutMillis: Math.max(1000, left) });
    try {
      await client.connect();
      await client.end().catch(() => undefined);
      if (attempt > 1) opts.logger.info({ attempts: attempt }, `database reachable after ${attempt} attempts`);
      return;
    } catch (err) {
      await client.end().catch(() => undefined);
      const verdict = classifyConnectError(err);
      const elapsed = Date.now() - started;
      if (verdict === 'fatal' || elapsed >= opts.timeoutMs) {
        const after = verdict === 'fatal' ? '' : ` for ${Math.round(elapsed / 1000)} s (--connect-timeout, ${attempt} attempts)`;
        throw new ImporterError(
          'DB_CONNECT_FAILED',
          `cannot connect to ${opts.display}${after}: ${describe(err)}; ${hint(err, where)}`,
          { server: where, attempts: attempt, sqlstate: (err as { code?: string }).code },
          { cause: err },
        );
      }
      const delay = Math.min(1000, 100 * 2 ** (attempt - 1), Math.max(0, opts.timeoutMs - elapsed));
      opts.logger.warn({ attempt, code: (err as { code?: string }).code, delayMs: delay }, `cannot connect to ${where} yet, retrying for up to ${Math.round(opts.timeoutMs / 1000)} s: ${describe(err)}`);
      await new Promise((r) => setTimeout(r, delay));
    }
  }
}
