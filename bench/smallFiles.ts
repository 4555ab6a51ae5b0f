/**
 * `npm run bench -- --small-files N`: the cost of a file. N files of 100 rows against the same
 * N × 100 rows in one file, on the same server, alternated (one file, N files, a rerun of the N
 * files that skips them all) `--runs` times; it prints the medians and the milliseconds a small
 * file costs beyond the one-file time. Each load is a first load: the two job types' ledger rows
 * are deleted before it (importer.files; checkpoints and rejects go with them), and the tables
 * emptied. The files are the generator's rows (bench/generate.ts), file i holding ids
 * i×100+1 … (i+1)×100.
 */
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type pg from 'pg';
import { generatedJobType, writeGeneratedCsv } from './generate.js';

export interface SmallFilesBench {
  readonly client: pg.Client;
  readonly url: string;
  readonly work: string;
  readonly bin: string;
  readonly files: number;
  readonly runs: number;
  readonly out: (s: string) => void;
}

const ROWS = 100;

/** `importer run NAME`, timed; its JSON report. */
function timedRun(bin: string, args: string[], env: NodeJS.ProcessEnv): Promise<{ seconds: number; report: { jobs: { rows_loaded: number; files: { status: string }[] }[] } }> {
  return new Promise((resolve, reject) => {
    const started = performance.now();
    const child = spawn(process.execPath, [bin, 'run', ...args, '--json', '--log-level', 'warn'], { env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('close', (code) => {
      const seconds = (performance.now() - started) / 1000;
      if (code !== 0) reject(new Error(`importer failed (${code}): ${stderr.slice(-2000)}`));
      else resolve({ seconds, report: JSON.parse(stdout) });
    });
  });
}

async function prepare(b: SmallFilesBench): Promise<{ jobtypes: string }> {
  const many = path.join(b.work, `small-${b.files}`);
  const one = path.join(b.work, `small-${b.files}-one`);
  if (!existsSync(path.join(many, 'done'))) {
    b.out(`generating ${b.files} files of ${ROWS} rows in ${many} ...\n`);
    await mkdir(many, { recursive: true });
    for (let i = 0; i < b.files; i++) await writeGeneratedCsv(path.join(many, `part-${String(i).padStart(6, '0')}.csv`), ROWS, i * ROWS + 1);
    await writeFile(path.join(many, 'done'), '');
  }
  await mkdir(one, { recursive: true });
  if (!existsSync(path.join(one, 'all.csv'))) await writeGeneratedCsv(path.join(one, 'all.csv'), b.files * ROWS, 1);
  const jobtypes = path.join(b.work, 'small-jobtypes');
  await rm(jobtypes, { recursive: true, force: true });
  await mkdir(jobtypes);
  await writeFile(path.join(jobtypes, 'bench_small.yaml'), generatedJobType({ name: 'bench_small', dir: many, table: 'bench_small' }));
  await writeFile(path.join(jobtypes, 'bench_one.yaml'), generatedJobType({ name: 'bench_one', dir: one, table: 'bench_one' }));
  return { jobtypes };
}

export async function benchSmallFiles(b: SmallFilesBench): Promise<void> {
  const { jobtypes } = await prepare(b);
  const env = { ...process.env, DATABASE_URL: b.url };
  const fresh = async (name: string) => {
    await b.client.query(`DROP TABLE IF EXISTS ${name}`);
    // The ledger exists once the importer ran (its migrations); before that there is nothing to forget.
    await b.client.query(`DELETE FROM importer.files WHERE job_type = $1`, [name]).catch(() => undefined);
    await b.client.query('CHECKPOINT');
  };
  const expect = (what: string, got: number, want: number) => {
    if (got !== want) throw new Error(`${what}: ${got}, expected ${want}`);
  };
  const one: number[] = [];
  const many: number[] = [];
  const rerun: number[] = [];
  for (let i = 0; i < b.runs; i++) {
    await fresh('bench_one');
    const o = await timedRun(b.bin, ['bench_one', '--jobtypes', jobtypes], env);
    expect('one file: rows loaded', o.report.jobs[0]!.rows_loaded, b.files * ROWS);
    await fresh('bench_small');
    const m = await timedRun(b.bin, ['bench_small', '--jobtypes', jobtypes], env);
    expect('small files: rows loaded', m.report.jobs[0]!.rows_loaded, b.files * ROWS);
    const r = await timedRun(b.bin, ['bench_small', '--jobtypes', jobtypes], env);
    expect('rerun: files skipped', r.report.jobs[0]!.files.filter((f) => f.status === 'skipped').length, b.files);
    one.push(o.seconds);
    many.push(m.seconds);
    rerun.push(r.seconds);
    b.out(`run ${i + 1}/${b.runs}: one file ${o.seconds.toFixed(2)}s, ${b.files} files ${m.seconds.toFixed(2)}s, rerun ${r.seconds.toFixed(2)}s\n`);
  }
  const median = (xs: number[]) => [...xs].sort((x, y) => x - y)[Math.floor(xs.length / 2)]!;
  const [o, m, r] = [median(one), median(many), median(rerun)];
  b.out(
    `\nmedian of ${b.runs} runs, ${(b.files * ROWS).toLocaleString('en-US')} rows:\n` +
      `one file                 ${o.toFixed(2).padStart(8)} s\n` +
      `${`${b.files} files × ${ROWS} rows`.padEnd(24)} ${m.toFixed(2).padStart(8)} s   ${((m * 1000) / b.files).toFixed(1)} ms a file, ${(((m - o) * 1000) / b.files).toFixed(1)} ms a file beyond the one-file time\n` +
      `rerun, all skipped       ${r.toFixed(2).padStart(8)} s   ${((r * 1000) / b.files).toFixed(2)} ms a file\n`,
  );
  await b.client.query('DROP TABLE IF EXISTS bench_one; DROP TABLE IF EXISTS bench_small');
}
