/**
 * LISTEN on the progress channel with reconnect: a dropped connection (server restart, admin kill)
 * is logged and opened again a second later, until `stop()`. Payloads are validated
 * (dashboard/progress.ts) before `onMessage` sees them.
 */
import type pg from 'pg';
import type { Logger } from 'pino';
import { openClient } from '../db/pool.js';
import { PROGRESS_CHANNEL, type ProgressMessage } from '../observability/publish.js';
import { parseProgress } from './progress.js';

export interface ProgressListener {
  stop(): Promise<void>;
}

const RECONNECT_MS = 1000;

export async function listenProgress(url: string, log: Logger, onMessage: (m: ProgressMessage) => void): Promise<ProgressListener> {
  let client: pg.Client | undefined;
  let stopping = false;
  let retry: NodeJS.Timeout | undefined;
  let dropped = 0;
  const connect = async (): Promise<void> => {
    const c = openClient(url, 'utc');
    c.on('notification', (n) => {
      const m = parseProgress(n.payload);
      if (m) onMessage(m);
      else if (dropped++ % 100 === 0) log.warn({ channel: n.channel, dropped }, 'dashboard dropped a progress message that is not one an importer sends');
    });
    c.on('error', (err) => {
      log.warn({ err: err.message }, 'dashboard LISTEN connection lost; reconnecting');
      client = undefined;
      void c.end().catch(() => undefined);
      if (!stopping) retry = setTimeout(() => void connect().catch(() => undefined), RECONNECT_MS);
    });
    await c.connect();
    await c.query(`LISTEN ${PROGRESS_CHANNEL}`);
    client = c;
  };
  await connect();
  return {
    async stop() {
      stopping = true;
      clearTimeout(retry);
      await client?.end().catch(() => undefined);
    },
  };
}
