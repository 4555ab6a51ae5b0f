/**
 * Fail fast at start, and the libpq conventions: a server that was never there ends the command
 * with exit 1 and one line naming the server (never the password); an unknown host, login or
 * database at once, a refused connection after --connect-timeout. Without --database-url or
 * DATABASE_URL, PGHOST/PGPORT/PGUSER/PGDATABASE choose the server and PGPASSWORD completes it.
 */
import net from 'node:net';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ROOT, runCli, tempDir } from '../helpers/cli.js';
import { createTestDatabase, withDatabase, type TestDatabase } from '../helpers/db.js';

let db: TestDatabase;
let dataDir: string;
beforeAll(async () => {
  db = await createTestDatabase('connect');
  dataDir = await tempDir();
});
afterAll(async () => {
  await db?.drop();
});

const JOBTYPES = path.join(ROOT, 'jobtypes');

/** A port on which nothing listens. */
async function deadPort(): Promise<number> {
  return new Promise((resolve) => {
    const srv = net.createServer().listen(0, '127.0.0.1', () => {
      const port = (srv.address() as net.AddressInfo).port;
      srv.close(() => resolve(port));
    });
  });
}

function withUrl(base: string, change: (u: URL) => void): string {
  const u = new URL(base);
  change(u);
  return u.toString();
}

/** Every variable that could choose a server, unset, so that only a test's own values count. */
const NO_SERVER = { DATABASE_URL: undefined, PGHOST: undefined, PGHOSTADDR: undefined, PGPORT: undefined, PGDATABASE: undefined, PGUSER: undefined, PGPASSWORD: undefined };

describe('fail fast at start', () => {
  it('a refused connection is retried for --connect-timeout, then exits 1 with one line naming the server', async () => {
    const port = await deadPort();
    const url = `postgres://someone:s3cretpw@127.0.0.1:${port}/nodb`;
    const t0 = Date.now();
    const r = await runCli(['run', '--jobtypes', JOBTYPES, '--connect-timeout', '2', '--data-dir', dataDir], { env: { ...NO_SERVER, DATABASE_URL: url } });
    const seconds = (Date.now() - t0) / 1000;
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(new RegExp(`importer: DB_CONNECT_FAILED: cannot connect to postgres://someone:\\*{4}@127\\.0\\.0\\.1:${port}/nodb \\(from DATABASE_URL\\) for 2 s`));
    expect(r.stderr).toContain('ECONNREFUSED');
    // Retried (the attempts are logged), and not for --retry-deadline's 300 s.
    expect(r.stderr).toMatch(/retrying for up to 2 s/);
    expect(r.stderr.match(/cannot connect to 127\.0\.0\.1:\d+ yet/g)?.length ?? 0).toBeGreaterThanOrEqual(2);
    expect(r.stderr).toMatch(/\(--connect-timeout, \d+ attempts\)/);
    expect(seconds).toBeLessThan(30);
    expect(r.stderr).not.toContain('s3cretpw');
  }, 60_000);

  it('an unknown host exits 1 at once, without retrying', async () => {
    const r = await runCli(['status', '--database-url', 'postgres://u:pw@no-such-host.invalid:5432/x', '--jobtypes', JOBTYPES]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/DB_CONNECT_FAILED: cannot connect to postgres:\/\/u:\*{4}@no-such-host\.invalid:5432\/x \(from --database-url\): .*ENOTFOUND.*check the host name/);
    expect(r.stderr).not.toMatch(/retrying/);
  }, 60_000);

  it('an unknown role exits 1 at once (28P01/28000), naming what to check', async () => {
    const url = withUrl(db.url, (u) => {
      u.username = 'no_such_role_x';
      u.password = 'hunter22';
    });
    const r = await runCli(['history', '--database-url', url, '--jobtypes', JOBTYPES]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/DB_CONNECT_FAILED: cannot connect to .*no_such_role_x.*\(28P01|28000\)/);
    expect(r.stderr).not.toMatch(/retrying/);
    expect(r.stderr).not.toContain('hunter22');
  }, 60_000);

  it('a missing database exits 1 at once (3D000)', async () => {
    const r = await runCli(['run', '--jobtypes', JOBTYPES, '--database-url', withDatabase(db.url, 'no_such_database_x')]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/DB_CONNECT_FAILED: .*no_such_database_x.*\(3D000\); check the database name/);
    expect(r.stderr).not.toMatch(/retrying/);
  }, 60_000);
});

describe('the libpq variables', () => {
  it('PGHOST, PGPORT, PGUSER and PGDATABASE choose the server, PGPASSWORD completes it, and the start-up line says so', async () => {
    const u = new URL(db.url);
    const env = {
      ...NO_SERVER,
      PGHOST: u.hostname,
      PGPORT: u.port || '5432',
      PGUSER: decodeURIComponent(u.username),
      PGDATABASE: db.name,
      ...(u.password ? { PGPASSWORD: decodeURIComponent(u.password) } : {}),
    };
    const r = await runCli(['run', 'customers', '--jobtypes', JOBTYPES, '--data-dir', dataDir, '--json'], { env });
    expect(r.code).toBe(0);
    expect(r.stderr).toMatch(/database: postgresql:\/\/.*@.*\/connect_\w+ \(from PGHOST, PGPORT, PGDATABASE, PGUSER\)/);
    const [{ n }] = await db.query<{ n: string }>('SELECT count(*) AS n FROM crm.customers');
    expect(Number(n)).toBeGreaterThan(0);
  }, 120_000);

  it('PGPASSWORD alone does not choose a server: the embedded one is used', async () => {
    const r = await runCli(['status', '--data-dir', dataDir, '--jobtypes', JOBTYPES, '--log-level', 'debug'], { env: { ...NO_SERVER, PGPASSWORD: 'ignored' } });
    expect(r.code).toBe(0);
    expect(r.stderr).toMatch(/database: postgres:\/\/importer:\*{4}@127\.0\.0\.1:\d+\/importer \(embedded/);
  }, 180_000);

  it('DATABASE_URL wins over the PG* variables', async () => {
    const port = await deadPort();
    const r = await runCli(['status', '--jobtypes', JOBTYPES, '--log-level', 'debug'], { env: { ...NO_SERVER, DATABASE_URL: db.url, PGHOST: '127.0.0.1', PGPORT: String(port) } });
    expect(r.code).toBe(0);
    expect(r.stderr).toContain('(from DATABASE_URL)');
  }, 60_000);
});
