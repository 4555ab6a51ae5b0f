/**
 * The dashboard's JSON API: each route reads the read model (src/db/read/) and answers JSON. Ids
 * in the path are checked before any query: a malformed one answers 400, an unknown one 404.
 */
import type { URL } from 'node:url';
import { run, runs } from '../db/read/runs.js';
import { fileRejects } from '../db/read/rejects.js';
import { schedulerHealth } from '../db/read/scheduler.js';
import { status } from '../db/read/status.js';
import type { Queryable } from '../db/read/queryable.js';
import { loadJobTypes } from '../jobtypes/load.js';

export type Json = (code: number, body: unknown) => void;

/** A positive id that a bigint column can hold and a JavaScript number represents exactly, or undefined. */
export function parseId(text: string): number | undefined {
  if (!/^[1-9][0-9]{0,15}$/.test(text)) return undefined;
  const n = Number(text);
  return Number.isSafeInteger(n) ? n : undefined;
}

async function jobtypes(db: Queryable, jobtypesDir: string, json: Json): Promise<void> {
  const loaded = await loadJobTypes(jobtypesDir);
  json(200, {
    jobtypes: await status(db, loaded.valid),
    invalid: loaded.invalid.map((d) => ({ name: d.name, errors: d.problems.map((x) => `${x.path ? `${x.path}: ` : ''}${x.message}`) })),
  });
}

/** Answers one GET under /api/ (but /api/events, the live stream). */
export async function api(db: Queryable, jobtypesDir: string, url: URL, json: Json): Promise<void> {
  const p = url.pathname;
  if (p === '/api/jobtypes') return jobtypes(db, jobtypesDir, json);
  if (p === '/api/scheduler') return json(200, await schedulerHealth(db));
  if (p === '/api/runs') {
    const limit = Math.min(1000, Math.max(1, Number(url.searchParams.get('limit') ?? 50) || 50));
    return json(200, { runs: await runs(db, { jobType: url.searchParams.get('job_type') ?? undefined, limit }) });
  }
  let m = /^\/api\/runs\/([^/]*)$/.exec(p);
  if (m) {
    const id = parseId(m[1]!);
    if (id === undefined) return json(400, { error: 'a run id is a whole number from 1 upwards' });
    const r = await run(db, id);
    return r ? json(200, r) : json(404, { error: 'no such run' });
  }
  m = /^\/api\/files\/([^/]*)\/rejects$/.exec(p);
  if (m) {
    const id = parseId(m[1]!);
    if (id === undefined) return json(400, { error: 'a file id is a whole number from 1 upwards' });
    const r = await fileRejects(db, id);
    return r ? json(200, r) : json(404, { error: 'no such file' });
  }
  json(404, { error: 'not found' });
}
