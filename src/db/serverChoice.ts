/**
 * Which PostgreSQL a command talks to, by the conventions of PostgreSQL's own tools:
 *
 * 1. `--database-url`, else
 * 2. `DATABASE_URL`, else
 * 3. any of the libpq variables that select a server (`PGHOST`, `PGHOSTADDR`, `PGPORT`,
 *    `PGDATABASE`, `PGUSER`): a URL is built from them with libpq's defaults for the others, else
 * 4. the embedded server.
 *
 * `PGPASSWORD`, `PGPASSFILE` / `~/.pgpass` and `PGSSLMODE` never select a server: node-postgres
 * reads them for whatever connection was chosen (a URL without a password takes `PGPASSWORD`, then
 * the password file), so `PGPASSFILE=.importer/pgpass psql` keeps working next to the embedded
 * server. The environment is passed in: only the CLI reads `process.env`.
 */
import { existsSync } from 'node:fs';
import os from 'node:os';

/** The variables that select a server, in the order the start-up line names them. */
export const SELECTING_VARIABLES = ['PGHOST', 'PGHOSTADDR', 'PGPORT', 'PGDATABASE', 'PGUSER'] as const;

export interface ServerChoice {
  /** Undefined: the embedded server. */
  readonly url: string | undefined;
  /** What chose it, for the start-up line and `doctor`: `--database-url`, `DATABASE_URL`, `PGHOST, PGPORT`, or `embedded`. */
  readonly chosenBy: string;
}

type Env = Readonly<Record<string, string | undefined>>;

/** The Unix socket folders libpq builds look in (Debian's, then the upstream default). */
const SOCKET_DIRS = ['/var/run/postgresql', '/tmp'];

function defaultHost(port: string, socketExists: (p: string) => boolean): string {
  return SOCKET_DIRS.find((d) => socketExists(`${d}/.s.PGSQL.${port}`)) ?? 'localhost';
}

/** A URL for the libpq variables; the password is never put in it. */
export function libpqUrl(env: Env, socketExists: (p: string) => boolean = existsSync): string {
  const port = env.PGPORT || '5432';
  const user = env.PGUSER || safeUserName();
  const database = env.PGDATABASE || user;
  // libpq connects to PGHOSTADDR when set (PGHOST then only names the host for TLS and .pgpass).
  const host = env.PGHOSTADDR || env.PGHOST || defaultHost(port, socketExists);
  const auth = encodeURIComponent(user);
  if (host.startsWith('/')) {
    const q = new URLSearchParams({ host, port });
    return `postgresql://${auth}@/${encodeURIComponent(database)}?${q.toString()}`;
  }
  const h = host.includes(':') && !host.startsWith('[') ? `[${host}]` : host;
  return `postgresql://${auth}@${h}:${port}/${encodeURIComponent(database)}`;
}

function safeUserName(): string {
  try {
    return os.userInfo().username;
  } catch {
    return 'postgres';
  }
}

export function chooseServer(flagUrl: string | undefined, env: Env, socketExists?: (p: string) => boolean): ServerChoice {
  if (flagUrl) return { url: flagUrl, chosenBy: '--database-url' };
  if (env.DATABASE_URL) return { url: env.DATABASE_URL, chosenBy: 'DATABASE_URL' };
  const set = SELECTING_VARIABLES.filter((v) => env[v]);
  if (set.length > 0) return { url: libpqUrl(env, socketExists), chosenBy: set.join(', ') };
  return { url: undefined, chosenBy: 'embedded' };
}
