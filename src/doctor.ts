/**
 * `importer doctor`: would a run work here, and if not, why? It checks without changing anything:
 * the database it would use and what chose it, the server's version, the ledger's schemas and this
 * role's privileges on them, each job type's definition, source folder (and the files matching it),
 * target, and next fire times. `ok` is true when a run would work: the connection succeeds, the
 * ledger exists or may be created, every enabled job type is valid, every source folder exists,
 * and every target exists (with INSERT) or may be created.
 */
import { stat } from 'node:fs/promises';
import type { Logger } from 'pino';
import { openDatabase, type Database } from './db/connection.js';
import { openClient } from './db/pool.js';
import { ledgerState, serverFacts, targetState, type LedgerState, type ServerFacts } from './db/privileges.js';
import { errorMessage } from './errors.js';
import { formatProblem, loadJobTypes } from './jobtypes/load.js';
import type { JobType } from './jobtypes/normalize.js';
import { discoverFiles } from './source/discover.js';
import { DEFAULT_TIMEZONE, nextFire } from './util/cron.js';

export interface DoctorOptions {
  readonly jobtypesDir: string;
  readonly databaseUrl: string | undefined;
  readonly databaseChosenBy: string;
  readonly dataDir: string;
  readonly connectTimeoutMs: number;
  readonly logger: Logger;
}

export interface DoctorJobType {
  name: string;
  file: string;
  valid: boolean;
  enabled: boolean;
  errors: string[];
  source: { dir: string; pattern: string; exists: boolean; files: number } | null;
  target: { table: string; create: boolean; exists: boolean | null; note: string } | null;
  schedule: string | null;
  timezone: string | null;
  next_fire: string | null;
  next_fire_local: string | null;
}

export interface DoctorReport {
  ok: boolean;
  database: { url: string | null; chosen_by: string; embedded: boolean; reachable: boolean; server_version: string | null; user: string | null; name: string | null; error: string | null };
  ledger: { schema: boolean; staging_schema: boolean; migrated_to: number | null; latest: number; note: string } | null;
  jobtypes: DoctorJobType[];
  problems: string[];
}

export async function doctor(opts: DoctorOptions): Promise<DoctorReport> {
  const problems: string[] = [];
  const report: DoctorReport = {
    ok: false,
    database: { url: null, chosen_by: opts.databaseChosenBy, embedded: opts.databaseUrl === undefined, reachable: false, server_version: null, user: null, name: null, error: null },
    ledger: null,
    jobtypes: [],
    problems,
  };
  report.jobtypes = await checkDefinitions(opts, problems);
  let db: Database | undefined;
  try {
    db = await openDatabase({ url: opts.databaseUrl, chosenBy: opts.databaseChosenBy, dataDir: opts.dataDir, logger: opts.logger, connectTimeoutMs: opts.connectTimeoutMs });
    report.database.url = db.display;
    await checkDatabase(db.url, report, problems);
  } catch (err) {
    report.database.error = errorMessage(err);
    problems.push(`database: ${errorMessage(err)}`);
  } finally {
    await db?.close();
  }
  report.ok = problems.length === 0;
  return report;
}

async function checkDefinitions(opts: DoctorOptions, problems: string[]): Promise<DoctorJobType[]> {
  let loaded;
  try {
    loaded = await loadJobTypes(opts.jobtypesDir);
  } catch (err) {
    problems.push(`job types: ${errorMessage(err)}`);
    return [];
  }
  const out: DoctorJobType[] = [];
  for (const d of loaded.invalid) {
    const errors = d.problems.map((p) => formatProblem(d.file, p));
    problems.push(`job type ${d.name}: invalid definition: ${errors.join('; ')}`);
    out.push({ name: d.name, file: d.file, valid: false, enabled: false, errors, source: null, target: null, schedule: null, timezone: null, next_fire: null, next_fire_local: null });
  }
  for (const jt of loaded.valid) out.push(await checkJobType(jt, problems));
  return out.sort((a, b) => a.name.localeCompare(b.name));
}

async function checkJobType(jt: JobType, problems: string[]): Promise<DoctorJobType> {
  const exists = await stat(jt.source.dir).then((s) => s.isDirectory(), () => false);
  const files = exists ? (await discoverFiles(jt.source.dir, jt.source.pattern).catch(() => [])).length : 0;
  if (!exists && jt.enabled) problems.push(`job type ${jt.name}: source folder ${jt.source.dir} does not exist`);
  const zone = jt.timezone ?? DEFAULT_TIMEZONE;
  const next = jt.schedule && jt.enabled ? nextFire(jt.schedule, zone) : null;
  return {
    name: jt.name,
    file: jt.file,
    valid: true,
    enabled: jt.enabled,
    errors: [],
    source: { dir: jt.source.dir, pattern: jt.source.pattern, exists, files },
    target: { table: `${jt.target.schema}.${jt.target.table}`, create: jt.target.create, exists: null, note: '' },
    schedule: jt.schedule ?? null,
    timezone: jt.schedule ? zone : null,
    next_fire: next?.toISOString() ?? null,
    next_fire_local: next ? next.toLocaleString('sv-SE', { timeZone: zone }) : null,
  };
}

async function checkDatabase(url: string, report: DoctorReport, problems: string[]): Promise<void> {
  const client = openClient(url, 'utc');
  client.on('error', () => undefined);
  await client.connect();
  try {
    const facts = await serverFacts(client);
    Object.assign(report.database, { reachable: true, server_version: facts.version, user: facts.user, name: facts.database });
    const ledger = await ledgerState(client);
    report.ledger = { schema: ledger.schema, staging_schema: ledger.staging, migrated_to: ledger.migratedTo, latest: ledger.latest, note: ledgerNote(ledger, facts, problems) };
    for (const j of report.jobtypes) {
      if (!j.target) continue;
      const jt = { schema: j.target.table.slice(0, j.target.table.indexOf('.')), table: j.target.table.slice(j.target.table.indexOf('.') + 1) };
      const t = await targetState(client, jt.schema, jt.table);
      j.target.exists = t.exists;
      j.target.note = targetNote(j, t, facts, problems);
    }
  } finally {
    await client.end().catch(() => undefined);
  }
}

function ledgerNote(l: LedgerState, f: ServerFacts, problems: string[]): string {
  if (!l.schema || !l.staging) {
    if (f.canCreateSchemas) return 'not set up yet: the first run creates schemas importer and importer_staging';
    const missing = [!l.schema && 'importer', !l.staging && 'importer_staging'].filter(Boolean).join(' and ');
    problems.push(`ledger: schema ${missing} does not exist and ${f.user} lacks CREATE on database ${f.database} to create it (GRANT CREATE ON DATABASE ${f.database} TO ${f.user}, or have the owner run the first import)`);
    return 'cannot be created';
  }
  const notes: string[] = [];
  if (l.schemaCreate === false) problems.push(`ledger: ${f.user} lacks CREATE on schema importer (GRANT USAGE, CREATE ON SCHEMA importer TO ${f.user})`);
  if (l.stagingCreate === false) problems.push(`ledger: ${f.user} lacks CREATE on schema importer_staging, where each file is staged (GRANT USAGE, CREATE ON SCHEMA importer_staging TO ${f.user})`);
  if (l.migratedTo === null || l.migratedTo < l.latest) notes.push(`migrations ${(l.migratedTo ?? 0) + 1}–${l.latest} will be applied by the next run (the role must own the importer tables)`);
  return notes.join('; ') || `ready (migration ${l.migratedTo})`;
}

function targetNote(j: DoctorJobType, t: Awaited<ReturnType<typeof targetState>>, f: ServerFacts, problems: string[]): string {
  const table = j.target!.table;
  const schema = table.slice(0, table.indexOf('.'));
  const fail = (msg: string) => {
    if (j.enabled) problems.push(`job type ${j.name}: ${msg}`);
    return msg;
  };
  if (t.exists) return t.canInsert === false ? fail(`${f.user} lacks INSERT on ${table}`) : 'exists';
  if (!j.target!.create) return fail(`${table} does not exist and target.create is false`);
  if (t.schemaExists) return t.schemaCreate ? 'will be created (target.create)' : fail(`${table} does not exist and ${f.user} lacks CREATE on schema ${schema}`);
  return f.canCreateSchemas ? `will be created with schema ${schema} (target.create)` : fail(`schema ${schema} does not exist and ${f.user} lacks CREATE on database ${f.database}`);
}
