/**
 * One connection for one short command (`status`, `history`, `rejects`, `sql`): connect, bring the
 * schema up to date, run, disconnect. The read model's commands ask for `utc` settings; `sql` keeps
 * the server's own (see db/pool.ts).
 *
 * A connection the server drops while it is idle between two queries (a restart, an admin kill)
 * emits 'error', an uncaught exception where nobody listens. Here it is observed, and if the command
 * then fails, it fails with the server's own error (say 57P01 "terminating connection due to
 * administrator command") rather than pg's "not queryable".
 */
import type pg from 'pg';
import { migrate } from './migrate.js';
import { openClient, type SessionSettings } from './pool.js';

export async function withSession<T>(url: string, fn: (client: pg.Client) => Promise<T>, settings: SessionSettings = 'utc'): Promise<T> {
  const client = openClient(url, settings);
  let lost: Error | undefined;
  client.on('error', (err) => {
    lost ??= err;
  });
  await client.connect();
  try {
    await migrate(client);
    return await fn(client);
  } catch (err) {
    throw lost ?? err;
  } finally {
    await client.end().catch(() => undefined);
  }
}
