/**
 * Opens the database a command uses: the URL the CLI chose (db/serverChoice.ts: --database-url,
 * DATABASE_URL or the PG* variables), checked at once by one connection (db/probe.ts), or the
 * embedded server.
 */
import type { Logger } from 'pino';
import { startEmbedded } from './embedded.js';
import { DEFAULT_CONNECT_TIMEOUT_MS, probeConnection } from './probe.js';

export interface Database {
  readonly url: string;
  /** The URL with its password masked, safe to print. */
  readonly display: string;
  readonly embedded: boolean;
  /** What chose the server: `--database-url`, `DATABASE_URL`, the PG* variables set, or `embedded`. */
  readonly chosenBy: string;
  /** Releases what was started (stops an embedded server this process owns). */
  close(): Promise<void>;
}

export function maskUrl(url: string): string {
  try {
    const u = new URL(url);
    if (u.password) u.password = '****';
    return u.toString();
  } catch {
    return url.replace(/:[^:@/]*@/, ':****@');
  }
}

export interface OpenDatabaseOptions {
  readonly url?: string | undefined;
  /** @default '--database-url' with a URL, else 'embedded' */
  readonly chosenBy?: string | undefined;
  readonly dataDir: string;
  readonly logger: Logger;
  /** How long a server that refuses or does not answer is tried at start. @default 10000; 0 skips the check */
  readonly connectTimeoutMs?: number | undefined;
}

export async function openDatabase(opts: OpenDatabaseOptions): Promise<Database> {
  if (opts.url) {
    const chosenBy = opts.chosenBy ?? '--database-url';
    const display = maskUrl(opts.url);
    const timeoutMs = opts.connectTimeoutMs ?? DEFAULT_CONNECT_TIMEOUT_MS;
    if (timeoutMs > 0) await probeConnection(opts.url, { display: `${display} (from ${chosenBy})`, timeoutMs, logger: opts.logger });
    return { url: opts.url, display, embedded: false, chosenBy, close: async () => undefined };
  }
  const server = await startEmbedded(opts.dataDir, opts.logger);
  return { url: server.url, display: `${maskUrl(server.url)} (embedded, data in ${opts.dataDir})`, embedded: true, chosenBy: 'embedded', close: () => server.stop() };
}

/** The start-up line: which server, and what chose it. */
export function startupLine(db: Database): string {
  return db.embedded ? `database: ${db.display} (no --database-url, DATABASE_URL or PG* variable chose a server)` : `database: ${db.display} (from ${db.chosenBy})`;
}
