/** `importer sql STATEMENT`, `importer psql`, `importer db url`: the database in use, by hand. */
import { spawn } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { Command } from 'commander';
import { openDatabase } from '../../db/connection.js';
import { runStatements } from '../../db/statement.js';
import { ImporterError } from '../../errors.js';
import { formatResults } from '../format.js';
import { addCommon, databaseOptions, loggerFor, quietLoggerFor, withDatabase, type CommonOptions } from '../options.js';

/** The URL without its password, and the password. */
function splitPassword(url: string): { url: URL; password: string } {
  const u = new URL(url);
  const password = decodeURIComponent(u.password);
  u.password = '';
  return { url: u, password };
}

async function dbUrl(o: CommonOptions): Promise<void> {
  const logger = loggerFor(o);
  const database = await openDatabase(databaseOptions(o, logger));
  const { url: u, password } = splitPassword(database.url);
  if (!database.embedded) {
    process.stdout.write(`${u.toString()}\n`);
    return;
  }
  const passfile = path.resolve(o.dataDir, 'pgpass');
  await writeFile(passfile, `${u.hostname}:${u.port}:*:${decodeURIComponent(u.username)}:${password.replace(/[:\\]/g, '\\$&')}\n`, { mode: 0o600 });
  process.stdout.write(`${u.toString()}\n`);
  process.stderr.write(`The password is in ${passfile} (never printed). Connect with:\n  PGPASSFILE=${passfile} psql '${u.toString()}'\nor simply: importer psql\nPress Ctrl-C to stop the server.\n`);
  await new Promise<void>((resolve) => {
    process.once('SIGINT', resolve);
    process.once('SIGTERM', resolve);
  });
  await database.close();
}

async function psql(args: string[], o: CommonOptions): Promise<void> {
  const logger = loggerFor(o);
  await withDatabase(o, logger, async (database) => {
    const { url: u, password } = splitPassword(database.url);
    const code = await new Promise<number>((resolve, reject) => {
      const child = spawn('psql', [u.toString(), ...args], { stdio: 'inherit', env: { ...process.env, PGPASSWORD: password } });
      child.on('error', (err) => reject(new ImporterError('USAGE', `cannot start psql: ${err.message}. Install the PostgreSQL client, or use "importer sql".`)));
      child.on('exit', (c) => resolve(c ?? 1));
    });
    process.exitCode = code;
  });
}

export function registerSql(program: Command): void {
  addCommon(
    program
      .command('sql')
      .description('run SQL against the database in use (the embedded one by default) and print the rows of each statement')
      .argument('<statement>', 'SQL to run: one statement, or several separated by ";" (each result is printed, in order)')
      .option('--json', 'print the rows as JSON'),
  )
    .addHelpText('after', `\nExamples:\n  $ importer sql "select count(*) from orders"\n  $ importer sql "select * from importer.rejects order by id desc limit 5" --json`)
    .action(async (statement: string, o: CommonOptions) => {
      await withDatabase(o, quietLoggerFor(o), async (db) => process.stdout.write(formatResults(await runStatements(db.url, statement), o.json)));
    });

  const db = program.command('db').description('the database in use');
  addCommon(db.command('url').description('start the embedded server (if no DATABASE_URL) and print a connection string; keeps it running until Ctrl-C'))
    .addHelpText('after', '\nExample:\n  $ importer db url      # then, in another terminal, run the psql command it prints')
    .action(dbUrl);

  addCommon(
    program
      .command('psql')
      .description('open psql on the database in use (starts and stops the embedded server around it)')
      .argument('[args...]', 'extra psql arguments')
      .allowUnknownOption(true),
  )
    .addHelpText('after', `\nExamples:\n  $ importer psql\n  $ importer psql -- -c "\\dt"`)
    .action(psql);
}
