import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PlanChangedError, type Plan } from '../../../adapters/deploy';
import type { GcpSimulator } from '../../../adapters/gcp/simulator';
import { editResource, engineFor, example, inputFor, Recorder, startSimulator, writes } from './support';

let sim: GcpSimulator;
beforeAll(async () => {
  sim = await startSimulator();
  await engineFor(sim).deploy(inputFor(example('Fraud')));
});
afterAll(async () => {
  await sim.close();
});

const REGION = 'projects/acme-ml/locations/europe-west4';
const STRAY = `${REGION}/endpoints/fraud-prod-stray`;

/** Someone (another pipeline, a colleague) creates an endpoint labelled for this environment. */
function strayEndpointAppears(): void {
  sim.state.put(STRAY, 'google.cloud.aiplatform.v1.Endpoint', { name: STRAY, displayName: 'stray', labels: { 'mlplane-env': 'fraud-prod', 'mlplane-path': 'Fraud/Stray' } });
}

/** Fraud with traffic shifted to 80/20: a plan with one non-destructive update. */
function shifted() {
  return inputFor(
    editResource(example('Fraud'), 'Fraud/Scoring', (r) => {
      for (const d of r.deployments as { name: string; traffic: number }[]) d.traffic = d.name === 'blue' ? 80 : 20;
    }),
  );
}

async function refused(p: Promise<unknown>): Promise<PlanChangedError> {
  const e = await p.then(
    () => undefined,
    (x: unknown) => x,
  );
  expect(e).toBeInstanceOf(PlanChangedError);
  return e as PlanChangedError;
}

describe('the plan applied is the plan shown', () => {
  it('carries a digest of the live state it was computed from, equal on an unchanged re-read', async () => {
    const engine = engineFor(sim);
    const a = await engine.diff(shifted());
    const b = await engine.diff(shifted());
    expect(a.liveDigest).toMatch(/^[0-9a-f]{32}$/);
    expect(b.liveDigest).toBe(a.liveDigest);
    expect(a.reads).toBeGreaterThan(0);
  });

  it('fails if an endpoint labelled for the environment appears between the plan and its approval, showing the new plan, with zero writes', async () => {
    const engine = engineFor(sim);
    const input = shifted();
    const shown = await engine.diff(input);
    expect(shown.items.filter((i) => i.action === 'delete')).toEqual([]);
    strayEndpointAppears();
    try {
      const before = writes(sim).length;
      const e = await refused(engine.deploy({ ...input, approvedPlan: shown }));
      expect(e.message).toContain('[Fraud] the live state changed after the plan was shown; nothing was applied (the plan now also deletes Fraud/Stray (Endpoint))');
      expect(e.plan.items.find((i) => i.id.includes('fraud-prod-stray'))?.action).toBe('delete');
      expect(writes(sim).slice(before)).toEqual([]);
      expect(sim.state.get(STRAY)).toBeDefined();
      // Unattended (--require-approval never) it is refused too: the new plan deletes something the shown one did not.
      await refused(engine.deploy({ ...input, approvedPlan: shown, unattended: true }));
      expect(sim.state.get(STRAY)).toBeDefined();
    } finally {
      sim.state.remove(STRAY);
    }
  });

  it('fails if the change lands after the first read, while the lock is being taken: the re-read under the lock catches it', async () => {
    const engine = engineFor(sim);
    const input = shifted();
    const shown = await engine.diff(input);
    sim.faults.add({ rpc: 'bigquery.tables.insert', fault: { kind: 'outside-change', change: strayEndpointAppears } });
    try {
      const before = writes(sim).length;
      await refused(engine.deploy({ ...input, approvedPlan: shown }));
      // Only the lock was written (taken and released); the endpoint and the traffic are untouched.
      expect(writes(sim).slice(before).map((r) => r.rpc)).toEqual(['bigquery.tables.insert', 'bigquery.tables.delete']);
      expect(sim.state.get(STRAY)).toBeDefined();
      const split = sim.state.get(`${REGION}/endpoints/fraud-prod-scoring`)?.body.trafficSplit as Record<string, number>;
      expect(Object.values(split).sort((a, b) => a - b)).toEqual([10, 90]);
    } finally {
      sim.faults.clear();
      sim.state.remove(STRAY);
    }
  });

  it('applies a changed plan unattended when it deletes and replaces nothing more than the shown one', async () => {
    const engine = engineFor(sim);
    const input = shifted();
    const shown: Plan = await engine.diff(inputFor(example('Fraud')));
    expect(shown.items.every((i) => i.action === 'noop')).toBe(true);
    const progress = new Recorder();
    const summary = await engine.deploy({ ...input, progress, approvedPlan: shown, unattended: true });
    expect(summary.updated).toBe(1);
    expect(progress.lines).toContain('Fraud: the live state changed after the plan was shown; the new plan deletes or replaces nothing more, applying it (--require-approval never)');
    // …but attended, any difference stops.
    await refused(engine.deploy({ ...inputFor(example('Fraud')), approvedPlan: shown }));
    await engine.deploy(inputFor(example('Fraud')));
  });

  it('counts every request it sends as a read or a write, the lock and its journal included', async () => {
    const engine = engineFor(sim);
    const before = sim.requestLog.length;
    const summary = await engine.deploy(shifted());
    const sent = sim.requestLog.slice(before);
    expect(sent.some((r) => r.path.endsWith('/_mlplane_lock'))).toBe(true);
    expect(summary.writes).toBe(sent.filter((r) => r.write).length);
    expect(summary.reads).toBe(sent.filter((r) => !r.write).length);
    const noop = sim.requestLog.length;
    const again = await engine.deploy(shifted());
    expect(again).toMatchObject({ created: 0, updated: 0, replaced: 0, deleted: 0, writes: 0 });
    expect(again.reads).toBe(sim.requestLog.slice(noop).length);
    await engine.deploy(inputFor(example('Fraud')));
  });
});
