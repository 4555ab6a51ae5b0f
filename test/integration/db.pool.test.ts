/**
 * db/pool.ts: every connection says application_name 'importer'; the read model's sessions run in
 * UTC whatever the server's default, while `importer sql` keeps the server's own settings.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { closePool } from '../../src/db/closePool.js';
import { openClient, openPool } from '../../src/db/pool.js';
import { withSession } from '../../src/db/session.js';
import { runCli, tempDir } from '../helpers/cli.js';
import { createTestDatabase, type TestDatabase } from '../helpers/db.js';

let db: TestDatabase;
beforeAll(async () => {
  db = await createTestDatabase('pool');
  await db.query(`ALTER DATABASE "${db.name}" SET TimeZone = 'Asia/Tokyo'`);
});
afterAll(async () => {
  await db?.drop();
});

describe('db.pool', () => {
  it('opens pools and clients as importer, in UTC for the read model and with the server settings otherwise', async () => {
    const pool = openPool(db.url, { max: 1, settings: 'utc', onIdleError: () => undefined });
    try {
      const { rows } = await pool.query<{ tz: string; app: string }>(`SELECT current_setting('TimeZone') AS tz, current_setting('application_name') AS app`);
      expect(rows[0]).toEqual({ tz: 'UTC', app: 'importer' });
    } finally {
      await closePool(pool);
    }
    const client = openClient(db.url, 'server');
    await client.connect();
    try {
      const { rows } = await client.query<{ tz: string; app: string }>(`SELECT current_setting('TimeZone') AS tz, current_setting('application_name') AS app`);
      expect(rows[0]).toEqual({ tz: 'Asia/Tokyo', app: 'importer' });
    } finally {
      await client.end();
    }
    expect(await withSession(db.url, async (c) => (await c.query<{ tz: string }>(`SELECT current_setting('TimeZone') AS tz`)).rows[0]!.tz)).toBe('UTC');
  });

  it('importer sql shows the server\'s own time zone', async () => {
    const r = await runCli(['sql', 'show timezone', '--json', '--data-dir', await tempDir()], { env: { DATABASE_URL: db.url } });
    expect(r.code, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout)).toEqual([{ TimeZone: 'Asia/Tokyo' }]);
  });
});
