/** `importer rejects [JOBTYPE]`: the quarantine from the read model, listed, as JSON, or as a fixable CSV. */
import type { Command } from 'commander';
import { rejectFiles, rejectRecords, rejects } from '../../db/read/rejects.js';
import { requireKnownJobType } from '../jobTypeNames.js';
import { withSession } from '../../db/session.js';
import { ImporterError } from '../../errors.js';
import { loadJobTypes } from '../../jobtypes/load.js';
import { formatRejects } from '../format.js';
import { addCommon, positiveInt, quietLoggerFor, withDatabase, type CommonOptions } from '../options.js';
import { csvRejectsHeader } from '../rejectsCsv.js';

/** Writes to stdout, waiting while its buffer is full. */
function write(s: string): Promise<void> {
  return new Promise((resolve, reject) => {
    if (s === '' || process.stdout.write(s)) return resolve();
    const onError = (err: Error) => reject(err);
    process.stdout.once('error', onError);
    process.stdout.once('drain', () => {
      process.stdout.off('error', onError);
      resolve();
    });
  });
}

interface RejectsOptions extends CommonOptions {
  run?: number;
  file?: string;
  limit: number;
  csv?: boolean;
  all?: boolean;
}

async function action(name: string | undefined, o: RejectsOptions): Promise<void> {
  const logger = quietLoggerFor(o);
  if (o.csv && !name) throw new ImporterError('USAGE', 'rejects --csv needs a JOBTYPE (its header starts the CSV)');
  const loaded = await loadJobTypes(o.jobtypes).catch(() => undefined);
  const jt = name ? loaded?.valid.find((j) => j.name === name) : undefined;
  if (o.csv && !jt) throw new ImporterError('USAGE', `rejects --csv: no valid job type "${name}" in ${o.jobtypes}`);
  await withDatabase(o, logger, async (database) => {
    const filter = { jobType: o.csv ? jt!.name : name, runId: o.run, file: o.file, limit: o.csv ? undefined : o.limit, onlyLoaded: o.csv && !o.all };
    await withSession(database.url, async (c) => {
      // A name neither the definitions nor the ledger know is a typo, not "no rejects".
      if (name && !jt) await requireKnownJobType(c, name, o.jobtypes);
      if (!o.csv) return void process.stdout.write(formatRejects(await rejects(c, filter), filter.limit, o.json ?? false));
      // Streamed: a page of records at a time, waiting for stdout, whatever the number of rejects.
      await write(await csvRejectsHeader(jt!, await rejectFiles(c, filter)));
      for await (const records of rejectRecords(c, filter)) await write(records.join('\n') + '\n');
    });
  });
}

export function registerRejects(program: Command): void {
  addCommon(
    program
      .command('rejects')
      .description('list quarantined rows, or export them as a CSV to fix and drop back in')
      .argument('[jobtype]', 'only this job type')
      .option('--run <id>', 'only rejects of this run', positiveInt('--run'))
      .option('--file <path>', 'only rejects of files whose path contains this')
      .option('--limit <n>', 'rows to list at most', positiveInt('--limit'), 100)
      .option('--csv', 'print the rejected records as a CSV (the job type\'s header, then the raw records); needs JOBTYPE; only files that loaded unless --all')
      .option('--all', 'with --csv: also the rejects of files that did not load (failed on the threshold, say)')
      .option('--json', 'print JSON'),
  )
    .addHelpText('after', '\nExamples:\n  $ importer rejects orders\n  $ importer rejects orders --run 12 --csv > orders-fixme.csv   # fix it, then move it into the source folder')
    .action(action);
}
