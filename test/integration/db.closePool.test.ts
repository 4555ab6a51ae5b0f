/**
 * closePool: when it resolves, the pool's connections are closed, so the server can be stopped or
 * the database dropped at once without a late FATAL 57P01 surfacing as an uncaught pool error.
 */
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { closePool } from '../../src/db/closePool.js';
import { createTestDatabase, type TestDatabase } from '../helpers/db.js';

let db: TestDatabase;
beforeAll(async () => {
  db = await createTestDatabase('closepool');
});
afterAll(async () => {
  await db?.drop();
});

describe('db.closePool', () => {
  it('resolves only after every connection the pool opened has closed', async () => {
    const pool = new pg.Pool({ connectionString: db.url, max: 3, application_name: 'closepool_test' });
    const ended = new Set<pg.Client>();
    const opened: pg.Client[] = [];
    pool.on('connect', (c) => {
      opened.push(c as unknown as pg.Client);
      c.on('end', () => ended.add(c as unknown as pg.Client));
    });
    // Three queries at once hold three connections; all three go back to the pool idle.
    await Promise.all([1, 2, 3].map(() => pool.query('SELECT pg_sleep(0.05)')));
    expect(opened).toHaveLength(3);
    expect(pool.idleCount).toBe(3);

    await closePool(pool);
    expect(ended.size).toBe(3);

    // Nothing of the pool is left on the server either.
    const [row] = await db.query<{ n: number }>(`SELECT count(*)::int AS n FROM pg_stat_activity WHERE application_name = 'closepool_test'`);
    expect(Number(row!.n)).toBe(0);
  });

  it('ends a pool that never connected', async () => {
    const pool = new pg.Pool({ connectionString: db.url });
    await closePool(pool);
    expect(pool.ended).toBe(true);
  });
});
