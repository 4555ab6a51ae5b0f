/** Shared by the read commands: a job type name that nothing knows is an error, and `--since` values. */
import { knownJobTypes } from '../db/read/status.js';
import type { Queryable } from '../db/read/queryable.js';
import { ImporterError } from '../errors.js';
import { loadJobTypes } from '../jobtypes/load.js';
import { didYouMean } from '../util/didYouMean.js';

/** Throws JOBTYPE_UNKNOWN (exit 2) when neither the definitions in `dir` nor the ledger know `name`. */
export async function requireKnownJobType(c: Queryable, name: string, dir: string): Promise<void> {
  const known = await knownJobTypes(c);
  if (known.includes(name)) return;
  const defined = (await loadJobTypes(dir).catch(() => undefined))?.valid.map((j) => j.name) ?? [];
  if (defined.includes(name)) return;
  const guess = didYouMean(name, [...new Set([...known, ...defined])]);
  throw new ImporterError('JOBTYPE_UNKNOWN', `unknown job type "${name}"${guess ? ` (did you mean "${guess}"?)` : ''}: no definition in ${dir} and nothing in the ledger`, { name });
}

const DURATION = /^(\d+)\s*(s|m|h|d|w)$/i;
const UNIT_MS: Record<string, number> = { s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000, w: 7 * 86_400_000 };

/** `--since`: an ISO 8601 date or time (a date alone is midnight UTC), or a duration back from `now`. */
export function sinceOption(v: string, _prev?: unknown, now: () => number = Date.now): Date {
  const d = DURATION.exec(v.trim());
  if (d) return new Date(now() - Number(d[1]) * UNIT_MS[d[2]!.toLowerCase()]!);
  const t = Date.parse(/^\d{4}-\d{2}-\d{2}$/.test(v) ? `${v}T00:00:00Z` : v);
  if (Number.isNaN(t)) throw new ImporterError('USAGE', `--since expects an ISO 8601 date or time (2026-11-30, 2026-11-30T22:00Z) or a duration (12h, 7d), got "${v}"`);
  return new Date(t);
}
