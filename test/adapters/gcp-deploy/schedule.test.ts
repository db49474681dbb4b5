import { describe, expect, it } from 'vitest';
import { AdaptiveLimits, apiOfMethod } from '../../../adapters/gcp/deploy/schedule';
import { callStats, criticalChain, criticalRoundTrips } from '../../../adapters/shared/calls';
import { criticalFirst } from '../../../adapters/gcp/deploy/apply';
import type { Run, Step } from '../../../adapters/gcp/deploy/run';

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

  it('names the requests of that chain, first to last, with their times from the first request (the summary\'s criticalPath)', () => {
    const spans = [
      { start: 100, end: 110, what: 'a' },
      { start: 110, end: 120, what: 'b' },
      { start: 105, end: 115, what: 'c' },
      { start: 121, end: 130, what: 'd' },
      { start: 100, end: 130, what: 'e' },
    ];
    expect(criticalChain(spans).map((s) => s.what)).toEqual(['a', 'b', 'd']);
    expect(callStats(spans).criticalPath).toEqual([
      { what: 'a', startMs: 0, endMs: 10 },
      { what: 'b', startMs: 10, endMs: 20 },
      { what: 'd', startMs: 21, endMs: 30 },
    ]);
  });
});

describe('critical path first', () => {
  const entry = (key: string, method: string, dependsOn: string[] = []) => ({ key, method, dependsOn, path: key, document: `${key}.json`, schema: { kind: 'proto', message: 'x' } });
  const step = (id: string, deps: string[] = [], action = 'create') => ({ item: { id, type: 't', path: id, action }, deps, phase: 'apply', rank: 0, target: id, run: async () => undefined }) as unknown as Step;

  it('ranks each step by the round trips of the longest chain from it to the end (long-running operations three)', () => {
    // GIVEN an endpoint (a long-running create) → its deployed model (long-running) → traffic → a monitor, and unrelated short steps
    const manifest = {
      entries: [
        entry('sa', 'iam.projects.serviceAccounts.create'),
        entry('endpoint', 'aiplatform.projects.locations.endpoints.create'),
        entry('deployed', 'aiplatform.projects.locations.endpoints.deployModel', ['endpoint', 'sa']),
        entry('traffic', 'aiplatform.projects.locations.endpoints.patch', ['deployed']),
        entry('monitor', 'aiplatform.projects.locations.modelDeploymentMonitoringJobs.create', ['traffic']),
        entry('role', 'iam.projects.roles.create'),
        entry('policy', 'cloudresourcemanager.projects.setIamPolicy', ['role', 'sa']),
      ],
    };
    const steps = [step('sa'), step('endpoint'), step('deployed', ['endpoint', 'sa']), step('traffic', ['deployed'], 'update'), step('monitor', ['traffic']), step('role'), step('policy', ['role', 'sa'], 'update')];
    const by = criticalFirst({ manifest } as unknown as Run, steps);
    const level = Object.fromEntries(steps.map((s) => [s.item.id, by.get(s)]));
    // THEN the endpoint heads the longest chain: 3 + 3 + 1 + 1; the service account feeds it too
    expect(level).toEqual({ endpoint: 8, sa: 6, deployed: 5, traffic: 2, monitor: 1, role: 2, policy: 1 });
  });

  it('costs nothing for a step with nothing to send', () => {
    const manifest = { entries: [entry('a', 'aiplatform.projects.locations.endpoints.create'), entry('b', 'aiplatform.projects.locations.endpoints.patch', ['a'])] };
    const steps = [step('a', [], 'noop'), step('b', ['a'], 'update')];
    const by = criticalFirst({ manifest } as unknown as Run, steps);
    expect(steps.map((s) => by.get(s))).toEqual([1, 1]);
  });
});
