import { describe, expect, it } from 'vitest';
import { restartPolicy, type RestartDecision } from '../../src/supervisor/restartPolicy.js';

function clock(start = 1_000_000) {
  let t = start;
  return { now: () => t, advance: (ms: number) => (t += ms) };
}

const delays = (ds: RestartDecision[]) => ds.map((d) => (d.restart ? d.delayMs : 'stop'));

describe('restart policy', () => {
  it('doubles the backoff from backoff_ms and stops after max restarts within the window', () => {
    const c = clock();
    const p = restartPolicy({ max: 3, withinSeconds: 60, backoffMs: 100 }, c.now);
    const ds = [p.onFailure(), p.onFailure(), p.onFailure(), p.onFailure()];
    expect(delays(ds)).toEqual([100, 200, 400, 'stop']);
    expect(ds.map((d) => d.attempt)).toEqual([1, 2, 3, 3]);
    expect(p.restarts).toBe(3);
  });

  it('forgets restarts older than the window, and the backoff shrinks with them', () => {
    const c = clock();
    const p = restartPolicy({ max: 2, withinSeconds: 10, backoffMs: 50 }, c.now);
    expect(delays([p.onFailure(), p.onFailure(), p.onFailure()])).toEqual([50, 100, 'stop']);
    c.advance(10_000); // exactly the window: still inside
    expect(p.onFailure().restart).toBe(false);
    c.advance(1);
    expect(delays([p.onFailure()])).toEqual([50]);
    expect(p.restarts).toBe(3);
  });

  it('slides the window one restart at a time', () => {
    const c = clock();
    const p = restartPolicy({ max: 2, withinSeconds: 1, backoffMs: 10 }, c.now);
    p.onFailure(); // t = 0
    c.advance(600);
    p.onFailure(); // t = 600
    c.advance(600); // t = 1200: the first fell out, the second is still in
    expect(delays([p.onFailure(), p.onFailure()])).toEqual([20, 'stop']);
  });

  it('never restarts with max 0', () => {
    const p = restartPolicy({ max: 0, withinSeconds: 60, backoffMs: 100 }, clock().now);
    expect(p.onFailure()).toEqual({ restart: false, attempt: 0 });
    expect(p.restarts).toBe(0);
  });

  it('keeps separate counts per policy', () => {
    const c = clock();
    const a = restartPolicy({ max: 1, withinSeconds: 60, backoffMs: 1 }, c.now);
    const b = restartPolicy({ max: 1, withinSeconds: 60, backoffMs: 1 }, c.now);
    expect([a.onFailure().restart, a.onFailure().restart, b.onFailure().restart]).toEqual([true, false, true]);
  });
});
