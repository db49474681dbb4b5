import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { makeClients } from '../../../adapters/gcp/deploy/clients';
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

  it('fails if a same-named endpoint it does not own is on a later page of a collection of more than one page, reading the collection once, with zero writes', async () => {
    // GIVEN 150 endpoints of another team, listed before ours (their names sort first; the engine asks for pages of 100), and a same-named endpoint without our label after them
    putForeignEndpoints(150);
    sim.state.put(ENDPOINT, 'google.cloud.aiplatform.v1.Endpoint', { name: ENDPOINT, displayName: 'hand-made', labels: { team: 'search' } });
    const input = inputFor(example('Fraud'));
    const lists = recordEndpointLists(input.settings.project, input.settings.region);
    try {
      // WHEN it deploys
      const error = await engineFor(sim).deploy(input).then(
        () => new Error('deploy succeeded'),
        (e: unknown) => e as Error,
      );
      // THEN the endpoint on the second page was found and refused
      expect(error.message).toContain(`[Fraud/Scoring] Vertex AI Endpoint ${ENDPOINT} already exists and is not owned by this environment (label mlplane-env=(none), expected fraud-prod)`);
      expect(writes(sim)).toEqual([]);
      // … from one unfiltered list: the first page, then the second from its token (not listed again from the start)
      const unfiltered = lists.requests.filter((r) => !r.filter);
      expect(unfiltered.map((r) => r.pageToken === undefined)).toEqual([true, false]);
    } finally {
      lists.restore();
    }
  });

  it("reads one page of a large collection's foreign resources per read of the live state when no named resource is missing (no-op redeploy)", async () => {
    // GIVEN a deployed environment, then 250 endpoints of another team in the same location
    const input = inputFor(example('Fraud'));
    await engineFor(sim).deploy(input);
    putForeignEndpoints(250);
    const lists = recordEndpointLists(input.settings.project, input.settings.region);
    try {
      // WHEN it deploys again, unchanged
      const summary = await engineFor(sim).deploy(input);
      // THEN nothing changed, and of the other team's endpoints only the first page was read
      expect(summary.writes).toBe(0);
      expect(lists.requests.filter((r) => !r.filter)).toEqual([{ filter: undefined, pageToken: undefined }]);
    } finally {
      lists.restore();
    }
  });

  it('refuses, never adopts, a same-named endpoint someone else creates between the read and the create (the create answered 409)', async () => {
    const engine = engineFor(sim, {
      hooks: {
        beforeMutation: (p) => {
          if (p.key === 'vertex.endpoint/Fraud/Scoring') sim.state.put(ENDPOINT, 'google.cloud.aiplatform.v1.Endpoint', { name: ENDPOINT, displayName: 'hand-made', labels: { team: 'search' } });
        },
      },
    });
    const error = await engine.deploy(inputFor(example('Fraud'))).then(
      () => new Error('deploy succeeded'),
      (e: unknown) => e as Error,
    );
    expect(error.message).toContain(`[Fraud/Scoring] Endpoint ${ENDPOINT} was created meanwhile by someone else (it does not carry mlplane-env=fraud-prod); mlplane does not adopt it`);
    expect(sim.requestLog.filter((r) => r.rpc === 'EndpointService.CreateEndpoint').map((r) => r.status)).toEqual([409]);
    // Nothing was sent to the endpoint afterwards: no deployment, no traffic change, no label.
    expect(sim.requestLog.filter((r) => r.write && r.path.includes('/endpoints/fraud-prod-scoring') && r.rpc !== 'EndpointService.CreateEndpoint')).toEqual([]);
    expect(sim.state.get(ENDPOINT)?.body.labels).toEqual({ team: 'search' });
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

/** `n` endpoints of another team, named to sort before this environment's. */
function putForeignEndpoints(n: number): void {
  for (let i = 0; i < n; i++) {
    const name = `${REGION}/endpoints/another-team-${String(i).padStart(3, '0')}`;
    sim.state.put(name, 'google.cloud.aiplatform.v1.Endpoint', { name, displayName: `theirs ${i}`, labels: { 'mlplane-env': 'another-team' } });
  }
}

/** Record the filter and page token of every endpoint list the engine sends (its clients are made once per process). */
function recordEndpointLists(project: string, region: string): { requests: { filter?: string; pageToken?: string }[]; restore(): void } {
  const clients = makeClients(project, region, { MLPLANE_GCP_ENDPOINT: sim.url });
  const requests: { filter?: string; pageToken?: string }[] = [];
  const original = clients.endpoints.listEndpoints.bind(clients.endpoints) as (...a: unknown[]) => Promise<unknown>;
  Object.defineProperty(clients.endpoints, 'listEndpoints', {
    configurable: true,
    value: (request: { filter?: string; pageToken?: string }, ...rest: unknown[]) => {
      requests.push({ filter: request.filter || undefined, pageToken: request.pageToken || undefined });
      return original(request, ...rest);
    },
  });
  return { requests, restore: () => delete (clients.endpoints as unknown as Record<string, unknown>).listEndpoints };
}
