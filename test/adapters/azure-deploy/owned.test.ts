import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { InterruptedError, PlanChangedError } from '../../../adapters/deploy';
import type { AzureSimulator } from '../../../adapters/azure/simulator';
import type { EnvironmentModel } from '../../../lib/model/types';
import { engineFor, example, inputFor, simulator, since } from './support';

let sim: AzureSimulator;
beforeAll(async () => {
  sim = await simulator();
});
afterAll(() => sim.close());

/** Start every case from a clean deploy of Fraud. */
beforeEach(async () => {
  sim.state.resources.clear();
  sim.state.deployments.clear();
  sim.faults.reset();
  await engineFor(sim).deploy(inputFor(example('Fraud')));
});

/** A model as plain editable JSON. */
interface Mutable {
  resources: Record<string, unknown>[];
  grants: Record<string, unknown>[];
}

function edited(edit: (m: Mutable) => void): EnvironmentModel {
  const copy = structuredClone(example('Fraud')) as unknown as Mutable;
  edit(copy);
  return copy as unknown as EnvironmentModel;
}

/** Fraud with deployment green renamed teal (its grants follow it). */
const greenToTeal = () =>
  edited((m) => {
    const scoring = m.resources.find((r) => r.path === 'Fraud/Scoring') as { deployments: { name: string }[] };
    for (const d of scoring.deployments) if (d.name === 'green') d.name = 'teal';
    for (const g of m.grants) {
      const p = g.principal as { kind: string; deployment?: string };
      if (p.kind === 'deployment' && p.deployment === 'green') g.principal = { ...p, deployment: 'teal' };
    }
  });

const live = (pattern: RegExp) => [...sim.state.resources.values()].filter((r) => pattern.test(r.id)).map((r) => r.id.split('/').pop());

describe('azure: the plan applied is the plan shown', () => {
  it('fails if a live compute changes between the plan and its approval (max nodes 12), showing the new plan and sending nothing', async () => {
    const engine = engineFor(sim);
    const input = inputFor(greenToTeal());
    const shown = await engine.diff(input);
    expect(shown.liveDigest).toMatch(/^[0-9a-f]{32}$/);
    const gpu = [...sim.state.resources.values()].find((r) => /\/computes\/gpu$/i.test(r.id));
    const props = gpu?.body.properties as { properties: { scaleSettings: { maxNodeCount: number } } };
    props.properties.scaleSettings.maxNodeCount = 12;
    const mark = sim.requestLog.length;
    const error = await engine.deploy({ ...input, approvedPlan: shown }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(PlanChangedError);
    expect((error as PlanChangedError).plan.items.find((i) => /\/computes\/gpu$/i.test(i.id))?.summary).toContain('max nodes 12 → 4');
    expect(since(sim, mark).filter((r) => r.write)).toEqual([]);
    expect(props.properties.scaleSettings.maxNodeCount).toBe(12);
    // Unattended (--require-approval never) the new plan is applied: it deletes nothing the shown one did not.
    await engine.deploy({ ...input, approvedPlan: shown, unattended: true });
    expect(input.progress.logs).toContain('Fraud: the live state changed after the plan was shown; the new plan deletes or replaces nothing more, applying it (--require-approval never)');
  });
});

describe('azure deletes what it owns and the definition dropped', () => {
  it('deletes deployment green and its autoscale setting after a rename to teal, listed as deletes behind approval', async () => {
    const engine = engineFor(sim);
    const input = inputFor(greenToTeal());
    const plan = await engine.diff(input);
    const deletes = plan.items.filter((i) => i.action === 'delete');
    expect(deletes.map((i) => i.summary[0])).toEqual(expect.arrayContaining([expect.stringMatching(/^delete autoscale setting 'autoscale-scoring-prod-[0-9a-f]+-green': no longer defined$/), "delete endpoint deployment 'green': no longer defined"]));
    expect(deletes.every((i) => i.path.startsWith('Fraud/Scoring'))).toBe(true);
    const mark = sim.requestLog.length;
    const summary = await engine.deploy({ ...input, approvedPlan: plan });
    expect(summary.deleted).toBe(deletes.length);
    // Every request is counted, as a read or a write (what-if counts as a read).
    expect(summary.writes).toBe(since(sim, mark).filter((r) => r.write).length);
    expect(summary.reads).toBe(since(sim, mark).filter((r) => !r.write).length);
    expect(live(/\/onlineEndpoints\/[^/]+\/deployments\/[^/]+$/i).sort()).toEqual(['blue', 'teal']);
    expect(live(/autoscalesettings\//i).map((n) => String(n).replace(/.*-/, '')).sort()).toEqual(['blue', 'teal']);
    // Converged: the next plan is all no-op.
    expect((await engine.diff(input)).items.filter((i) => i.action !== 'noop')).toEqual([]);
  });

  it('revokes the role assignments of a grant the definition no longer has', async () => {
    const engine = engineFor(sim);
    const input = inputFor(edited((m) => (m.grants = m.grants.filter((g) => g.resource !== 'Fraud/CustomerFeatures'))));
    const template = input.documents['template.json'] as { resources: { type: string; name: string }[] };
    const kept = new Set(template.resources.filter((r) => r.type === 'Microsoft.Authorization/roleAssignments').map((r) => r.name));
    const before = live(/roleAssignments\//i);
    const revoked = before.filter((n) => !kept.has(String(n)));
    expect(revoked.length).toBeGreaterThan(0);
    const plan = await engine.diff(input);
    const revokes = plan.items.filter((i) => i.action === 'delete');
    expect(revokes.map((i) => i.id.split('/').pop()).sort()).toEqual([...revoked].sort());
    expect(revokes.every((i) => /^revoke role assignment '[0-9a-f-]+' \(.*\): the grant is no longer defined$/.test(i.summary[0] ?? ''))).toBe(true);
    await engine.deploy({ ...input, approvedPlan: plan });
    expect(live(/roleAssignments\//i).sort()).toEqual(before.filter((n) => kept.has(String(n))).sort());
  });

  it('deletes an endpoint removed from the definition with its deployments, and diff shows it', async () => {
    const engine = engineFor(sim);
    const withShadow = edited((m) => {
      const scoring = m.resources.find((r) => r.path === 'Fraud/Scoring') as Record<string, unknown>;
      m.resources.push({ ...structuredClone(scoring), path: 'Fraud/Shadow', name: 'Shadow' });
    });
    await engine.deploy(inputFor(withShadow));
    const endpoints = live(/\/onlineEndpoints\/[^/]+$/i);
    expect(endpoints).toHaveLength(2);
    const plan = await engine.diff(inputFor(example('Fraud')));
    const deletes = plan.items.filter((i) => i.action === 'delete');
    expect(deletes.map((i) => i.path)).toEqual(expect.arrayContaining(['Fraud/Shadow']));
    // The deployments go with their endpoint: listed once, as the endpoint.
    expect(deletes.filter((i) => /\/onlineEndpoints\/[^/]+$/i.test(i.id))).toHaveLength(1);
    expect(deletes.filter((i) => /\/deployments\//i.test(i.id))).toEqual([]);
    await engine.deploy({ ...inputFor(example('Fraud')), approvedPlan: plan });
    expect(live(/\/onlineEndpoints\/[^/]+$/i)).toHaveLength(1);
  });
});

describe('azure destroy never deletes what it does not own', () => {
  it('fails if the workspace holds a compute and an endpoint someone else made, naming them, and deletes nothing', async () => {
    const ws = [...sim.state.resources.values()].find((r) => r.type === 'Microsoft.MachineLearningServices/workspaces' && r.body.kind !== 'FeatureStore');
    sim.state.seed({ id: `${ws?.id}/computes/theirs`, location: 'westeurope', properties: { computeType: 'AmlCompute' } });
    sim.state.seed({ id: `${ws?.id}/onlineEndpoints/their-endpoint`, location: 'westeurope', tags: { team: 'search' }, properties: { authMode: 'Key' } });
    const engine = engineFor(sim);
    const count = sim.state.resources.size;
    const error = (await engine.destroy(inputFor(example('Fraud')), { destroyData: true }).catch((e: unknown) => e)) as Error;
    expect(error.message).toContain('refusing to destroy: deleting these would also delete resources this environment does not own (not tagged mlplane-env=Fraud, mlplane-stage=prod)');
    expect(error.message).toMatch(/\[Fraud\] workspace 'fraud-prod' holds compute pool 'theirs' \(/);
    expect(error.message).toMatch(/workspace 'fraud-prod' holds online endpoint 'their-endpoint' \(/);
    expect(sim.state.resources.size).toBe(count);
    await expect(engine.planDestroy(inputFor(example('Fraud')), { destroyData: true })).rejects.toThrow('refusing to destroy');
    // Without destroyData the workspace is retained (it holds data): nothing foreign is at risk.
    expect((await engine.planDestroy(inputFor(example('Fraud')), {})).items.some((i) => /\/workspaces\/fraud$/i.test(i.id) && i.action === 'delete')).toBe(false);
  });
});

describe('azure verifies after every deploy, no-op included', () => {
  it('fails a no-op deploy and flags diff if a live deployment is marked Failed, naming it', async () => {
    const blue = [...sim.state.resources.values()].find((r) => /\/deployments\/blue$/i.test(r.id));
    if (!blue) throw new Error('no blue deployment');
    blue.provisioningState = 'Failed';
    const engine = engineFor(sim);
    const plan = await engine.diff(inputFor(example('Fraud')));
    expect(plan.items.filter((i) => i.action !== 'noop')).toEqual([]);
    expect(plan.health).toEqual([expect.stringMatching(/^\[Fraud\/Scoring(\/blue)?\] deployment 'blue' of endpoint 'scoring-prod-[0-9a-f]+' is Failed, expected Succeeded$/)]);
    await expect(engine.deploy(inputFor(example('Fraud')))).rejects.toThrow(/post-deploy verification failed: \[Fraud\/Scoring(\/blue)?\] deployment 'blue' of endpoint 'scoring-prod-[0-9a-f]+' is Failed/);
  });
});

describe('azure schema changes', () => {
  it('fails if a dataset version would lose a column in place, naming the dataset and the fix, before any write', async () => {
    const engine = engineFor(sim);
    const model = edited((m) => {
      const t = m.resources.find((r) => r.path === 'Fraud/Transactions') as { schema: { name: string }[] };
      t.schema = t.schema.filter((f) => f.name !== 'merchantId');
    });
    const mark = sim.requestLog.length;
    await expect(engine.diff(inputFor(model))).rejects.toThrow(/^\[Fraud\/Transactions\] schema change of dataset 'transactions' version 1 is not additive: column 'merchantId' would be removed\. .*define a new dataset version/);
    await expect(engine.deploy(inputFor(model))).rejects.toThrow('is not additive');
    expect(since(sim, mark).filter((r) => r.write)).toEqual([]);
  });
});

describe('azure on SIGINT', () => {
  it('sends nothing when interrupted before the deployment', async () => {
    const stop = new AbortController();
    stop.abort('SIGINT');
    const mark = sim.requestLog.length;
    const e = await engineFor(sim).deploy({ ...inputFor(greenToTeal()), signal: stop.signal }).catch((x: unknown) => x);
    expect(e).toBeInstanceOf(InterruptedError);
    expect((e as Error).message).toBe("[Fraud] interrupted (SIGINT) before anything was sent; run 'mlplane deploy Fraud --stage prod' to deploy");
    expect(since(sim, mark).filter((r) => r.write)).toEqual([]);
  });

  it('lets the delete in flight finish and starts no other, saying what is left and how to continue', async () => {
    const stop = new AbortController();
    sim.faults.add({ verb: 'DELETE', fault: { kind: 'outside-change', change: () => stop.abort('SIGINT') } });
    const input = inputFor(greenToTeal());
    const mark = sim.requestLog.length;
    const e = await engineFor(sim).deploy({ ...input, signal: stop.signal }).catch((x: unknown) => x);
    expect(e).toBeInstanceOf(InterruptedError);
    expect((e as Error).message).toMatch(/^\[Fraud\] interrupted \(SIGINT\): 1 of 2 delete\(s\) done, not started: Fraud\/Scoring\S*; run 'mlplane deploy Fraud --stage prod' to continue$/);
    expect(since(sim, mark).filter((r) => r.method === 'DELETE')).toHaveLength(1);
    // The next deploy continues and converges.
    await engineFor(sim).deploy(input);
    expect(live(/\/onlineEndpoints\/[^/]+\/deployments\/[^/]+$/i).sort()).toEqual(['blue', 'teal']);
  });
});
