/**
 * Prometheus metrics of the dashboard: totals from the ledger (read at scrape time), and what live
 * progress messages say (file durations, buffers, connections per process). Every metric is
 * prefixed `importer_`; labels come only from validated messages (dashboard/progress.ts).
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
    name: 'importer_rows_loaded_total',
    help: 'Rows loaded into target tables, by job type (from the ledger)',
    labelNames: ['job_type'],
    registers: [registry],
    async collect() {
      this.reset();
      for (const t of await totals(db)) this.set({ job_type: t.job_type }, t.loaded);
    },
  });
  new client.Gauge({
    name: 'importer_rows_rejected_total',
    help: 'Rows rejected into importer.rejects, by job type (from the ledger)',
    labelNames: ['job_type'],
    registers: [registry],
    async collect() {
      this.reset();
      for (const t of await totals(db)) this.set({ job_type: t.job_type }, t.rejected);
    },
  });
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
  const observe = (m: ProgressMessage) => {
    const labels = { job_type: m.job_type, file: m.file };
    connections.set({ pid: String(m.pid) }, m.connections_in_use);
    if (m.event === 'end') {
      duration.observe({ job_type: m.job_type, status: m.status ?? 'unknown' }, m.seconds);
      bufferDepth.remove(labels);
      bufferCapacity.remove(labels);
    } else {
      bufferDepth.set(labels, m.buffer_size);
      bufferCapacity.set(labels, m.buffer_capacity);
    }
  };
  return { registry, observe };
}
