/** `importer validate JOBTYPE [FILE...]`: the dry run, without a database. */
import type { Command } from 'commander';
import { selectJobTypes } from '../../importer.js';
import { formatProblem, loadJobTypes } from '../../jobtypes/load.js';
import { dryRun } from '../../validate.js';
import { formatDryRun } from '../format.js';
import { addCommon, EXIT, loggerFor, type CommonOptions } from '../options.js';

export function registerValidate(program: Command): void {
  addCommon(
    program
      .command('validate')
      .description('dry run: parse and cast every row of a job type\'s files (or the given ones), print the header check and the rejects; writes nothing')
      .argument('<jobtype>', 'job type name')
      .argument('[files...]', 'files to check instead of the job type\'s source folder')
      .option('--json', 'print JSON'),
  )
    .addHelpText('after', '\nExamples:\n  $ importer validate orders\n  $ importer validate orders ~/Downloads/orders-2026-11-03.csv')
    .action(async (name: string, files: string[], o: CommonOptions) => {
      const logger = loggerFor(o);
      const loaded = await loadJobTypes(o.jobtypes);
      const bad = loaded.invalid.find((d) => d.name === name);
      if (bad) {
        for (const p of bad.problems) process.stderr.write(`${formatProblem(bad.file, p)}\n`);
        process.exitCode = EXIT.failed;
        return;
      }
      const [jt] = selectJobTypes(loaded.valid, [], [name]);
      const reports = await dryRun(jt!, files, logger);
      process.stdout.write(o.json ? JSON.stringify({ jobtype: name, files: reports }) + '\n' : formatDryRun(reports, jt!.maxRejects.text));
      process.exitCode = reports.every((r) => r.status === 'ok') ? EXIT.ok : EXIT.failed;
    });
}
