import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { GcpSimulator } from '../../../adapters/gcp/simulator';
import { engineFor, example, inputFor, resetSimulator, startSimulator, writes } from './support';

let sim: GcpSimulator;
beforeAll(async () => {
  sim = await startSimulator();
});
beforeEach(() => resetSimulator(sim));
afterAll(async () => {
  await sim.close();
});

const REGION = 'projects/acme-ml/locations/europe-west4';
const ENDPOINT = `${REGION}/endpoints/fraud-prod-scoring`;

describe('ownership', () => {
  it('fails if a same-named endpoint exists that it does not own, saying how to import it, with zero writes', async () => {
    sim.state.put(ENDPOINT, 'google.cloud.aiplatform.v1.Endpoint', { name: ENDPOINT, displayName: 'hand-made', labels: { team: 'search' } });
    const engine = engineFor(sim);
    const error = (await engine.deploy(inputFor(example('Fraud'))).then(
      () => new Error('deploy succeeded'),
      (e: unknown) => e as Error,
    ));
    expect(error.message).toContain('refusing to touch resources this environment does not own');
    expect(error.message).toContain(`[Fraud/Scoring] Vertex AI Endpoint ${ENDPOINT} already exists and is not owned by this environment (label mlplane-env=(none), expected fraud-prod)`);
    expect(error.message).toContain('To import it, add the labels mlplane-env=fraud-prod');
    expect(writes(sim)).toEqual([]);
    expect(sim.state.get(ENDPOINT)?.body.displayName).toBe('hand-made');
  });

  it("fails if the environment's BigQuery dataset belongs to another environment", async () => {
    sim.state.put('bigquery/projects/acme-ml/datasets/Fraud_prod', 'bigquery#dataset', {
      kind: 'bigquery#dataset',
      id: 'acme-ml:Fraud_prod',
      datasetReference: { projectId: 'acme-ml', datasetId: 'Fraud_prod' },
      labels: { 'mlplane-env': 'someone-else' },
      location: 'europe-west4',
      etag: 'x',
    });
    await expect(engineFor(sim).deploy(inputFor(example('Fraud')))).rejects.toThrow(/BigQuery dataset acme-ml:Fraud_prod already exists and is not owned by this environment \(label mlplane-env=someone-else, expected fraud-prod\).*bq update --set_label mlplane-env:fraud-prod/s);
    expect(writes(sim)).toEqual([]);
  });
});

describe('destroy', () => {
  it('deletes only what it owns, in reverse order, and keeps data-bearing resources', async () => {
    const engine = engineFor(sim);
    const input = inputFor(example('Fraud'));
    await engine.deploy(input);
    const foreign = `${REGION}/endpoints/someone-elses`;
    sim.state.put(foreign, 'google.cloud.aiplatform.v1.Endpoint', { name: foreign, displayName: 'theirs', labels: { 'mlplane-env': 'other-env' } });
    const foreignTable = 'bigquery/projects/acme-ml/datasets/Fraud_prod/tables/notes';
    sim.state.put(foreignTable, 'bigquery#table', { kind: 'bigquery#table', id: 'acme-ml:Fraud_prod.notes', tableReference: { projectId: 'acme-ml', datasetId: 'Fraud_prod', tableId: 'notes' }, type: 'TABLE', etag: 'e' });

    const plan = await engine.planDestroy(input, {});
    const deletes = plan.items.filter((i) => i.action === 'delete').map((i) => i.type);
    expect(deletes).toContain('Endpoint');
    expect(deletes).not.toContain('BigQuery table');
    expect(plan.items.filter((i) => i.summary.some((l) => l.startsWith('retained:'))).map((i) => i.type)).toEqual(expect.arrayContaining(['BigQuery dataset', 'BigQuery table', 'Model', 'Dataset', 'Tensorboard']));
    const before = sim.requestLog.length;
    const summary = await engine.destroy(input, {});
    expect(summary.deleted).toBe(plan.items.filter((i) => i.action === 'delete').length);

    // Reverse order: the monitor before the deployed models, the deployed models before the endpoint.
    const order = sim.requestLog.slice(before).filter((r) => r.write).map((r) => r.rpc);
    const first = (rpc: string) => order.findIndex((r) => r.endsWith(rpc));
    expect(first('DeleteModelDeploymentMonitoringJob')).toBeLessThan(first('UndeployModel'));
    expect(first('UndeployModel')).toBeLessThan(first('DeleteEndpoint'));
    expect(first('DeleteFeatureView')).toBeLessThan(first('DeleteFeatureOnlineStore'));

    expect(sim.state.get(foreign)).toBeDefined();
    expect(sim.state.get(foreignTable)).toBeDefined();
    expect(sim.state.get(ENDPOINT)).toBeUndefined();
    expect(sim.state.namesOf('Schedule')).toEqual([]);
    expect(sim.state.get('bigquery/projects/acme-ml/datasets/Fraud_prod/tables/Transactions')).toBeDefined();
    expect(sim.state.get(`${REGION}/models/fraud-prod-fraud`)).toBeDefined();
    expect(sim.state.namesOf('Tensorboard')).toHaveLength(1);
    expect(sim.state.get('bigquery/projects/acme-ml/datasets/Fraud_prod/tables/_mlplane_lock')).toBeUndefined();
  });

  it('deletes data-bearing resources too with destroyData, still leaving foreign ones alone', async () => {
    const engine = engineFor(sim);
    const input = inputFor(example('Fraud'));
    await engine.deploy(input);
    const foreign = `${REGION}/models/someone-elses`;
    sim.state.put(foreign, 'google.cloud.aiplatform.v1.Model', { name: foreign, displayName: 'theirs', versionId: '1', labels: { 'mlplane-env': 'other-env' } });
    await engine.destroy(input, { destroyData: true });
    expect(sim.state.get(`${REGION}/models/fraud-prod-fraud`)).toBeUndefined();
    expect(sim.state.get('bigquery/projects/acme-ml/datasets/Fraud_prod')).toBeUndefined();
    expect(sim.state.namesOf('Tensorboard')).toEqual([]);
    expect(sim.state.get(foreign)).toBeDefined();
    // The project-wide metadata store is shared and never deleted.
    expect(sim.state.get(`${REGION}/metadataStores/default`)).toBeDefined();
  });

  it('fails if destroyData would delete a dataset holding a table it does not own, naming the table, with zero writes', async () => {
    const engine = engineFor(sim);
    const input = inputFor(example('Fraud'));
    await engine.deploy(input);
    const foreignTable = 'bigquery/projects/acme-ml/datasets/Fraud_prod/tables/notes';
    sim.state.put(foreignTable, 'bigquery#table', { kind: 'bigquery#table', id: 'acme-ml:Fraud_prod.notes', tableReference: { projectId: 'acme-ml', datasetId: 'Fraud_prod', tableId: 'notes' }, type: 'TABLE', etag: 'e' });
    const before = writes(sim).length;
    await expect(engine.planDestroy(input, { destroyData: true })).rejects.toThrow(
      '[Fraud] BigQuery dataset acme-ml:Fraud_prod holds table notes, which this environment does not own (no label mlplane-env=fraud-prod); deleting the dataset would delete it',
    );
    await expect(engine.destroy(input, { destroyData: true })).rejects.toThrow('refusing to touch resources this environment does not own');
    expect(writes(sim).slice(before)).toEqual([]);
    expect(sim.state.get(foreignTable)).toBeDefined();
    expect(sim.state.get(`${REGION}/models/fraud-prod-fraud`)).toBeDefined();
  });
});
