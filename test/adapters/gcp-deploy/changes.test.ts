import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { GcpSimulator } from '../../../adapters/gcp/simulator';
import { changedEntries, editResource, engineFor, example, inputFor, startSimulator, writes } from './support';

let sim: GcpSimulator;
beforeAll(async () => {
  sim = await startSimulator();
  await engineFor(sim).deploy(inputFor(example('Fraud')));
});
afterAll(async () => {
  await sim.close();
});

/** Vertex / BigQuery writes other than the lock's own table. */
function resourceWrites(from: number) {
  return writes(sim)
    .slice(from)
    .filter((r) => !r.path.includes('_mlplane_lock') && !(r.rpc === 'bigquery.tables.insert' && JSON.stringify(r.body).includes('_mlplane_lock')));
}

describe('changing one thing updates only that', () => {
  it('shifts traffic blue 90% → 80%, green 10% → 20% with one endpoint update', async () => {
    const base = inputFor(example('Fraud'));
    const model = editResource(example('Fraud'), 'Fraud/Scoring', (r) => {
      const deployments = r.deployments as { name: string; traffic: number }[];
      for (const d of deployments) d.traffic = d.name === 'blue' ? 80 : 20;
    });
    const input = inputFor(model);
    expect(changedEntries(base, input)).toEqual(['vertex.endpointTraffic/Fraud/Scoring']);
    const engine = engineFor(sim);
    const plan = await engine.diff(input);
    const changed = plan.items.filter((i) => i.action !== 'noop');
    expect(changed.map((i) => i.id)).toEqual(['vertex.endpointTraffic/Fraud/Scoring']);
    expect(changed[0]?.summary).toEqual(['traffic blue 90% → 80%, green 10% → 20%']);
    const before = writes(sim).length;
    const summary = await engine.deploy(input);
    expect(summary).toMatchObject({ updated: 1, created: 0, deleted: 0 });
    expect(resourceWrites(before).map((r) => r.rpc)).toEqual(['EndpointService.UpdateEndpoint']);
    const split = sim.state.get('projects/acme-ml/locations/europe-west4/endpoints/fraud-prod-scoring')?.body.trafficSplit as Record<string, number>;
    expect(Object.values(split).sort((a, b) => a - b)).toEqual([20, 80]);
    // and back, again with one write
    const back = await engine.deploy(base);
    expect(back).toMatchObject({ updated: 1, created: 0, deleted: 0 });
  });

  it('changes a drift threshold with one monitoring job update, summarized in ML terms', async () => {
    const base = inputFor(example('Fraud'));
    const model = editResource(example('Fraud'), 'Fraud/Drift', (r) => {
      const signals = r.signals as { thresholds: { feature: string; threshold: number }[] }[];
      const t = signals[0]?.thresholds[0] as { feature: string; threshold: number };
      t.threshold = 0.42;
    });
    const input = inputFor(model);
    const expected = changedEntries(base, input);
    expect(expected).toContain('vertex.modelDeploymentMonitoringJob/Fraud/Drift');
    const engine = engineFor(sim);
    const plan = await engine.diff(input);
    const changed = plan.items.filter((i) => i.action !== 'noop');
    expect(changed.map((i) => i.id).sort()).toEqual([...expected].sort());
    const job = changed.find((i) => i.id === 'vertex.modelDeploymentMonitoringJob/Fraud/Drift');
    expect(job?.action).toBe('update');
    // Vertex thresholds the Jensen-Shannon divergence: the distance 0.42 is written as 0.42² = 0.1764.
    expect(job?.summary.some((l) => /^threshold (drift|skew) \S+ [0-9.]+ → 0\.1764$/.test(l))).toBe(true);
    const before = writes(sim).length;
    await engine.deploy(input);
    const rpcs = resourceWrites(before).map((r) => r.rpc);
    expect(rpcs).toContain('JobService.UpdateModelDeploymentMonitoringJob');
    expect(rpcs.filter((r) => !/Update|Patch/.test(r))).toEqual([]);
    expect(rpcs).toHaveLength(expected.length);
    await engine.deploy(base);
  });

  it('changes a pipeline schedule with one schedule update', async () => {
    const base = inputFor(example('Fraud'));
    const model = editResource(example('Fraud'), 'Fraud/Train', (r) => {
      r.schedules = [{ kind: 'cron', expression: '30 3 * * *', timeZone: 'Europe/Amsterdam' }];
    });
    const input = inputFor(model);
    expect(changedEntries(base, input)).toEqual(['vertex.schedule/Fraud/Train#0']);
    const engine = engineFor(sim);
    const plan = await engine.diff(input);
    const changed = plan.items.filter((i) => i.action !== 'noop');
    expect(changed.map((i) => i.id)).toEqual(['vertex.schedule/Fraud/Train#0']);
    expect(changed[0]?.summary[0]).toMatch(/^schedule 'TZ=Europe\/Amsterdam [^']+' → 'TZ=Europe\/Amsterdam 30 3 \* \* \*'$/);
    const before = writes(sim).length;
    await engine.deploy(input);
    expect(resourceWrites(before).map((r) => r.rpc)).toEqual(['ScheduleService.UpdateSchedule']);
    const again = await engine.deploy(input);
    expect(again.writes).toBe(0);
    await engine.deploy(base);
  });

  it('removes a label the definition no longer sets (labels are compared whole)', async () => {
    // GIVEN a live endpoint carrying one label more than the definition (a label removed from it)
    const endpoint = sim.state.get('projects/acme-ml/locations/europe-west4/endpoints/fraud-prod-scoring');
    const labels = endpoint?.body.labels as Record<string, string>;
    if (!endpoint) throw new Error('the fraud endpoint was not deployed');
    endpoint.body.labels = { ...labels, 'removed-label': 'x' };
    try {
      // WHEN diffing the unchanged definition
      const plan = await engineFor(sim).diff(inputFor(example('Fraud')));
      // THEN the endpoint is updated, dropping that label
      const changed = plan.items.filter((i) => i.action !== 'noop');
      expect(changed.map((i) => [i.id, i.action])).toEqual([['vertex.endpoint/Fraud/Scoring', 'update']]);
      expect(changed[0]?.changes.map((c) => [c.property, c.before, c.after])).toEqual([['labels', { ...labels, 'removed-label': 'x' }, labels]]);
    } finally {
      endpoint.body.labels = labels;
    }
  });

  it('adds a column to a table in place (additive schema change)', async () => {
    const model = editResource(example('Fraud'), 'Fraud/Transactions', (r) => {
      (r.schema as unknown[]).push({ name: 'region', type: 'string', nullable: true });
    });
    const engine = engineFor(sim);
    const plan = await engine.diff(inputFor(model));
    const table = plan.items.find((i) => i.id === 'bigquery.table/Fraud/Transactions');
    expect(table?.action).toBe('update');
    expect(table?.summary).toContain('schema + column region STRING');
  });

  it('fails if a schema change is not additive, naming the table and the column, before any write', async () => {
    const model = editResource(example('Fraud'), 'Fraud/Transactions', (r) => {
      r.schema = (r.schema as { name: string }[]).filter((f) => f.name !== 'currency');
    });
    const engine = engineFor(sim);
    const before = writes(sim).length;
    await expect(engine.deploy(inputFor(model))).rejects.toThrow(/\[Fraud\/Transactions\] schema change of BigQuery table acme-ml:Fraud_prod\.Transactions is not additive: column 'currency' would be removed/);
    expect(writes(sim).length).toBe(before);
  });

  it('rolls a deployment out without downtime: deploy the new model, shift traffic, then undeploy the old one', async () => {
    const base = inputFor(example('Fraud'));
    const model = editResource(example('Fraud'), 'Fraud/Scoring', (r) => {
      const deployments = r.deployments as { name: string }[];
      for (const d of deployments) if (d.name === 'green') d.name = 'teal';
    });
    const engine = engineFor(sim);
    const input = inputFor(model);
    const plan = await engine.diff(input);
    const changed = plan.items.filter((i) => i.action !== 'noop');
    expect(changed.find((i) => i.id === 'vertex.deployedModel/Fraud/Scoring/teal')?.action).toBe('create');
    expect(changed.find((i) => i.type === 'DeployedModel' && i.action === 'delete')?.summary).toEqual([expect.stringMatching(/^delete DeployedModel /)]);
    expect(changed.find((i) => i.id === 'vertex.endpointTraffic/Fraud/Scoring')?.summary[0]).toMatch(/^traffic green 10% → 0%, teal 0% → 10%$/);
    const before = sim.requestLog.length;
    await engine.deploy(input);
    const order = sim.requestLog.slice(before).filter((r) => r.write && r.rpc.startsWith('EndpointService')).map((r) => r.rpc);
    expect(order.indexOf('EndpointService.DeployModel')).toBeLessThan(order.indexOf('EndpointService.UpdateEndpoint'));
    expect(order.indexOf('EndpointService.UpdateEndpoint')).toBeLessThan(order.indexOf('EndpointService.UndeployModel'));
    const endpoint = sim.state.get('projects/acme-ml/locations/europe-west4/endpoints/fraud-prod-scoring');
    expect((endpoint?.body.deployedModels as { displayName: string }[]).map((d) => d.displayName).sort()).toEqual(['blue', 'teal']);
    expect((await engine.deploy(input)).writes).toBe(0);
    await engine.deploy(base);
  });
});
