/** `importer history [JOBTYPE]`: past runs with their files, from the read model. */
import type { Command } from 'commander';
import { history } from '../../db/read/runs.js';
import { withSession } from '../../db/session.js';
import { formatHistory } from '../format.js';
import { requireKnownJobType, sinceOption } from '../jobTypeNames.js';
import { addCommon, positiveInt, quietLoggerFor, withDatabase, type CommonOptions } from '../options.js';

export function registerHistory(program: Command): void {
  addCommon(
    program
      .command('history')
      .description('past runs of every job type (or one), newest first, with their files')
      .argument('[jobtype]', 'only this job type')
      .option('--limit <n>', 'runs to show', positiveInt('--limit'), 20)
      .option('--since <when>', 'only runs started since: an ISO 8601 date or time (2026-11-30, 2026-11-30T22:00Z) or a duration back from now (12h, 7d, 30m)', sinceOption)
      .option('--failed', 'only runs that failed or in which a file failed')
      .option('--json', 'print JSON'),
  )
    .addHelpText('after', '\nExamples:\n  $ importer history\n  $ importer history orders --limit 5 --json\n  $ importer history --failed --since 24h')
    .action(async (name: string | undefined, o: CommonOptions & { limit: number; since?: Date; failed?: boolean }) => {
      const logger = quietLoggerFor(o);
      await withDatabase(o, logger, async (database) => {
        const runs = await withSession(database.url, async (c) => {
          if (name) await requireKnownJobType(c, name, o.jobtypes);
          return history(c, { jobType: name, since: o.since, failed: o.failed, limit: o.limit });
        });
        process.stdout.write(o.json ? JSON.stringify({ runs }) + '\n' : formatHistory(runs));
      });
    });
}
