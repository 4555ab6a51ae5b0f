/** `importer doctor`: would a run work here? Exit 0 when it would, 1 naming each problem. */
import type { Command } from 'commander';
import { doctor } from '../../doctor.js';
import { formatDoctor } from '../doctorFormat.js';
import { addCommon, EXIT, quietLoggerFor, serverChoice, type CommonOptions } from '../options.js';

export function registerDoctor(program: Command): void {
  addCommon(
    program
      .command('doctor')
      .description('check that a run would work: the database and what chose it, the server, the ledger and its privileges, each job type, source folder, target and next fires')
      .option('--json', 'print JSON'),
  )
    .addHelpText('after', '\nExamples:\n  $ importer doctor\n  $ PGHOST=db.internal PGUSER=etl importer doctor --json')
    .action(async (o: CommonOptions) => {
      const choice = serverChoice(o);
      const report = await doctor({
        jobtypesDir: o.jobtypes,
        databaseUrl: choice.url,
        databaseChosenBy: choice.chosenBy,
        dataDir: o.dataDir,
        connectTimeoutMs: o.connectTimeout * 1000,
        logger: quietLoggerFor(o),
      });
      process.stdout.write(o.json ? JSON.stringify(report) + '\n' : formatDoctor(report));
      process.exitCode = report.ok ? EXIT.ok : EXIT.failed;
    });
}
