/**
 * Ends a pg.Pool and waits until every connection it held is closed.
 *
 * `pool.end()` resolves as soon as its clients are taken off the pool's lists, before their sockets
 * close; each client keeps the pool's idle-error listener until then. Whatever stops the server or
 * drops the database next (an embedded server's stop, `DROP DATABASE … WITH (FORCE)`) can reach a
 * backend that has not yet read the Terminate message: the server answers FATAL 57P01, and the pool
 * re-emits it as its own 'error' event, an uncaught exception wherever the pool has no listener.
 * pg-pool emits 'remove' for a client once `client.end()` has finished, so we wait for as many of
 * those as the pool held clients. (A client already on its way out by idle timeout is no longer
 * counted but may still emit 'remove'; that can end the wait one close early, never hang it.)
 */
import type pg from 'pg';

export async function closePool(pool: pg.Pool): Promise<void> {
  const open = pool.totalCount;
  if (open === 0) {
    await pool.end();
    return;
  }
  let removed = 0;
  const closed = new Promise<void>((resolve) => {
    const onRemove = () => {
      if (++removed < open) return;
      pool.off('remove', onRemove);
      resolve();
    };
    pool.on('remove', onRemove);
  });
  await pool.end();
  await closed;
}
