/** `importer run [JOBTYPE...]`: load once, print the summary (or --json), exit by the outcome. */
import { Option, type Command } from 'commander';
import { run, DEFAULTS, type RunReport } from '../../importer.js';
import { stderrSink } from '../../observability/logger.js';
import { createProgress } from '../../observability/progress.js';
import { runIsolated } from '../../importer.js';
import { formatSummary } from '../format.js';
import { addCommon, EXIT, serverChoice, loggerFor, useColor, nonNegativeInt, positiveInt, type CommonOptions } from '../options.js';
import { shutdownSignal, signalExitCode } from '../signals.js';

interface RunOptions extends CommonOptions {
  force?: boolean;
  maxConnections: number;
  jobs: number;
  buffer?: number;
  consumers?: number;
  retryDeadline: number;
  shutdownTimeout: number;
  trigger: string;
  progressInterval: number;
  parseThreads?: number;
  isolate?: boolean;
}

const EXAMPLES = `
Examples:
  $ importer run                         load every job type in ./jobtypes
  $ importer run orders customers        load two job types
  $ importer run --json > result.json    machine-readable result on stdout, logs on stderr
  $ DATABASE_URL=postgres://user@db/warehouse importer run --max-connections 8`;

function runExitCode(report: RunReport, sig: NodeJS.Signals | undefined): number {
  if (sig) return signalExitCode(sig);
  return report.status === 'succeeded' ? EXIT.ok : EXIT.failed;
}

async function action(names: string[], o: RunOptions): Promise<void> {
  const tty = process.stderr.isTTY === true && !process.env.IMPORTER_CHILD;
  // On a terminal, log lines go through the progress bars (not through them: no stale bar lines).
  const sink = tty ? stderrSink() : undefined;
  const logger = loggerFor(o, sink);
  const choice = serverChoice(o);
  const shutdown = shutdownSignal(logger, o.shutdownTimeout * 1000);
  const progress = o.quiet || o.logLevel === 'silent' ? undefined : createProgress({ logger, tty, intervalMs: o.progressInterval * 1000, sink });
  try {
    const childArgs = ['--log-level', o.logLevel, '--log-format', o.logFormat, ...(useColor(o) ? [] : ['--no-color']), ...(o.parseThreads !== undefined ? ['--parse-threads', String(o.parseThreads)] : [])];
    const runner = o.isolate ? (x: Parameters<typeof run>[0]) => runIsolated({ ...x, childArgs }) : run;
    const report = await runner({
      jobtypesDir: o.jobtypes,
      only: names,
      databaseUrl: choice.url,
      databaseChosenBy: choice.chosenBy,
      connectTimeoutMs: o.connectTimeout * 1000,
      dataDir: o.dataDir,
      maxConnections: o.maxConnections,
      jobs: o.jobs,
      bufferBatches: o.buffer,
      consumers: o.consumers,
      force: o.force ?? false,
      retryDeadlineMs: o.retryDeadline * 1000,
      trigger: o.trigger,
      parseThreads: o.parseThreads,
      logger,
      signal: shutdown.signal,
      ...(progress ? { onFileStart: progress.onFileStart, onFileProgress: progress.onFileProgress, onFileEnd: progress.onFileEnd } : {}),
    });
    progress?.stop();
    process.stdout.write(o.json ? JSON.stringify(report) + '\n' : formatSummary(report));
    process.exitCode = runExitCode(report, shutdown.received());
  } finally {
    progress?.stop();
    shutdown.dispose();
  }
}

export function registerRun(program: Command): void {
  addCommon(
    program
      .command('run')
      .description('load the files of every job type (or the named ones) once, then print a summary')
      .argument('[jobtypes...]', 'job type names (default: all enabled job types)')
      .option('--json', 'print one JSON document on stdout instead of the summary')
      .option('--force', 'load files again even if the ledger says they were loaded')
      .option('--isolate', 'run each job type in its own child process, so that even a hard crash of one is contained (the connections are split between them)')
      .option('--max-connections <n>', 'connections to PostgreSQL at most, for the whole process', positiveInt('--max-connections'), DEFAULTS.maxConnections)
      .option('--jobs <n>', 'job types loading at once', positiveInt('--jobs'), DEFAULTS.jobs)
      .option('--buffer <n>', `batches buffered per file between batcher and consumers (default: the definition's pipeline.buffer_batches, else ${DEFAULTS.bufferBatches})`, positiveInt('--buffer'))
      .option('--consumers <n>', `parallel COPY streams per file (default: pipeline.consumers, else ${DEFAULTS.consumers})`, positiveInt('--consumers'))
      .option('--retry-deadline <seconds>', 'how long transient database errors are retried', positiveInt('--retry-deadline'), 300)
      .option('--shutdown-timeout <seconds>', 'on SIGTERM/SIGINT, how long in-flight batches may take before the process exits anyway', positiveInt('--shutdown-timeout'), 30)
      .option('--parse-threads <n>', `one pool of threads for the process that parse and cast files over 4 MiB (0: all in the main thread; default ${DEFAULTS.parseThreads} here)`, nonNegativeInt('--parse-threads'))
      .option('--progress-interval <seconds>', 'without a terminal: seconds between plain progress lines', positiveInt('--progress-interval'), 5)
      .addOption(new Option('--trigger <name>', 'recorded in the run history (schedule sets it)').default('manual').hideHelp()),
  )
    .addHelpText('after', EXAMPLES)
    .action(action);
}
