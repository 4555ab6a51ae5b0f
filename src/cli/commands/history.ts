/** `importer history [JOBTYPE]`: past runs with their files, from the read model. */
import type { Command } from 'commander';
import { history } from '../../db/read/runs.js';
import { withSession } from '../../db/session.js';
import { formatHistory } from '../format.js';
import { addCommon, positiveInt, quietLoggerFor, withDatabase, type CommonOptions } from '../options.js';

export function registerHistory(program: Command): void {
  addCommon(
    program
      .command('history')
      .description('past runs of every job type (or one), newest first, with their files')
      .argument('[jobtype]', 'only this job type')
      .option('--limit <n>', 'runs to show', positiveInt('--limit'), 20)
      .option('--json', 'print JSON'),
  )
    .addHelpText('after', '\nExamples:\n  $ importer history\n  $ importer history orders --limit 5 --json')
    .action(async (name: string | undefined, o: CommonOptions & { limit: number }) => {
      const logger = quietLoggerFor(o);
      await withDatabase(o, logger, async (database) => {
        const runs = await withSession(database.url, (c) => history(c, name, o.limit));
        process.stdout.write(o.json ? JSON.stringify({ runs }) + '\n' : formatHistory(runs));
      });
    });
}
