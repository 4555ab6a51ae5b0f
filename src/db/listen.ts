/**
 * LISTEN on one channel with reconnect: a dropped connection (server restart, admin kill) is
 * reported and opened again after `reconnectMs`, until `stop()`. Payloads are handed on as text;
 * whoever listens validates them (any role may NOTIFY any channel).
 */
import type pg from 'pg';
import { openClient } from './pool.js';
import { ident } from './sql.js';

export interface Listening {
  stop(): Promise<void>;
}

export interface ListenOptions {
  readonly onPayload: (payload: string | undefined) => void;
  /** The connection was lost; a new one is opened after `reconnectMs`. */
  readonly onLost: (err: Error) => void;
  /** @default 1000 */
  readonly reconnectMs?: number;
}

export async function listen(url: string, channel: string, opts: ListenOptions): Promise<Listening> {
  let client: pg.Client | undefined;
  let stopping = false;
  let retry: NodeJS.Timeout | undefined;
  const connect = async (): Promise<void> => {
    const c = openClient(url, 'utc');
    c.on('notification', (n) => opts.onPayload(n.payload));
    c.on('error', (err) => {
      opts.onLost(err);
      client = undefined;
      void c.end().catch(() => undefined);
      if (!stopping) retry = setTimeout(() => void connect().catch(() => undefined), opts.reconnectMs ?? 1000);
    });
    await c.connect();
    await c.query(`LISTEN ${ident(channel)}`);
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
