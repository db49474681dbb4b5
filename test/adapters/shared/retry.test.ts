import { describe, expect, it } from 'vitest';
import { backoffMs, parseRetryAfter, withRetries } from '../../../adapters/shared/retry';

describe('retry', () => {
  it('parses Retry-After as seconds or as an HTTP date', () => {
    const now = Date.parse('2026-11-27T10:00:00Z');
    expect(parseRetryAfter('7', now)).toBe(7000);
    expect(parseRetryAfter('Fri, 27 Nov 2026 10:00:05 GMT', now)).toBe(5000);
    expect(parseRetryAfter('soon', now)).toBeUndefined();
    expect(parseRetryAfter(undefined, now)).toBeUndefined();
  });

  it('backs off exponentially with jitter, capped', () => {
    expect(backoffMs(1, { baseMs: 100, random: () => 0 })).toBe(50);
    expect(backoffMs(3, { baseMs: 100, random: () => 0.999 })).toBe(400);
    expect(backoffMs(20, { baseMs: 100, capMs: 1000, random: () => 0.999 })).toBe(1000);
    expect(backoffMs(1, { retryAfterMs: 3000 })).toBe(3000);
  });

  it('retries retryable errors after the server-requested wait, then succeeds', async () => {
    const waits: number[] = [];
    let calls = 0;
    const result = await withRetries(async () => {
      calls++;
      if (calls < 3) throw Object.assign(new Error('throttled'), { status: 429 });
      return 'ok';
    }, { classify: () => ({ retry: true, retryAfterMs: 2000, reason: '429' }), sleep: async (ms) => void waits.push(ms) });
    expect(result).toBe('ok');
    expect(waits).toEqual([2000, 2000]);
  });

  it('fails fast on a non-retryable error', async () => {
    let calls = 0;
    await expect(withRetries(async () => {
      calls++;
      throw new Error('bad request');
    }, { classify: () => ({ retry: false }), sleep: async () => {} })).rejects.toThrow('bad request');
    expect(calls).toBe(1);
  });

  it('gives up after maxAttempts and rethrows the last error', async () => {
    let calls = 0;
    await expect(withRetries(async () => {
      calls++;
      throw new Error(`fail ${calls}`);
    }, { classify: () => ({ retry: true, reason: '503' }), maxAttempts: 4, sleep: async () => {} })).rejects.toThrow('fail 4');
    expect(calls).toBe(4);
  });
});
