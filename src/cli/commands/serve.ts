/** `importer serve`: the dashboard until SIGINT/SIGTERM, then exit 130/143 like `run` and `schedule`. */
import path from 'node:path';
import type { Command } from 'commander';
import { addCommon, ALLOW_HOST_HELP, collect, dashboardAccess, EXIT, loggerFor, positiveInt, withDatabase, type CommonOptions } from '../options.js';
import { shutdownSignal, signalExitCode } from '../signals.js';

const EXAMPLES = `
Examples:
  $ importer serve                                   http://127.0.0.1:7070/
  $ IMPORTER_DASHBOARD_TOKEN=s3cret importer serve --host 0.0.0.0
  $ curl -H "Authorization: Bearer s3cret" http://host:7070/api/runs
  $ importer serve --allow-host dash.example.com     behind a proxy that passes Host: dash.example.com`;

async function action(o: CommonOptions & { host: string; port: number; allowHost?: string[] }): Promise<void> {
  const logger = loggerFor(o);
  await withDatabase(o, logger, async (database) => {
    // Loaded on demand: the dashboard (and prom-client) costs memory that `run` does not need.
    const { startDashboard } = await import('../../dashboard/server.js');
    const dashboard = await startDashboard({ host: o.host, port: o.port, databaseUrl: database.url, jobtypesDir: path.resolve(o.jobtypes), dataDir: o.dataDir, ...dashboardAccess(o.allowHost), logger });
    // The handler first: whoever waits for this line may signal at once.
    const shutdown = shutdownSignal(logger, 10_000);
    process.stdout.write(`dashboard: ${dashboard.url}\n`);
    await shutdown.requested();
    await dashboard.stop();
    const sig = shutdown.received();
    shutdown.dispose();
    process.exitCode = sig ? signalExitCode(sig) : EXIT.ok;
  });
}

export function registerServe(program: Command): void {
  addCommon(
    program
      .command('serve')
      .description('the dashboard: job types, live imports, run history, rejects, the scheduler\'s heartbeat; a JSON API, /metrics, and "run now" (with a token)')
      .option('--host <host>', 'address to listen on', '127.0.0.1')
      .option('--port <port>', 'port', positiveInt('--port'), 7070)
      .option('--allow-host <name>', ALLOW_HOST_HELP, collect),
  )
    .addHelpText('after', EXAMPLES)
    .action(action);
}
