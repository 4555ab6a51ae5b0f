import { describe, expect, it } from 'vitest';
import { backoffDelay, isTransient, withRetry, DEFAULT_RETRY } from '../../src/db/retry.js';
import { ImporterError } from '../../src/errors.js';
import { silentLogger } from '../../src/observability/logger.js';

const pgError = (code: string) => Object.assign(new Error(`pg ${code}`), { code });

describe('retry classification', () => {
  it('retries connection, shutdown, capacity, serialization and deadlock errors by SQLSTATE', () => {
    for (const code of ['08006', '08001', '57P01', '57P03', '53300', '40001', '40P01', 'ECONNREFUSED', 'ECONNRESET']) expect(isTransient(pgError(code)), code).toBe(true);
    expect(isTransient(new Error('Connection terminated unexpectedly'))).toBe(true);
  });

  it('does not retry permanent errors', () => {
    for (const code of ['42P01', '22001', '23505', '42703']) expect(isTransient(pgError(code)), code).toBe(false);
    expect(isTransient(new ImporterError('DB_CONFLICT', 'x'))).toBe(false);
  });

  it('backs off exponentially with jitter, capped', () => {
    const policy = { deadlineMs: 1000, baseMs: 100, maxDelayMs: 1000 };
    expect(backoffDelay(0, policy, () => 0)).toBe(50);
    expect(backoffDelay(0, policy, () => 1)).toBe(100);
    expect(backoffDelay(3, policy, () => 1)).toBe(800);
    expect(backoffDelay(10, policy, () => 1)).toBe(1000);
  });

  it('gives up at the deadline with DB_TRANSIENT, and passes permanent errors through at once', async () => {
    let calls = 0;
    await expect(
      withRetry('x', async () => {
        calls++;
        throw pgError('57P01');
      }, { deadlineMs: 50, baseMs: 5, maxDelayMs: 10 }, silentLogger()),
    ).rejects.toMatchObject({ code: 'DB_TRANSIENT' });
    expect(calls).toBeGreaterThan(1);
    calls = 0;
    await expect(
      withRetry('x', async () => {
        calls++;
        throw pgError('22001');
      }, DEFAULT_RETRY, silentLogger()),
    ).rejects.toMatchObject({ code: '22001' });
    expect(calls).toBe(1);
  });
});
