import { describe, expect, it } from 'vitest';
import { AdaptiveLimits, apiOfMethod } from '../../../adapters/gcp/deploy/schedule';
import { criticalRoundTrips } from '../../../adapters/shared/calls';

describe('adaptive per-API concurrency', () => {
  it('starts at the ceiling, halves an API on throttling, and grows it back by one per window of successes', () => {
    const limits = new AdaptiveLimits(8);
    expect(limits.limit('aiplatform')).toBe(8);
    limits.throttled('aiplatform');
    expect(limits.limit('aiplatform')).toBe(4);
    // Other APIs are not slowed down.
    expect(limits.limit('bigquery')).toBe(8);
    limits.throttled('aiplatform');
    limits.throttled('aiplatform');
    limits.throttled('aiplatform');
    expect(limits.limit('aiplatform')).toBe(1);
    expect(limits.lowest).toBe(1);
    // One success per slot earns one more slot.
    limits.started('aiplatform');
    limits.finished('aiplatform', true);
    expect(limits.limit('aiplatform')).toBe(2);
    for (let i = 0; i < 2; i++) {
      limits.started('aiplatform');
      limits.finished('aiplatform', true);
    }
    expect(limits.limit('aiplatform')).toBe(3);
    // A failure earns nothing.
    for (let i = 0; i < 5; i++) {
      limits.started('aiplatform');
      limits.finished('aiplatform', false);
    }
    expect(limits.limit('aiplatform')).toBe(3);
  });

  it('lets no more steps of an API start than its limit, nor more in all than the overall cap', () => {
    const limits = new AdaptiveLimits(2, 3);
    limits.started('aiplatform');
    limits.started('aiplatform');
    expect(limits.canStart('aiplatform')).toBe(false);
    expect(limits.canStart('bigquery')).toBe(true);
    limits.started('bigquery');
    expect(limits.canStart('bigquery')).toBe(false);
    limits.finished('aiplatform', true);
    expect(limits.canStart('aiplatform')).toBe(true);
  });

  it('names the API of a manifest method', () => {
    expect(apiOfMethod('aiplatform.projects.locations.endpoints.create')).toBe('aiplatform');
    expect(apiOfMethod('bigquery.tables.insert')).toBe('bigquery');
    expect(apiOfMethod('storage.buckets.insert')).toBe('storage');
  });
});

describe('round trips on the critical path', () => {
  it('counts the longest chain of requests each sent after the previous one was answered', () => {
    // a → b → d in sequence; c overlaps a and b; e overlaps everything.
    const spans = [
      { start: 0, end: 10 }, // a
      { start: 10, end: 20 }, // b
      { start: 5, end: 15 }, // c
      { start: 21, end: 30 }, // d
      { start: 0, end: 30 }, // e
    ];
    expect(criticalRoundTrips(spans)).toBe(3);
  });

  it('counts requests sent together as one round trip, and none for no requests', () => {
    expect(criticalRoundTrips(Array.from({ length: 50 }, () => ({ start: 0, end: 20 })))).toBe(1);
    expect(criticalRoundTrips([])).toBe(0);
  });
});
