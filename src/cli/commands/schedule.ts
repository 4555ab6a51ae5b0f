/** `importer schedule`: the daemon, optionally with the dashboard; exits 130/143 on a signal. */
import path from 'node:path';
import type { Command } from 'commander';
import type { Dashboard } from '../../dashboard/server.js';
import { Scheduler } from '../../supervisor/scheduler.js';
import { addCommon, ALLOW_HOST_HELP, collect, dashboardAccess, EXIT, loggerFor, positiveInt, useColor, withDatabase, type CommonOptions } from '../options.js';
import { shutdownSignal, signalExitCode } from '../signals.js';

interface ScheduleOptions extends CommonOptions {
  runNow?: boolean;
  maxConnections: number;
  jobs: number;
  shutdownTimeout: number;
  dashboard?: boolean;
  host: string;
  port: number;
  allowHost?: string[];
}

const EXAMPLES = `
Examples:
  $ importer schedule                      fire job types on their schedule: lines until stopped
  $ importer schedule --run-now            also run everything once at start
  $ DATABASE_URL=postgres://... importer schedule --max-connections 10 --jobs 4`;

async function action(o: ScheduleOptions): Promise<void> {
  const logger = loggerFor(o);
  await withDatabase(o, logger, async (database) => {
    let dashboard: Dashboard | undefined;
    if (o.dashboard) {
      const { startDashboard } = await import('../../dashboard/server.js');
      dashboard = await startDashboard({ host: o.host, port: o.port, databaseUrl: database.url, jobtypesDir: path.resolve(o.jobtypes), dataDir: o.dataDir, ...dashboardAccess(o.allowHost), logger });
    }
    const scheduler = new Scheduler({
      jobtypesDir: path.resolve(o.jobtypes),
      databaseUrl: database.url,
      logger,
      maxConnections: o.maxConnections,
      jobs: o.jobs,
      runNow: o.runNow ?? false,
      shutdownTimeoutMs: o.shutdownTimeout * 1000,
      dataDir: o.dataDir,
      childArgs: ['--log-level', o.logLevel, '--log-format', o.logFormat, ...(useColor(o) ? [] : ['--no-color'])],
    });
    const shutdown = shutdownSignal(logger, (o.shutdownTimeout + 10) * 1000, () => scheduler.kill());
    try {
      await scheduler.start();
      await shutdown.requested();
      await scheduler.stop();
      await dashboard?.stop();
      logger.info('scheduler stopped');
      const sig = shutdown.received();
      process.exitCode = sig ? signalExitCode(sig) : EXIT.ok;
    } finally {
      shutdown.dispose();
    }
  });
}

export function registerSchedule(program: Command): void {
  addCommon(
    program
      .command('schedule')
      .description('daemon: fire each job type on its cron schedule, reload definitions when the folder changes')
      .option('--run-now', 'run every job type once at start')
      .option('--max-connections <n>', 'connections for the daemon and all its imports together', positiveInt('--max-connections'), 8)
      .option('--jobs <n>', 'imports running at once (each gets an equal share of the connections)', positiveInt('--jobs'), 3)
      .option('--shutdown-timeout <seconds>', 'on SIGTERM/SIGINT, how long running imports may take to stop', positiveInt('--shutdown-timeout'), 30)
      .option('--dashboard', 'also serve the dashboard (see importer serve)')
      .option('--host <host>', 'dashboard address', '127.0.0.1')
      .option('--port <port>', 'dashboard port', positiveInt('--port'), 7070)
      .option('--allow-host <name>', ALLOW_HOST_HELP, collect),
  )
    .addHelpText('after', EXAMPLES)
    .action(action);
}
