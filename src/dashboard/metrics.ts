/**
 * Prometheus metrics of the dashboard: sums over the ledger (read at scrape time), and what live
 * progress messages say (file durations, buffers, connections per process). Every metric is
 * prefixed `importer_`; labels come only from validated messages (dashboard/progress.ts).
 *
 * As Prometheus means them: `_total` names a counter, which only goes up and counts what this
 * process saw since it started (files that ended, their rows), so that rate() works across runs;
 * the ledger's sums can go down (a replace, a deleted history) and are gauges without the suffix.
 */
import client from 'prom-client';
import { totals } from '../db/read/status.js';
import type { Queryable } from '../db/read/queryable.js';
import type { ProgressMessage } from '../observability/publish.js';

export interface DashboardMetrics {
  readonly registry: client.Registry;
  observe(m: ProgressMessage): void;
}

function ledgerGauges(registry: client.Registry, db: Queryable): void {
  new client.Gauge({
    name: 'importer_rows_loaded',
    help: 'Rows loaded into target tables, by job type: the sum over the ledger (importer.files) at scrape time',
    labelNames: ['job_type'],
    registers: [registry],
    async collect() {
      this.reset();
      for (const t of await totals(db)) this.set({ job_type: t.job_type }, t.loaded);
    },
  });
  new client.Gauge({
    name: 'importer_rows_rejected',
    help: 'Rows rejected into importer.rejects, by job type: the sum over the ledger (importer.files) at scrape time',
    labelNames: ['job_type'],
    registers: [registry],
    async collect() {
      this.reset();
      for (const t of await totals(db)) this.set({ job_type: t.job_type }, t.rejected);
    },
  });
}

/** Counters of what this process saw end since it started: they only go up. */
function liveCounters(registry: client.Registry): (m: ProgressMessage) => void {
  const files = new client.Counter({
    name: 'importer_files_total',
    help: 'Files that ended while this dashboard ran, by job type and status (loaded, failed, skipped, interrupted)',
    labelNames: ['job_type', 'status'],
    registers: [registry],
  });
  const loaded = new client.Counter({
    name: 'importer_rows_loaded_total',
    help: 'Rows of loaded files that ended while this dashboard ran, by job type',
    labelNames: ['job_type'],
    registers: [registry],
  });
  const rejected = new client.Counter({
    name: 'importer_rows_rejected_total',
    help: 'Rows rejected in files that ended while this dashboard ran, by job type',
    labelNames: ['job_type'],
    registers: [registry],
  });
  return (m) => {
    const status = m.status ?? 'unknown';
    files.inc({ job_type: m.job_type, status });
    if (status === 'loaded') loaded.inc({ job_type: m.job_type }, Math.max(0, m.rows - m.rejected));
    rejected.inc({ job_type: m.job_type }, Math.max(0, m.rejected));
  };
}

export function createMetrics(db: Queryable): DashboardMetrics {
  const registry = new client.Registry();
  client.collectDefaultMetrics({ register: registry, prefix: 'importer_process_' });
  ledgerGauges(registry, db);
  const duration = new client.Histogram({
    name: 'importer_file_duration_seconds',
    help: 'Seconds per file load, observed live by this dashboard',
    labelNames: ['job_type', 'status'],
    buckets: [0.1, 0.5, 1, 5, 15, 60, 300, 1800],
    registers: [registry],
  });
  const bufferDepth = new client.Gauge({
    name: 'importer_buffer_depth',
    help: 'Batches waiting in the bounded buffer of each file being loaded',
    labelNames: ['job_type', 'file'],
    registers: [registry],
  });
  const bufferCapacity = new client.Gauge({
    name: 'importer_buffer_capacity',
    help: 'Capacity of the bounded buffer of each file being loaded',
    labelNames: ['job_type', 'file'],
    registers: [registry],
  });
  const connections = new client.Gauge({
    name: 'importer_connections_in_use',
    help: 'Database connections leased by each importer process',
    labelNames: ['pid'],
    registers: [registry],
  });
  const counters = liveCounters(registry);
  const observe = (m: ProgressMessage) => {
    const labels = { job_type: m.job_type, file: m.file };
    connections.set({ pid: String(m.pid) }, m.connections_in_use);
    if (m.event === 'end') {
      duration.observe({ job_type: m.job_type, status: m.status ?? 'unknown' }, m.seconds);
      counters(m);
      bufferDepth.remove(labels);
      bufferCapacity.remove(labels);
    } else {
      bufferDepth.set(labels, m.buffer_size);
      bufferCapacity.set(labels, m.buffer_capacity);
    }
  };
  return { registry, observe };
}
