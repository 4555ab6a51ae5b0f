/**
 * One connection for one short command (`status`, `history`, `rejects`, `sql`): connect, bring the
 * schema up to date, run, disconnect.
 *
 * A connection the server drops while it is idle between two queries (a restart, an admin kill)
 * emits 'error', an uncaught exception where nobody listens. Here it is observed, and if the command
 * then fails, it fails with the server's own error (say 57P01 "terminating connection due to
 * administrator command") rather than pg's "not queryable".
 */
import pg from 'pg';
import { APPLICATION_NAME } from './budget.js';
import { migrate } from './migrate.js';

export async function withSession<T>(url: string, fn: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: url, application_name: APPLICATION_NAME });
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
