/**
 * Files that exporters are still writing: a file that grows while it loads is not loaded under the
 * hash of other bytes. It is skipped (SOURCE_CHANGED, nothing visible), and a later run loads the
 * whole file once; `source.settle_seconds` leaves recently modified files alone.
 */
import { appendFile } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generatedJobType, generatedLine, writeGeneratedCsv } from '../../bench/generate.js';
import { run } from '../../src/importer.js';
import { silentLogger } from '../../src/observability/logger.js';
import { jobtypesDir, runCli, tempDir } from '../helpers/cli.js';
import { createTestDatabase, type TestDatabase } from '../helpers/db.js';

let db: TestDatabase;
let dataDir: string;
beforeAll(async () => {
  db = await createTestDatabase('growing');
  dataDir = await tempDir();
});
afterAll(async () => {
  await db?.drop();
});

async function count(table: string): Promise<{ n: string; d: string }> {
  const [r] = await db.query<{ n: string; d: string }>(`SELECT count(*) AS n, count(DISTINCT id) AS d FROM ${table}`);
  return r!;
}

describe('a file appended to while it loads', () => {
  it('is skipped with SOURCE_CHANGED, nothing of it visible; the next run loads it whole, once', async () => {
    const src = await tempDir('importer-growing-');
    const file = path.join(src, 'export.csv');
    await writeGeneratedCsv(file, 20_000);
    const dir = await jobtypesDir({ 'growing.yaml': generatedJobType({ name: 'growing', dir: src, table: 'growing', batchRows: 1000 }) });
    let appended = false;
    const first = await run({
      jobtypesDir: dir,
      databaseUrl: db.url,
      dataDir,
      logger: silentLogger(),
      // The exporter writes more while the first batches commit.
      beforeCommit: async () => {
        if (appended) return;
        appended = true;
        let more = '';
        for (let i = 20_001; i <= 25_000; i++) more += generatedLine(i) + '\n';
        await appendFile(file, more);
      },
    });
    expect(appended).toBe(true);
    expect(first.status).toBe('succeeded');
    expect(first.jobs[0]!.files[0]).toMatchObject({ status: 'skipped', reason: 'changed while loading', error: { code: 'SOURCE_CHANGED' }, rows_loaded: 0 });
    expect(await count('growing')).toEqual({ n: '0', d: '0' });
    const [ledger] = await db.query<{ status: string; error_code: string; staged: string }>(
      `SELECT status, error_code, (SELECT count(*) FROM importer.checkpoints c WHERE c.file_id = f.id) AS staged FROM importer.files f WHERE job_type = 'growing'`,
    );
    expect(ledger).toEqual({ status: 'changed', error_code: 'SOURCE_CHANGED', staged: '0' });

    // The writer is done: the next run loads the whole file once, and the one after skips it.
    const env = { DATABASE_URL: db.url };
    const second = await runCli(['run', '--jobtypes', dir, '--data-dir', dataDir, '--json'], { env });
    expect(second.code, second.stderr).toBe(0);
    expect(JSON.parse(second.stdout).jobs[0].files[0]).toMatchObject({ status: 'loaded', rows_loaded: 25_000 });
    expect(await count('growing')).toEqual({ n: '25000', d: '25000' });
    const third = await runCli(['run', '--jobtypes', dir, '--data-dir', dataDir, '--json'], { env });
    expect(JSON.parse(third.stdout).jobs[0].files[0]).toMatchObject({ status: 'skipped', reason: 'already loaded' });
    expect(await count('growing')).toEqual({ n: '25000', d: '25000' });
  });
});

describe('source.settle_seconds', () => {
  it('leaves a file alone until it has not been modified for that long', async () => {
    const src = await tempDir('importer-settle-');
    await writeGeneratedCsv(path.join(src, 'fresh.csv'), 10);
    const settle = (s: number) =>
      jobtypesDir({ 'settle.yaml': generatedJobType({ name: 'settle', dir: src, table: 'settle' }).replace('  pattern:', `  settle_seconds: ${s}\n  pattern:`) });
    const env = { DATABASE_URL: db.url };
    const waiting = await runCli(['run', '--jobtypes', await settle(3600), '--data-dir', dataDir, '--json'], { env });
    expect(waiting.code, waiting.stderr).toBe(0);
    const f = JSON.parse(waiting.stdout).jobs[0].files[0];
    expect(f.status).toBe('skipped');
    expect(f.reason).toMatch(/^still being written/);
    const loads = await runCli(['run', '--jobtypes', await settle(0), '--data-dir', dataDir, '--json'], { env });
    expect(JSON.parse(loads.stdout).jobs[0].files[0]).toMatchObject({ status: 'loaded', rows_loaded: 10 });
  });
});
