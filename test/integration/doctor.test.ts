/**
 * `importer doctor` and the privileges: exit 0 when a run would work, 1 naming each problem; a
 * role without CREATE on the database is told so, works once a DBA created and granted the
 * ledger's schemas, and a refused set-up statement names the statement and the privilege.
 */
import { randomBytes } from 'node:crypto';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FIXTURES, ROOT, jobtypesDir, runCli } from '../helpers/cli.js';
import { createTestDatabase, type TestDatabase } from '../helpers/db.js';

let db: TestDatabase;
const role = `doc_${randomBytes(4).toString('hex')}`;
beforeAll(async () => {
  db = await createTestDatabase('doctor');
  await db.query(`CREATE ROLE ${role} LOGIN PASSWORD 'pw-${role}'`);
  await db.query(`REVOKE CREATE ON SCHEMA public FROM PUBLIC`);
  await db.query(`REVOKE CREATE, TEMPORARY ON DATABASE ${db.name} FROM PUBLIC`);
});
afterAll(async () => {
  await db?.query(`DROP OWNED BY ${role}`).catch(() => undefined);
  await db?.drop();
  const admin = await createTestDatabase('doctor_cleanup');
  await admin.query(`DROP ROLE IF EXISTS ${role}`).catch(() => undefined);
  await admin.drop();
});

const asRole = () => {
  const u = new URL(db.url);
  u.username = role;
  u.password = `pw-${role}`;
  return u.toString();
};

describe('importer doctor', () => {
  it('exits 0 when a run would work, and shows the server, what chose it, files, targets and next fires', async () => {
    const r = await runCli(['doctor', '--jobtypes', path.join(ROOT, 'jobtypes'), '--json'], { env: { DATABASE_URL: db.url } });
    expect(r.code, r.stdout + r.stderr).toBe(0);
    const rep = JSON.parse(r.stdout);
    expect(rep).toMatchObject({ ok: true, problems: [], database: { chosen_by: 'DATABASE_URL', reachable: true } });
    expect(rep.database.server_version).toMatch(/^\d+/);
    const orders = rep.jobtypes.find((j: { name: string }) => j.name === 'orders');
    expect(orders).toMatchObject({ valid: true, source: { exists: true, files: 2 }, target: { table: 'public.orders' }, schedule: '0 2 * * *', timezone: 'UTC' });
    expect(orders.next_fire).toMatch(/T02:00:00\.000Z$/);
    const text = await runCli(['doctor', '--jobtypes', path.join(ROOT, 'jobtypes')], { env: { DATABASE_URL: db.url } });
    expect(text.stdout).toContain('chosen by DATABASE_URL');
    expect(text.stdout).toContain('ok: a run would work');
  });

  it('exits 1 naming each problem: an invalid definition, a missing source folder, a missing target that may not be created', async () => {
    const dir = await jobtypesDir({
      'broken.yaml': 'name: broken\ncolumns: nope\n',
      'nosource.yaml': `name: nosource\nsource: { path: /no/such/folder }\ntarget: { table: t1 }\ncolumns: [{ name: id, type: integer }]\n`,
      'notarget.yaml': `name: notarget\nsource: { path: ${JSON.stringify(path.join(FIXTURES, 'roundtrip'))} }\ntarget: { table: not_there, create: false }\ncolumns: [{ name: id, type: integer }, { name: value, type: text }]\n`,
    });
    const r = await runCli(['doctor', '--jobtypes', dir], { env: { DATABASE_URL: db.url } });
    expect(r.code).toBe(1);
    expect(r.stdout).toMatch(/3 problems:/);
    expect(r.stdout).toMatch(/job type broken: invalid definition/);
    expect(r.stdout).toContain('job type nosource: source folder /no/such/folder does not exist');
    expect(r.stdout).toContain('job type notarget: public.not_there does not exist and target.create is false');
  });

  it('tells a role without CREATE on the database what it lacks; after a DBA creates and grants the schemas, doctor and run work', async () => {
    const jt = await jobtypesDir({
      'priv.yaml': `name: priv\nsource: { path: ${JSON.stringify(path.join(FIXTURES, 'roundtrip'))} }\ntarget: { table: priv.priv, create: false }\ncolumns: [{ name: id, type: integer }, { name: value, type: text }]\n`,
    });
    const env = { DATABASE_URL: asRole() };
    const before = await runCli(['doctor', '--jobtypes', jt], { env });
    expect(before.code).toBe(1);
    expect(before.stdout).toContain(`lacks CREATE on database ${db.name}`);
    // The refused set-up statement is named, with the privilege it needs.
    const run = await runCli(['run', '--jobtypes', jt], { env });
    expect(run.code, run.stderr).toBe(1);
    expect(run.stderr).toMatch(/PG_42501: ledger set-up: CREATE SCHEMA importer was refused \(permission denied for database \w+\): the role needs CREATE on the database/);

    // What the README's "Privileges" asks of a DBA.
    for (const s of ['importer', 'importer_staging']) await db.query(`CREATE SCHEMA ${s}; GRANT USAGE, CREATE ON SCHEMA ${s} TO ${role}`);
    await db.query(`CREATE SCHEMA priv; CREATE TABLE priv.priv (id integer, value text); GRANT USAGE ON SCHEMA priv TO ${role}; GRANT SELECT, INSERT ON priv.priv TO ${role}`);
    const after = await runCli(['doctor', '--jobtypes', jt], { env });
    expect(after.code, after.stdout).toBe(0);
    const loaded = await runCli(['run', '--jobtypes', jt, '--json'], { env });
    expect(loaded.code, loaded.stderr).toBe(0);
    expect(await db.query('SELECT count(*)::int AS n FROM priv.priv')).toEqual([{ n: '15' }]);
  });
});
