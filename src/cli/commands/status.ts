/** `importer status`: each job type's last run and next fire, from the read model. */
import type { Command } from 'commander';
import { status } from '../../db/read/status.js';
import { withSession } from '../../db/session.js';
import { errorCode, errorMessage } from '../../errors.js';
import { loadJobTypes } from '../../jobtypes/load.js';
import { formatStatus } from '../format.js';
import { addCommon, quietLoggerFor, withDatabase, type CommonOptions } from '../options.js';

export function registerStatus(program: Command): void {
  addCommon(program.command('status').description('one line per job type: its last run (when, result, rows, rejects, duration) and its next scheduled time').option('--json', 'print JSON'))
    .addHelpText('after', '\nExamples:\n  $ importer status\n  $ importer status --json | jq \'.jobtypes[] | select(.last_run.status == "failed")\'')
    .action(async (o: CommonOptions) => {
      const logger = quietLoggerFor(o);
      // Without the definitions folder (run from elsewhere), the ledger still knows every job type.
      const loaded = await loadJobTypes(o.jobtypes).catch((err: unknown) => {
        if (errorCode(err) !== 'JOBTYPES_DIR_NOT_FOUND') throw err;
        logger.warn(`${errorMessage(err)}: showing the job types the ledger knows, without their schedules`);
        return undefined;
      });
      await withDatabase(o, logger, async (database) => {
        const rows = await withSession(database.url, (c) => status(c, loaded?.valid ?? []));
        process.stdout.write(o.json ? JSON.stringify({ jobtypes: rows }) + '\n' : formatStatus(rows));
      });
    });
}
