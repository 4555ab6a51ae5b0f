/**
 * The command line: the only place that reads argv and the environment and decides the exit code.
 * Each command is a module in cli/commands/ that parses its options, calls importer.ts or the read
 * model (src/db/read/), and prints through cli/format.ts.
 *
 * Exit codes: 0 success; 1 a job type, file or definition failed; 2 bad usage or no valid
 * definition; 70 a crash; 128+N stopped by signal N (130 for SIGINT, 143 for SIGTERM). All in
 * errors.ts (EXIT, exitCodeFor per error code, signalExitCode).
 */
import { Command, CommanderError } from 'commander';
import { ImporterError, errorCode, errorMessage, exitCodeFor } from '../errors.js';
import { installCrashCapture } from '../observability/crash.js';
import { registerDoctor } from './commands/doctor.js';
import { registerHistory } from './commands/history.js';
import { registerJobTypes } from './commands/jobtypes.js';
import { registerNew } from './commands/new.js';
import { registerRejects } from './commands/rejects.js';
import { registerRun } from './commands/run.js';
import { registerSchedule } from './commands/schedule.js';
import { registerServe } from './commands/serve.js';
import { registerSql } from './commands/sql.js';
import { registerStatus } from './commands/status.js';
import { registerValidate } from './commands/validate.js';
import { EXIT } from './options.js';
import { packageVersion } from './version.js';

export { EXIT } from './options.js';

export function buildProgram(): Command {
  const program = new Command();
  program
    .name('importer')
    .description('Load CSV files into PostgreSQL: one job type per definition file, back-pressured COPY pipelines, exactly-once.')
    .showSuggestionAfterError(true)
    .showHelpAfterError('(run with --help for usage)')
    .version(`importer ${packageVersion()} (Node.js ${process.version})`, '-V, --version', 'print the version')
    .exitOverride();
  // In this order in `importer --help`.
  registerRun(program);
  registerStatus(program);
  registerHistory(program);
  registerNew(program);
  registerJobTypes(program);
  registerSql(program);
  registerSchedule(program);
  registerServe(program);
  registerValidate(program);
  registerRejects(program);
  registerDoctor(program);
  return program;
}

export async function main(argv: string[]): Promise<void> {
  const program = buildProgram();
  // `importer ... | head` closes stdout early: that is not an error worth a stack trace.
  process.stdout.on('error', (err: NodeJS.ErrnoException) => {
    if (err.code === 'EPIPE') process.exit(process.exitCode ?? 0);
    throw err;
  });
  installCrashCapture((code) => process.exit(code));
  try {
    await program.parseAsync(argv);
  } catch (err) {
    if (err instanceof CommanderError) {
      process.exitCode = err.exitCode === 0 ? EXIT.ok : EXIT.usage;
      return;
    }
    const code = errorCode(err);
    process.stderr.write(`importer: ${code}: ${errorMessage(err)}\n`);
    if (err instanceof ImporterError && err.code === 'JOBTYPE_NONE_VALID') {
      for (const d of (err.context.invalid as Array<{ errors: string[] }> | undefined) ?? []) for (const e of d.errors) process.stderr.write(`  ${e}\n`);
    }
    process.exitCode = exitCodeFor(code);
  }
}
