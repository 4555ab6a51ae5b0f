/** What every caster shares: the failure value, the caster's signature, and how values are quoted in messages. */

export class CastFailure {
  constructor(
    readonly code: string,
    readonly message: string,
  ) {}
}

/** A cast value: PostgreSQL input text, null for SQL NULL, or why the row is rejected. */
export type CastOutcome = string | null | CastFailure;

/** `quoted()` says whether the field was written in quotes (only asked for empty or trimmed text). */
export type Caster = (value: string | undefined, quoted: () => boolean) => CastOutcome;

export interface CastContext {
  /** IANA zone applied to timestamptz values that carry no offset. */
  readonly timezone: string | undefined;
}

/** A value as error messages quote it: at most 60 characters. */
export function truncate(v: string): string {
  return v.length > 60 ? `${v.slice(0, 57)}...` : v;
}

export function pad(n: number | string, width: number): string {
  return String(n).padStart(width, '0');
}
