/** What the read model's queries run on: a pool (the dashboard) or one client (a short command). */
import type pg from 'pg';

export type Queryable = Pick<pg.ClientBase, 'query'>;

/** Every column as PostgreSQL's own text: bigints stay exact, timestamps are converted here. */
export const RAW_TYPES = { getTypeParser: () => (v: string) => v };

export const num = (v: string | null | undefined): number | null => (v === null || v === undefined ? null : Number(v));

/** A timestamptz text (the connection's time zone is UTC, see db/pool.ts) as ISO 8601. */
export const iso = (v: string | null | undefined): string | null => (v === null || v === undefined ? null : new Date(v).toISOString());
