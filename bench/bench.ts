/**
 * `npm run bench`: importer against `psql \copy` on the same server, in the same run.
 *
 *   npm run bench -- [--rows 1000000] [--runs 3] [--rss-rows 1000000,5000000] [--consumers N] [--threads 0,1] [--keep]
 *   npm run bench -- --small-files 2000 [--runs 3] [--keep]     (the cost of a file: bench/smallFiles.ts)
 *
 * It generates a deterministic CSV (bench/generate.ts), then alternates the reference (psql \copy,
 * or a raw pg-copy-streams pipe when psql is missing) and `importer run` into identical tables, and
 * prints rows/s, MB/s and peak RSS for each, with the ratio importer/reference. It also times
 * csv-parse alone on the file (parse and discard, one thread): the client's floor. Then the importer
 * runs once per --threads value (other --parse-threads than the default), and its peak RSS is
 * measured at each --rss-rows size, to show that memory does not grow with the file.
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
import { parse as csvParse } from 'csv-parse';
import { startEmbedded } from '../src/db/embedded.js';
import { maskUrl } from '../src/db/connection.js';
import { silentLogger } from '../src/observability/logger.js';
import { DEFAULTS } from '../src/importer.js';
import { generatedJobType, writeGeneratedCsv } from './generate.js';
import { benchSmallFiles } from './smallFiles.js';

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

/** CPU seconds used by the whole machine so far (Linux /proc/stat: user, nice, system, irq, softirq), or undefined. */
async function machineCpuSeconds(): Promise<number | undefined> {
  try {
    const first = (await readFile('/proc/stat', 'utf8')).split('\n')[0]!.trim().split(/\s+/).slice(1).map(Number);
    const [user, nice, system, , , irq, softirq] = first;
    return ((user ?? 0) + (nice ?? 0) + (system ?? 0) + (irq ?? 0) + (softirq ?? 0)) / 100;
  } catch {
    return undefined;
  }
}

/** csv-parse alone on the file, records discarded: seconds of wall and CPU (this process, one thread). */
async function csvParseAlone(file: string): Promise<{ seconds: number; cpuSeconds: number }> {
  const started = performance.now();
  const cpu = process.cpuUsage();
  let n = 0;
  await pipeline(createReadStream(file, { highWaterMark: 256 * 1024 }), csvParse({ relax_column_count: true }), async (records: AsyncIterable<unknown>) => {
    for await (const _r of records) n++;
  });
  const used = process.cpuUsage(cpu);
  if (n === 0) throw new Error('csv-parse read no records');
  return { seconds: (performance.now() - started) / 1000, cpuSeconds: (used.user + used.system) / 1e6 };
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
  const threadRuns = arg('threads', '0,1')
    .split(',')
    .filter(Boolean)
    .map(Number);
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
  const smallFiles = Number(arg('small-files', '0'));
  if (smallFiles > 0) {
    process.stdout.write(
      `machine: ${os.cpus().length} cores (${os.cpus()[0]?.model ?? '?'}), node ${process.version}, load average ${os.loadavg()[0]!.toFixed(2)}\n` +
        `server: PostgreSQL ${v[0]!.server_version} at ${maskUrl(url)}${stopServer ? ' (embedded)' : ''}\n\n`,
    );
    await benchSmallFiles({ client, url, work, bin: BIN, files: smallFiles, runs, out: (s) => process.stdout.write(s) });
    await client.end();
    await stopServer?.();
    if (!process.argv.includes('--keep')) await rm(work, { recursive: true, force: true });
    return;
  }

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
      `reference: ${reference}\n` +
      `importer: defaults (--parse-threads ${DEFAULTS.parseThreads}, --consumers ${consumers || DEFAULTS.consumers}, --buffer ${DEFAULTS.bufferBatches})\n\n`,
  );

  const env = { ...process.env, DATABASE_URL: url };
  /** `importer run bench` on the bench's job type (whatever file it points at now), measured. */
  const runImporter = (...extra: string[]) =>
    measured(process.execPath, [BIN, 'run', 'bench', '--jobtypes', jobtypes, '--force', '--json', '--log-level', 'warn', ...extra], env);
  const ref: Measure[] = [];
  const imp: Measure[] = [];
  /** CPU the whole machine spent during each reference run: mostly the server's COPY. */
  const refCpu: number[] = [];
  for (let i = 0; i < runs; i++) {
    await client.query(`DROP TABLE IF EXISTS bench_ref; CREATE TABLE bench_ref (${TABLE_COLUMNS})`);
    await client.query(`DROP TABLE IF EXISTS bench_importer; CREATE TABLE bench_importer (${TABLE_COLUMNS})`);
    await client.query('CHECKPOINT');
    const cpuBefore = await machineCpuSeconds();
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
    const cpuAfter = await machineCpuSeconds();
    if (cpuBefore !== undefined && cpuAfter !== undefined) refCpu.push(cpuAfter - cpuBefore);
    await client.query('CHECKPOINT');
    const r = await runImporter(...(consumers ? ['--consumers', consumers] : []));
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
  const refSeconds = median(ref.map((x) => x.seconds));
  process.stdout.write(`ratio importer/reference (throughput): ${(refSeconds / median(imp.map((x) => x.seconds))).toFixed(2)}x\n\n`);

  const alone = await csvParseAlone(main.file);
  process.stdout.write(
    `csv-parse alone (parse and discard, one thread): ${alone.seconds.toFixed(2)}s, ${alone.cpuSeconds.toFixed(2)}s CPU; ` +
      `reference/csv-parse = ${(refSeconds / alone.seconds).toFixed(2)}x (what one parsing core allows before any casting, encoding or COPY)\n`,
  );
  // The server's COPY and csv-parse compete for the same cores when the server is on this machine:
  // even a client doing nothing but csv-parse, spread perfectly over every core, needs this long.
  const local = stopServer !== undefined || /@(127\.0\.0\.1|localhost|\[::1\])[:/]/.test(url) || !/@/.test(url);
  if (local && refCpu.length === runs) {
    const serverCpu = median(refCpu);
    const cores = os.availableParallelism();
    const floor = (alone.cpuSeconds + serverCpu) / cores;
    process.stdout.write(
      `bound for any client built on csv-parse, on ${cores} cores shared with the server: (${alone.cpuSeconds.toFixed(1)}s csv-parse + ` +
        `${serverCpu.toFixed(1)}s CPU of the reference COPY) / ${cores} = ${floor.toFixed(2)}s, at most ${(refSeconds / floor).toFixed(2)}x\n`,
    );
  }
  process.stdout.write('\n');

  for (const t of threadRuns) {
    await client.query(`DROP TABLE IF EXISTS bench_importer; CREATE TABLE bench_importer (${TABLE_COLUMNS})`);
    await client.query('CHECKPOINT');
    const r = await runImporter('--parse-threads', String(t));
    if (r.code !== 0) throw new Error(`importer failed (${r.code}): ${r.stderr}`);
    process.stdout.write(
      `importer --parse-threads ${t}: ${r.seconds.toFixed(2)}s, ${Math.round(rows / r.seconds).toLocaleString('en-US')} rows/s, ${(refSeconds / r.seconds).toFixed(2)}x, peak RSS ${r.peakRssMb.toFixed(0)} MB\n`,
    );
  }
  if (threadRuns.length > 0) process.stdout.write('\n');

  for (const n of rssRows) {
    const f = await fileFor(n);
    await writeFile(path.join(jobtypes, 'bench.yaml'), generatedJobType({ name: 'bench', dir: f.dir, table: 'bench_importer' }));
    await client.query(`DROP TABLE IF EXISTS bench_importer; CREATE TABLE bench_importer (${TABLE_COLUMNS})`);
    const r = await runImporter();
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
