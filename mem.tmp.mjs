import { run } from './dist/src/importer.js';
import { silentLogger } from './dist/src/observability/logger.js';
const max = { rss: 0, heapUsed: 0, heapTotal: 0, external: 0, arrayBuffers: 0 };
const t = setInterval(() => { if (process.env.GC) global.gc(); const m = process.memoryUsage(); for (const k of Object.keys(max)) max[k] = Math.max(max[k], m[k]); }, 20);
const base = process.memoryUsage();
await run({ jobtypesDir: '/tmp/b1/jt', only: ['bench'], databaseUrl: process.env.DATABASE_URL, dataDir: '/tmp/b1/data', force: true, logger: silentLogger() });
clearInterval(t);
console.log('base', Object.fromEntries(Object.entries(base).map(([k, v]) => [k, (v / 1e6).toFixed(0)])));
console.log('max', Object.fromEntries(Object.entries(max).map(([k, v]) => [k, (v / 1e6).toFixed(0)])));
