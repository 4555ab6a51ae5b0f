/**
 * withSession: the one connection of a short command (status, history, rejects, sql).
 */
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { withSession } from '../../src/db/session.js';
import { createTestDatabase, type TestDatabase } from '../helpers/db.js';

let db: TestDatabase;
beforeAll(async () => {
  db = await createTestDatabase('session');
});
afterAll(async () => {
  await db?.drop();
});

describe('db.session', () => {
  it('brings the schema up to date, runs the command, and closes its connection', async () => {
    const n = await withSession(db.url, async (c) => (await c.query<{ n: number }>('SELECT count(*)::int AS n FROM importer.migrations')).rows[0]!.n);
    expect(n).toBeGreaterThan(0);
    const [row] = await db.query<{ n: number }>(`SELECT count(*)::int AS n FROM pg_stat_activity WHERE datname = $1 AND application_name = 'importer'`, [db.name]);
    expect(Number(row!.n)).toBe(0);
  });

  it('fails with the server error when the server drops the connection while it is idle (no uncaught exception)', async () => {
    const admin = new pg.Client({ connectionString: db.url });
    await admin.connect();
    try {
      const outcome = await withSession(db.url, async (c) => {
        const pid = (await c.query<{ pid: number }>('SELECT pg_backend_pid() AS pid')).rows[0]!.pid;
        await admin.query('SELECT pg_terminate_backend($1)', [pid]);
        // Wait until the backend is gone, then give the idle client a moment to read its FATAL.
        for (let i = 0; i < 200; i++) {
          const { rows } = await admin.query<{ n: number }>('SELECT count(*)::int AS n FROM pg_stat_activity WHERE pid = $1', [pid]);
          if (rows[0]!.n === 0) break;
          await new Promise((r) => setTimeout(r, 25));
        }
        await new Promise((r) => setTimeout(r, 100));
        return c.query('SELECT 1');
      }).then(
        () => 'succeeded',
        (err: unknown) => err,
      );
      expect(outcome).toMatchObject({ code: '57P01' });
    } finally {
      await admin.end();
    }
  });
});
