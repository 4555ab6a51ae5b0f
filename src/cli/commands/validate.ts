/** `importer validate JOBTYPE [FILE...]`: the dry run; a database only for the server parser's check (rolled back). */
import type { Command } from 'commander';
import { selectJobTypes } from '../../importer.js';
import { formatProblem, loadJobTypes } from '../../jobtypes/load.js';
import { dryRun } from '../../validate.js';
import { formatDryRun } from '../format.js';
import type pg from 'pg';
import { addDryExtras, beginDryCopy, dryCopyBatch, endDryCopy } from '../../db/dryRun.js';
import { openClient } from '../../db/pool.js';
import { addCommon, EXIT, loggerFor, serverChoice, type CommonOptions } from '../options.js';
import type { DryServer } from '../../validate.js';

function dryServer(client: pg.ClientBase): DryServer {
  return {
    begin: (jt) => beginDryCopy(client, jt),
    extras: (columns) => addDryExtras(client, columns),
    copy: (jt, batch) => dryCopyBatch(client, jt, batch),
    end: () => endDryCopy(client),
  };
}

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
      // The server parser's check needs the server the files will load into; the embedded one is not started for it.
      const url = serverChoice(o).url;
      const client = url && jt!.csv.parser === 'server' ? openClient(url, 'utc') : undefined;
      let reports;
      try {
        await client?.connect();
        reports = await dryRun(jt!, files, logger, 1000, client ? dryServer(client) : undefined);
      } finally {
        await client?.end().catch(() => undefined);
      }
      process.stdout.write(o.json ? JSON.stringify({ jobtype: name, files: reports }) + '\n' : formatDryRun(reports, jt!.maxRejects.text));
      process.exitCode = reports.every((r) => r.status === 'ok') ? EXIT.ok : EXIT.failed;
    });
}
