/**
 * The restart policy, written once for the in-process supervisor (supervisor.ts) and for the child
 * processes of `--isolate` and `importer schedule` (child.ts): at most `max` restarts within any
 * `withinSeconds`, each after an exponential backoff that doubles from `backoffMs` with every
 * restart still inside the window. Pure: the caller sleeps, and the clock is injectable.
 */

export interface RestartLimits {
  /** Restarts allowed within the window (`restart.max`). */
  readonly max: number;
  /** The sliding window (`restart.within_seconds`). */
  readonly withinSeconds: number;
  /** Delay before the first restart in the window; each further one doubles it (`restart.backoff_ms`). */
  readonly backoffMs: number;
}

export type RestartDecision = { readonly restart: true; readonly delayMs: number; readonly attempt: number } | { readonly restart: false; readonly attempt: number };

export interface RestartPolicy {
  /** Called after a failure: restart (after `delayMs`) or give up. A restart is counted at once. */
  onFailure(): RestartDecision;
  /** Restarts granted so far, over the whole life of the policy. */
  readonly restarts: number;
}

export function restartPolicy(limits: RestartLimits, now: () => number = Date.now): RestartPolicy {
  const windowMs = limits.withinSeconds * 1000;
  const recent: number[] = [];
  let restarts = 0;
  return {
    onFailure(): RestartDecision {
      const t = now();
      while (recent.length > 0 && t - recent[0]! > windowMs) recent.shift();
      if (recent.length >= limits.max) return { restart: false, attempt: restarts };
      const delayMs = limits.backoffMs * 2 ** recent.length;
      recent.push(t);
      restarts++;
      return { restart: true, delayMs, attempt: restarts };
    },
    get restarts() {
      return restarts;
    },
  };
}
