/**
 * Starts the PostgreSQL the suite runs against: DATABASE_URL when set, otherwise an embedded
 * server in a temporary folder (the same code path as the CLI's default). Each test file then
 * creates and drops its own database on it (see db.ts).
 */
import { mkdir, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type { TestProject } from 'vitest/node';
import { startEmbedded, type EmbeddedServer } from '../../src/db/embedded.js';
import { maskUrl } from '../../src/db/connection.js';
import { silentLogger } from '../../src/observability/logger.js';

/** Unset for the embedded suite (also by .ci/run and helpers/cli.ts). */
export const LIBPQ_VARIABLES = ['PGHOST', 'PGHOSTADDR', 'PGPORT', 'PGDATABASE', 'PGUSER', 'PGPASSWORD', 'PGPASSFILE', 'PGSSLMODE', 'PGSERVICE', 'PGSERVICEFILE'] as const;

declare module 'vitest' {
  export interface ProvidedContext {
    adminUrl: string;
    embedded: boolean;
  }
}

let server: EmbeddedServer | undefined;
let dir: string | undefined;

export async function setup(project: TestProject): Promise<void> {
  let url = process.env.DATABASE_URL;
  if (!url) {
    // The embedded suite: the machine's libpq variables would choose (PGHOST, PGPORT, ...) or
    // change (PGPASSWORD, PGSSLMODE, ...) the server of every CLI the tests start.
    for (const v of LIBPQ_VARIABLES) delete process.env[v];
    dir = path.join(os.tmpdir(), `importer-test-pg-${process.pid}`);
    await mkdir(dir, { recursive: true, mode: 0o755 });
    server = await startEmbedded(dir, silentLogger());
    url = server.url;
  }
  process.stderr.write(`test database server: ${maskUrl(url)}${server ? ' (embedded)' : ' (DATABASE_URL)'}\n`);
  project.provide('adminUrl', url);
  project.provide('embedded', server !== undefined);
}

export async function teardown(): Promise<void> {
  await server?.stop();
  if (dir) await rm(dir, { recursive: true, force: true });
}
