/** Which database a command uses: DATABASE_URL / --database-url, or the embedded server. */
import type { Logger } from 'pino';
import { startEmbedded } from './embedded.js';

export interface Database {
  readonly url: string;
  /** The URL with its password masked, safe to print. */
  readonly display: string;
  readonly embedded: boolean;
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

export async function openDatabase(opts: { url?: string | undefined; dataDir: string; logger: Logger }): Promise<Database> {
  if (opts.url) {
    return { url: opts.url, display: maskUrl(opts.url), embedded: false, close: async () => undefined };
  }
  const server = await startEmbedded(opts.dataDir, opts.logger);
  return { url: server.url, display: `${maskUrl(server.url)} (embedded, data in ${opts.dataDir})`, embedded: true, close: () => server.stop() };
}
