/** `importer jobtypes list` and `importer jobtypes validate`: the definitions, without a database. */
import path from 'node:path';
import type { Command } from 'commander';
import { formatProblem, loadJobTypes, type LoadedJobTypes } from '../../jobtypes/load.js';
import { nextFire } from '../../util/cron.js';
import { formatJobTypeList, shownPath, type JobTypeListRow } from '../format.js';
import { addCommon, EXIT, type CommonOptions } from '../options.js';

function listRows(loaded: LoadedJobTypes): JobTypeListRow[] {
  return [
    ...loaded.valid.map((j) => ({
      name: j.name,
      valid: true,
      enabled: j.enabled,
      table: `${j.target.schema}.${j.target.table}`,
      mode: j.target.mode,
      parser: j.csv.parser,
      strategy: j.target.strategy,
      client_only: [...j.csv.clientOnly],
      source: path.join(shownPath(j.source.dir), j.source.pattern),
      schedule: j.schedule ?? null,
      next_fire: j.schedule && j.enabled ? (nextFire(j.schedule, j.timezone)?.toISOString() ?? null) : null,
      file: path.relative(process.cwd(), j.file),
      errors: [] as string[],
    })),
    ...loaded.invalid.map((d) => ({
      name: d.name,
      valid: false,
      enabled: false,
      table: null,
      mode: null,
      parser: null,
      strategy: null,
      client_only: [] as string[],
      source: null,
      schedule: null,
      next_fire: null,
      file: path.relative(process.cwd(), d.file),
      errors: d.problems.map((p) => formatProblem(d.file, p)),
    })),
  ].sort((a, b) => a.name.localeCompare(b.name));
}

export function registerJobTypes(program: Command): void {
  const jobtypes = program.command('jobtypes').description('list and validate job type definitions');
  addCommon(jobtypes.command('list').description('show every definition with its table, source, schedule and validity').option('--json', 'print JSON'))
    .addHelpText('after', '\nExample:\n  $ importer jobtypes list --jobtypes ./jobtypes')
    .action(async (o: CommonOptions) => {
      const rows = listRows(await loadJobTypes(o.jobtypes));
      process.stdout.write(o.json ? JSON.stringify({ jobtypes: rows }) + '\n' : formatJobTypeList(rows));
    });
  addCommon(jobtypes.command('validate').description('check every definition; exit 1 when any is invalid'))
    .addHelpText('after', '\nExample:\n  $ importer jobtypes validate && echo all good')
    .action(async (o: CommonOptions) => {
      const loaded = await loadJobTypes(o.jobtypes);
      for (const j of loaded.valid) process.stdout.write(`ok       ${path.relative(process.cwd(), j.file)} (${j.name})\n`);
      for (const d of loaded.invalid) for (const p of d.problems) process.stdout.write(`invalid  ${formatProblem(d.file, p)}\n`);
      if (loaded.valid.length + loaded.invalid.length === 0) {
        process.stdout.write(`no definitions in ${loaded.dir}\n`);
        process.exitCode = EXIT.usage;
      } else process.exitCode = loaded.invalid.length > 0 ? EXIT.failed : EXIT.ok;
    });
}
