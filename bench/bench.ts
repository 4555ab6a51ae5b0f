/**
 * `npm run bench`: importer against `psql \copy` on the same server, in the same run.
 *
 *   npm run bench -- [--rows 1000000] [--runs 5] [--keys keyless,key] [--variants server,client]
 *                    [--rss-rows 1000000,3000000] [--threads 0,1] [--keep]
 *   npm run bench -- --small-files 2000 [--runs 3] [--keep]     (the cost of a file: bench/smallFiles.ts)
 *
 * It generates a deterministic CSV (bench/generate.ts), then runs, interleaved run by run on the
 * same server: psql \copy (one stream, and two streams over the file's halves) and `importer run`
 * with its defaults, client/staged, server/staged, server/direct and server/batches with two
 * consumers; keyless, and with a primary key on id (psql into the same key). It prints the median
 * seconds, rows/s, the ratio to one and to two psql streams and the peak RSS of each, and checks
 * that every variant's table holds the same rows as psql's (EXCEPT ALL both ways). Then csv-parse
 * alone on the file, the client path per --threads value, and the peak RSS of each importer variant
 * at each --rss-rows size, to show that memory does not grow with the file.
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
import { parse as csvParse } from 'csv-parse';
import { startEmbedded } from '../src/db/embedded.js';
import { RecordCutter } from '../src/source/cut.js';
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

/** One way of loading the file: a reference (psql) or `importer run` with a parser and a strategy. */
interface Variant {
  readonly name: string;
  /** psql \copy streams (1 or 2), or undefined for the importer. */
  readonly psql?: 1 | 2;
  readonly parser?: 'client' | 'server';
  readonly strategy?: 'staged' | 'direct' | 'batches';
  readonly consumers?: number;
}

const VARIANTS: readonly Variant[] = [
  { name: 'psql \\copy, 1 stream', psql: 1 },
  { name: 'psql \\copy, 2 streams', psql: 2 },
  { name: 'defaults (auto, staged)' },
  { name: 'client / staged', parser: 'client', strategy: 'staged' },
  { name: 'server / staged', parser: 'server', strategy: 'staged' },
  { name: 'server / direct', parser: 'server', strategy: 'direct' },
  { name: 'server / batches x2', parser: 'server', strategy: 'batches', consumers: 2 },
];

/** The bench's job type for a variant; keyed variants get `key: [id]` (and the target a primary key). */
function variantJobType(v: Variant, dir: string, keyed: boolean): string {
  const target = [keyed ? '  key: [id]' : '', v.strategy ? `  strategy: ${v.strategy}` : ''].filter(Boolean).join('\n');
  let def = generatedJobType({ name: 'bench', dir, table: 'bench_importer' });
  if (target) def = def.replace('  table: bench_importer', `  table: bench_importer\n${target}`);
  if (v.parser) def += `csv:\n  parser: ${v.parser}\n`;
  if (v.consumers) def += `pipeline:\n  consumers: ${v.consumers}\n`;
  // Straight into a keyless target, `required` has no NOT NULL to check it: only the key makes it expressible.
  if (!keyed && (v.strategy === 'direct' || v.strategy === 'batches')) def = def.replace('required: true', 'required: false');
  return def;
}

/** The file cut in two halves at a line boundary, each with the header, for the two-stream reference. */
async function halves(file: string): Promise<[string, string]> {
  const a = `${file}.half1`;
  const b = `${file}.half2`;
  if (existsSync(a) && existsSync(b)) return [a, b];
  const buf = await readFile(file);
  const headerEnd = buf.indexOf(0x0a) + 1;
  // The first record that starts past the middle (records hold quoted newlines: cut where the importer would).
  let cut = buf.length;
  new RecordCutter('"', ',', 1 << 20, { line: 1, offset: 0 }).push(buf, (_b, start, _e, _l, _nl, offset) => {
    if (cut === buf.length && offset >= buf.length / 2) cut = start;
  });
  await writeFile(a, buf.subarray(0, cut));
  await writeFile(b, Buffer.concat([buf.subarray(0, headerEnd), buf.subarray(cut)]));
  return [a, b];
}

interface Setup {
  readonly client: pg.Client;
  readonly url: string;
  readonly env: NodeJS.ProcessEnv;
  readonly rows: number;
  readonly file: string;
  readonly dir: string;
  readonly jobtypes: string;
  readonly halves: [string, string];
}

/** Loads the file once by a variant into a fresh table (with a primary key when keyed). */
async function runVariant(s: Setup, v: Variant, keyed: boolean, extra: readonly string[] = []): Promise<Measure> {
  const table = v.psql ? 'bench_ref' : 'bench_importer';
  await s.client.query(`DROP TABLE IF EXISTS ${table}; CREATE TABLE ${table} (${TABLE_COLUMNS}${keyed ? ', PRIMARY KEY (id)' : ''})`);
  await s.client.query('CHECKPOINT');
  if (v.psql) {
    const files = v.psql === 1 ? [s.file] : s.halves;
    const started = performance.now();
    const all = await Promise.all(files.map((f) => measured('psql', [s.url, '-v', 'ON_ERROR_STOP=1', '-c', `\\copy bench_ref FROM '${f}' WITH (FORMAT csv, HEADER true)`], s.env)));
    for (const r of all) if (r.code !== 0) throw new Error(`psql failed: ${r.stderr}`);
    return { seconds: (performance.now() - started) / 1000, peakRssMb: NaN };
  }
  await writeFile(path.join(s.jobtypes, 'bench.yaml'), variantJobType(v, s.dir, keyed));
  await settled(s.client);
  const r = await measured(process.execPath, [BIN, 'run', 'bench', '--jobtypes', s.jobtypes, '--force', '--json', '--log-level', 'warn', ...extra], s.env);
  if (r.code !== 0) throw new Error(`importer (${v.name}) failed (${r.code}): ${r.stderr}`);
  const job = JSON.parse(r.stdout).jobs[0];
  if (job.rows_loaded !== s.rows) throw new Error(`importer (${v.name}) loaded ${job.rows_loaded} rows, expected ${s.rows}: ${JSON.stringify(job.files)}`);
  return r;
}

/**
 * Waits until the previous importer's connections are gone: a backend outlives its client by a
 * moment, and the file lock it held would make the next run skip the file as "being loaded".
 */
async function settled(client: pg.Client): Promise<void> {
  for (let i = 0; i < 200; i++) {
    const { rows } = await client.query<{ n: string }>(`SELECT count(*) AS n FROM pg_stat_activity WHERE application_name = 'importer'`);
    if (rows[0]!.n === '0') return;
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** Rows in one table and not the other, both ways (EXCEPT ALL): 0 and 0 when they hold the same rows. */
async function difference(client: pg.Client): Promise<[number, number]> {
  const q = async (a: string, b: string) => Number((await client.query<{ n: string }>(`SELECT count(*) AS n FROM (SELECT * FROM ${a} EXCEPT ALL SELECT * FROM ${b}) d`)).rows[0]!.n);
  return [await q('bench_importer', 'bench_ref'), await q('bench_ref', 'bench_importer')];
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

/** Every variant, interleaved run by run, keyless or keyed; prints medians, ratios and peak RSS. */
async function matrix(s: Setup, variants: readonly Variant[], runs: number, keyed: boolean): Promise<void> {
  const times = new Map<Variant, Measure[]>(variants.map((v) => [v, []]));
  for (let i = 0; i < runs; i++) {
    const line: string[] = [];
    for (const v of variants) {
      const m = await runVariant(s, v, keyed);
      times.get(v)!.push(m);
      line.push(`${v.name} ${m.seconds.toFixed(2)}s`);
    }
    process.stdout.write(`${keyed ? 'key [id]' : 'keyless'} run ${i + 1}/${runs}: ${line.join(', ')}\n`);
  }
  // The last importer variant's table against one psql stream's, row for row.
  const check = variants.filter((v) => !v.psql);
  const same: string[] = [];
  for (const v of check) {
    await runVariant(s, variants.find((x) => x.psql === 1)!, keyed);
    await runVariant(s, v, keyed);
    const [extra, missing] = await difference(s.client);
    if (extra !== 0 || missing !== 0) throw new Error(`${v.name}: the table differs from psql's: ${extra} extra rows, ${missing} missing`);
    same.push(v.name);
  }
  const ref1 = median(times.get(variants.find((v) => v.psql === 1)!)!.map((m) => m.seconds));
  const ref2v = variants.find((v) => v.psql === 2);
  const ref2 = ref2v ? median(times.get(ref2v)!.map((m) => m.seconds)) : undefined;
  process.stdout.write(`\n${keyed ? 'key [id] (psql into the same primary key)' : 'keyless (psql into a keyless table)'}, median of ${runs} runs\n`);
  process.stdout.write(`${'variant'.padEnd(26)} ${'seconds'.padStart(8)} ${'rows/s'.padStart(12)} ${'vs 1 psql'.padStart(10)} ${'vs 2 psql'.padStart(10)} ${'peak RSS MB'.padStart(12)}\n`);
  for (const v of variants) {
    const t = median(times.get(v)!.map((m) => m.seconds));
    const rss = Math.max(...times.get(v)!.map((m) => m.peakRssMb));
    process.stdout.write(
      `${v.name.padEnd(26)} ${t.toFixed(2).padStart(8)} ${Math.round(s.rows / t).toLocaleString('en-US').padStart(12)} ${(ref1 / t).toFixed(2).padStart(9)}x ${ref2 ? (ref2 / t).toFixed(2).padStart(9) + 'x' : '       n/a'} ${Number.isNaN(rss) ? '         n/a' : rss.toFixed(0).padStart(12)}\n`,
    );
  }
  process.stdout.write(`same rows as psql \\copy (EXCEPT ALL both ways = 0): ${same.join(', ')}\n\n`);
}

// long: the bench's script, section by section
async function main(): Promise<void> {
  const rows = Number(arg('rows', '1000000'));
  const runs = Number(arg('runs', '5'));
  const rssRows = arg('rss-rows', '1000000,3000000')
    .split(',')
    .filter(Boolean)
    .map(Number);
  const keys = arg('keys', 'keyless,key').split(',').filter(Boolean);
  const only = arg('variants', '');
  const variants = only ? VARIANTS.filter((v) => v.psql || only.split(',').some((o) => v.name.includes(o))) : VARIANTS;
  const threadRuns = arg('threads', '')
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
  // The halves live beside the file, not in its folder (the job type would load them too).
  const halvesDir = path.join(work, `halves-${rows}`);
  await mkdir(halvesDir, { recursive: true });
  const copy = path.join(halvesDir, 'bench.csv');
  if (!existsSync(copy)) await writeFile(copy, await readFile(main.file));
  const setup: Setup = { client, url, env: { ...process.env, DATABASE_URL: url }, rows, file: main.file, dir: main.dir, jobtypes, halves: await halves(copy) };

  const psql = spawnSync('psql', ['--version'], { encoding: 'utf8' });
  if (psql.status !== 0) throw new Error('the bench compares against psql \\copy: install the PostgreSQL client (psql)');
  process.stdout.write(
    `machine: ${os.cpus().length} cores (${os.cpus()[0]?.model ?? '?'}), ${Math.round(os.totalmem() / 2 ** 30)} GiB, node ${process.version}\n` +
      `server: PostgreSQL ${v[0]!.server_version} at ${maskUrl(url)}${stopServer ? ' (embedded)' : ''}\n` +
      `file: ${rows.toLocaleString('en-US')} rows, ${(main.bytes / 2 ** 20).toFixed(1)} MiB, 12 columns (quoted commas and newlines)\n` +
      `reference: ${psql.stdout.trim()} \\copy, one stream and two streams over the file's halves\n` +
      `importer: --parse-threads ${DEFAULTS.parseThreads}, consumers ${DEFAULTS.consumers} unless named, --buffer ${DEFAULTS.bufferBatches}\n\n`,
  );

  for (const k of keys) await matrix(setup, variants, runs, k === 'key');

  const alone = await csvParseAlone(main.file);
  process.stdout.write(`csv-parse alone (parse and discard, one thread): ${alone.seconds.toFixed(2)}s, ${alone.cpuSeconds.toFixed(2)}s CPU\n\n`);

  const clientStaged = VARIANTS.find((x) => x.parser === 'client')!;
  for (const t of threadRuns) {
    const m = await runVariant(setup, clientStaged, false, ['--parse-threads', String(t)]);
    process.stdout.write(`client / staged --parse-threads ${t}: ${m.seconds.toFixed(2)}s, peak RSS ${m.peakRssMb.toFixed(0)} MB\n`);
  }

  for (const n of rssRows) {
    const f = await fileFor(n);
    for (const variant of VARIANTS.filter((x) => !x.psql && (x.parser !== undefined || x.name.startsWith('defaults')))) {
      if (only && !variant.name.startsWith('defaults') && !only.split(',').some((o) => variant.name.includes(o))) continue;
      const r = await runVariant({ ...setup, dir: f.dir, rows: n }, variant, false);
      process.stdout.write(
        `peak RSS at ${n.toLocaleString('en-US').padStart(10)} rows (${(f.bytes / 2 ** 20).toFixed(0)} MiB), ${variant.name.padEnd(24)}: ${r.peakRssMb.toFixed(0).padStart(4)} MB, ${r.seconds.toFixed(1)}s\n`,
      );
    }
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
