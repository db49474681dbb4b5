import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { planHasChanges } from '../../../adapters/deploy';
import type { GcpSimulator } from '../../../adapters/gcp/simulator';
import { countBy, engineFor, example, inputFor, startSimulator, writes } from './support';

let sim: GcpSimulator;
beforeAll(async () => {
  sim = await startSimulator();
});
afterAll(async () => {
  await sim.close();
});

describe('deploying the examples through the real SDKs', () => {
  it('deploys Fraud: tables, feature store, model, endpoint with a 90/10 split, monitor, schedules', async () => {
    const engine = engineFor(sim);
    const input = inputFor(example('Fraud'));
    const plan = await engine.diff(input);
    expect(writes(sim)).toHaveLength(0);
    const summary = await engine.deploy(input);

    const creates = plan.items.filter((i) => i.action === 'create').length;
    expect(summary).toMatchObject({ target: 'gcp', environment: 'Fraud', created: creates, deleted: 0, replaced: 0 });
    expect(summary.writes).toBeGreaterThan(creates);
    expect(sim.requestLog.filter((r) => r.status === 400)).toEqual([]);
    const endpoint = sim.state.get('projects/acme-ml/locations/europe-west4/endpoints/fraud-prod-scoring');
    expect(endpoint?.body.labels).toMatchObject({ 'mlplane-env': 'fraud-prod', 'mlplane-path': expect.stringMatching(/^fraud-scoring/) });
    const split = endpoint?.body.trafficSplit as Record<string, number>;
    expect(Object.values(split).sort((a, b) => a - b)).toEqual([10, 90]);
    expect((endpoint?.body.deployedModels as unknown[]).length).toBe(2);
    expect(countBy(sim, 'ModelDeploymentMonitoringJob')).toEqual({ 'fraud-prod-Drift': 1 });
    expect(Object.values(countBy(sim, '.Schedule')).every((n) => n === 1)).toBe(true);
    expect(sim.state.get('bigquery/projects/acme-ml/datasets/Fraud_prod/tables/Transactions')?.body.labels).toMatchObject({ 'mlplane-env': 'fraud-prod' });
    // The lock is released.
    expect(sim.state.get('bigquery/projects/acme-ml/datasets/Fraud_prod/tables/_mlplane_lock')).toBeUndefined();
  });

  it('makes zero writes when Fraud is deployed again unchanged, and its plan is all no-op', async () => {
    const engine = engineFor(sim);
    const input = inputFor(example('Fraud'));
    const before = writes(sim).length;
    const plan = await engine.diff(input);
    expect(plan.items.filter((i) => i.action !== 'noop')).toEqual([]);
    expect(planHasChanges(plan)).toBe(false);
    const summary = await engine.deploy(input);
    expect(summary.writes).toBe(0);
    expect(summary.reads).toBeGreaterThan(0);
    expect(summary.created + summary.updated + summary.deleted + summary.replaced).toBe(0);
    expect(writes(sim).length).toBe(before);
  });

  it('deploys Churn (batch monitor on the v1beta1 API) and redeploys it with zero writes', async () => {
    const engine = engineFor(sim);
    const input = inputFor(example('Churn'));
    const first = await engine.deploy(input);
    expect(first.created).toBeGreaterThan(10);
    expect(sim.state.get('projects/acme-ml/locations/us-central1/modelMonitors/churn-staging-skew')?.type).toBe('google.cloud.aiplatform.v1beta1.ModelMonitor');
    const again = await engine.deploy(input);
    expect(again).toMatchObject({ writes: 0, created: 0, updated: 0, deleted: 0 });
  });

  it('plans every manifest entry, the platform ones (KMS, Cloud Storage, IAM) included, and logs none as left to other tools', async () => {
    const engine = engineFor(sim);
    const input = inputFor(example('Fraud'));
    const plan = await engine.diff(input);
    const manifest = input.documents['manifest.json'] as { entries: { key: string }[] };
    const planned = new Set(plan.items.map((i) => i.id));
    expect(manifest.entries.map((e) => e.key).filter((k) => !planned.has(k))).toEqual([]);
    const lines = (input.progress as unknown as { lines: string[] }).lines.join('\n');
    expect(lines).not.toContain('not applied by the gcp engine');
  });
});
