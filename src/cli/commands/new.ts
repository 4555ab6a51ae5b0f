/** `importer new NAME --from SAMPLE`: scaffold a definition from a sample CSV. */
import { existsSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { Command } from 'commander';
import { ImporterError } from '../../errors.js';
import { formatProblem, loadJobTypes } from '../../jobtypes/load.js';
import { renderDefinition, sniff } from '../../scaffold.js';
import { formatScaffold } from '../format.js';
import { addCommon, positiveInt, type CommonOptions } from '../options.js';

interface NewOptions extends CommonOptions {
  from: string;
  table?: string;
  rows: number;
  force?: boolean;
}

async function action(name: string, o: NewOptions): Promise<void> {
  if (!/^[A-Za-z0-9][A-Za-z0-9_.-]*$/.test(name)) throw new ImporterError('USAGE', `job type name "${name}" must start with a letter or digit and use only letters, digits, _ . -`);
  const dir = path.resolve(o.jobtypes);
  const file = path.join(dir, `${name}.yaml`);
  if (existsSync(file) && !o.force) throw new ImporterError('USAGE', `${path.relative(process.cwd(), file)} exists; pass --force to overwrite it`);
  if (!existsSync(o.from)) throw new ImporterError('USAGE', `${o.from}: no such file`);
  const sniffed = await sniff(path.resolve(o.from), o.rows);
  await mkdir(dir, { recursive: true });
  const table = o.table ?? name.replace(/[^A-Za-z0-9_]/g, '_').toLowerCase();
  await writeFile(file, renderDefinition(name, o.from, dir, sniffed, table));
  const check = await loadJobTypes(dir);
  const bad = check.invalid.find((d) => d.file === file);
  if (bad) throw new ImporterError('INTERNAL', `the scaffolded definition does not validate: ${bad.problems.map((p) => formatProblem(file, p)).join('; ')}`);
  process.stdout.write(formatScaffold(name, file, sniffed));
}

export function registerNew(program: Command): void {
  addCommon(
    program
      .command('new')
      .description('scaffold a job type from a sample CSV: sniffs delimiter, encoding, header, types and nullability')
      .argument('<name>', 'job type name (also the default table)')
      .requiredOption('--from <sample>', 'a sample CSV (or .csv.gz)')
      .option('--table <table>', 'target table (default: the name)')
      .option('--rows <n>', 'rows to sniff', positiveInt('--rows'), 10000)
      .option('--force', 'overwrite an existing definition'),
  )
    .addHelpText('after', '\nExamples:\n  $ importer new payments --from /srv/drop/payments/payments-2026-11-01.csv\n  $ importer new stock --from stock.csv --table warehouse.stock --jobtypes ./jobtypes')
    .action(action);
}
