/**
 * `npm run bench`: importer against `psql \copy` on the same server, in the same run.
 *
 *   npm run bench -- [--rows 1000000] [--runs 3] [--rss-rows 1000000,5000000] [--consumers N] [--keep]
 *
 * It generates a deterministic CSV (bench/generate.ts), then alternates the reference (psql \copy,
 * or a raw pg-copy-streams pipe when psql is missing) and `importer run` into identical tables, and
 * prints rows/s, MB/s and peak RSS for each, with the ratio importer/reference. Peak RSS of the
 * importer is then measured at each --rss-rows size, to show that memory does not grow with the file.
 * Uses DATABASE_URL, or an embedded PostgreSQL in a temporary folder.
 */
import { spawn, spawnSync } from 'node:child_process';
import { createReadStream, existsSync } from 'node:fs';
import { mkdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { pipeline } from 'node:stream/promises';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { from as copyFrom } from 'pg-copy-streams';
import { startEmbedded } from '../src/db/embedded.js';
import { maskUrl } from '../src/db/connection.js';
import { silentLogger } from '../src/observability/logger.js';
import { generatedJobType, writeGeneratedCsv } from './generate.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const BIN = path.join(ROOT, 'bin', 'importer.js');

function arg(name: string, fallback: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 && process.argv[i + 1] !== undefined ? process.argv[i + 1]! : fallback;
}

interface Measure {
  seconds: number;
  peakRssMb: number;
}

/** Runs a command, sampling its peak RSS (VmHWM) from /proc while it runs. */
function measured(cmd: string, args: string[], env: NodeJS.ProcessEnv): Promise<Measure & { stdout: string; stderr: string; code: number | null }> {
  return new Promise((resolve) => {
    const started = performance.now();
    const child = spawn(cmd, args, { env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    let peakKb = 0;
    const sample = async () => {
      try {
        const status = await readFile(`/proc/${child.pid}/status`, 'utf8');
        const m = /VmHWM:\s+(\d+)/.exec(status);
        if (m) peakKb = Math.max(peakKb, Number(m[1]));
      } catch {
        /* exited */
      }
    };
    const timer = setInterval(() => void sample(), 25);
    child.on('close', (code) => {
      clearInterval(timer);
      resolve({ seconds: (performance.now() - started) / 1000, peakRssMb: peakKb / 1024, stdout, stderr, code });
    });
  });
}

const TABLE_COLUMNS = `id bigint, uuid uuid, customer text, email text, country text, amount numeric, quantity integer,
  price double precision, active boolean, created_at timestamptz, birth_date date, notes text`;

async function main(): Promise<void> {
  const rows = Number(arg('rows', '1000000'));
  const runs = Number(arg('runs', '3'));
  const rssRows = arg('rss-rows', '1000000,5000000')
    .split(',')
    .filter(Boolean)
    .map(Number);
  const consumers = arg('consumers', '');
  const work = path.join(os.tmpdir(), 'importer-bench');
  await mkdir(work, { recursive: true, mode: 0o755 });

  let url = process.env.DATABASE_URL;
  let stopServer: (() => Promise<void>) | undefined;
  if (!url) {
    const server = await startEmbedded(path.join(work, 'pg-data'), silentLogger());
    url = server.url;
    stopServer = () => server.stop();
  }
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  const { rows: v } = await client.query<{ server_version: string }>('SHOW server_version');

  const fileFor = async (n: number): Promise<{ file: string; dir: string; bytes: number }> => {
    const dir = path.join(work, `rows-${n}`);
    const file = path.join(dir, 'bench.csv');
    await mkdir(dir, { recursive: true });
    if (!existsSync(file)) {
      process.stderr.write(`generating ${n.toLocaleString('en-US')} rows in ${file} ...\n`);
      await writeGeneratedCsv(file, n);
    }
    return { file, dir, bytes: (await stat(file)).size };
  };

  const main = await fileFor(rows);
  const jobtypes = path.join(work, 'jobtypes');
  await rm(jobtypes, { recursive: true, force: true });
  await mkdir(jobtypes);
  await writeFile(path.join(jobtypes, 'bench.yaml'), generatedJobType({ name: 'bench', dir: main.dir, table: 'bench_importer' }));

  const psql = spawnSync('psql', ['--version'], { encoding: 'utf8' });
  const havePsql = psql.status === 0;
  const reference = havePsql ? `psql \\copy (${psql.stdout.trim()})` : 'raw pg-copy-streams pipe';

  process.stdout.write(
    `machine: ${os.cpus().length} cores (${os.cpus()[0]?.model ?? '?'}), ${Math.round(os.totalmem() / 2 ** 30)} GiB, node ${process.version}\n` +
      `server: PostgreSQL ${v[0]!.server_version} at ${maskUrl(url)}${stopServer ? ' (embedded)' : ''}\n` +
      `file: ${rows.toLocaleString('en-US')} rows, ${(main.bytes / 2 ** 20).toFixed(1)} MiB, 12 columns\n` +
      `reference: ${reference}\n\n`,
  );

  const env = { ...process.env, DATABASE_URL: url };
  const ref: Measure[] = [];
  const imp: Measure[] = [];
  for (let i = 0; i < runs; i++) {
    await client.query(`DROP TABLE IF EXISTS bench_ref; CREATE TABLE bench_ref (${TABLE_COLUMNS})`);
    await client.query(`DROP TABLE IF EXISTS bench_importer; CREATE TABLE bench_importer (${TABLE_COLUMNS})`);
    await client.query('CHECKPOINT');
    if (havePsql) {
      const r = await measured('psql', [url, '-v', 'ON_ERROR_STOP=1', '-c', `\\copy bench_ref FROM '${main.file}' WITH (FORMAT csv, HEADER true)`], env);
      if (r.code !== 0) throw new Error(`psql failed: ${r.stderr}`);
      ref.push(r);
    } else {
      const started = performance.now();
      const c = new pg.Client({ connectionString: url });
      await c.connect();
      await pipeline(createReadStream(main.file), c.query(copyFrom('COPY bench_ref FROM STDIN WITH (FORMAT csv, HEADER true)')));
      await c.end();
      ref.push({ seconds: (performance.now() - started) / 1000, peakRssMb: NaN });
    }
    await client.query('CHECKPOINT');
    const args = [BIN, 'run', 'bench', '--jobtypes', jobtypes, '--force', '--json', '--log-level', 'warn'];
    if (consumers) args.push('--consumers', consumers);
    const r = await measured(process.execPath, args, env);
    if (r.code !== 0) throw new Error(`importer failed (${r.code}): ${r.stderr}`);
    const loaded = JSON.parse(r.stdout).jobs[0].rows_loaded as number;
    if (loaded !== rows) throw new Error(`importer loaded ${loaded} rows, expected ${rows}`);
    imp.push(r);
    process.stdout.write(`run ${i + 1}/${runs}: reference ${ref[i]!.seconds.toFixed(2)}s, importer ${r.seconds.toFixed(2)}s\n`);
  }
  const [{ n: refCount }] = (await client.query<{ n: string }>('SELECT count(*) AS n FROM bench_ref')).rows as [{ n: string }];
  const [{ n: impCount }] = (await client.query<{ n: string }>('SELECT count(*) AS n FROM bench_importer')).rows as [{ n: string }];
  if (Number(refCount) !== rows || Number(impCount) !== rows) throw new Error(`row counts differ: ref ${refCount}, importer ${impCount}`);

  const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
  const line = (name: string, m: Measure[]) => {
    const s = median(m.map((x) => x.seconds));
    const rss = Math.max(...m.map((x) => x.peakRssMb));
    return `${name.padEnd(24)} ${s.toFixed(2).padStart(8)} ${Math.round(rows / s).toLocaleString('en-US').padStart(12)} ${(main.bytes / 2 ** 20 / s).toFixed(1).padStart(8)} ${Number.isNaN(rss) ? '     n/a' : rss.toFixed(0).padStart(8)}`;
  };
  process.stdout.write(`\n${'median of ' + runs} runs          seconds       rows/s     MB/s  peak RSS MB\n`);
  process.stdout.write(line(havePsql ? 'psql \\copy' : 'pg-copy-streams pipe', ref) + '\n');
  process.stdout.write(line('importer run', imp) + '\n');
  const ratio = median(ref.map((x) => x.seconds)) / median(imp.map((x) => x.seconds));
  process.stdout.write(`ratio importer/reference (throughput): ${ratio.toFixed(2)}x\n\n`);

  for (const n of rssRows) {
    const f = await fileFor(n);
    await writeFile(path.join(jobtypes, 'bench.yaml'), generatedJobType({ name: 'bench', dir: f.dir, table: 'bench_importer' }));
    await client.query(`DROP TABLE IF EXISTS bench_importer; CREATE TABLE bench_importer (${TABLE_COLUMNS})`);
    const r = await measured(process.execPath, [BIN, 'run', 'bench', '--jobtypes', jobtypes, '--force', '--json', '--log-level', 'warn'], env);
    if (r.code !== 0) throw new Error(`importer failed: ${r.stderr}`);
    process.stdout.write(
      `peak RSS at ${n.toLocaleString('en-US').padStart(10)} rows (${(f.bytes / 2 ** 20).toFixed(0)} MiB): ${r.peakRssMb.toFixed(0)} MB, ${r.seconds.toFixed(1)}s, ${Math.round(n / r.seconds).toLocaleString('en-US')} rows/s\n`,
    );
  }
  await client.query('DROP TABLE IF EXISTS bench_ref; DROP TABLE IF EXISTS bench_importer');
  await client.end();
  await stopServer?.();
  if (!process.argv.includes('--keep')) await rm(work, { recursive: true, force: true });
}

main().catch((err: unknown) => {
  process.stderr.write(`bench failed: ${(err as Error).stack ?? String(err)}\n`);
  process.exit(1);
});
