import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { GcpSimulator } from '../../../adapters/gcp/simulator';
import { editResource, engineFor, example, inputFor, Recorder, resetSimulator, startSimulator, writes } from './support';

let sim: GcpSimulator;
beforeAll(async () => {
  sim = await startSimulator({ latencyMs: 2 });
});
beforeEach(() => resetSimulator(sim));
afterAll(async () => {
  await sim.close();
});

const MODEL = 'projects/acme-ml/locations/europe-west4/models/fraud-prod-fraud';

describe('in-place updates', () => {
  it('puts back a missing alias with mergeVersionAliases', async () => {
    const engine = engineFor(sim);
    const input = inputFor(example('Fraud'));
    await engine.deploy(input);
    const model = sim.state.get(MODEL);
    model!.body.versionAliases = ['default', 'champion'];
    const plan = await engine.diff(input);
    const item = plan.items.find((i) => i.id === 'vertex.model/Fraud/Registry/Fraud');
    expect(item?.action).toBe('update');
    expect(item?.summary).toEqual(['alias challenger → version 1']);
    const before = writes(sim).length;
    await engine.deploy(input);
    expect(writes(sim).slice(before).map((r) => r.rpc).filter((r) => !r.startsWith('bigquery'))).toEqual(['ModelService.MergeVersionAliases']);
    expect(sim.state.get(MODEL)?.body.versionAliases).toEqual(['default', 'champion', 'challenger']);
  });

  it('leaves an alias a pipeline moved to a newer version where it is (no model write; the deployment following it rolls)', async () => {
    const engine = engineFor(sim);
    const input = inputFor(example('Fraud'));
    await engine.deploy(input);
    // A training pipeline registers version 2 and promotes it to champion.
    const res = await fetch(`${sim.url}/v1/projects/acme-ml/locations/europe-west4/models:upload`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ parentModel: MODEL, model: { displayName: 'fraud', versionAliases: ['champion'], containerSpec: { imageUri: 'ghcr.io/acme/fraud-serve:2' } } }),
    });
    expect(res.status).toBe(200);
    expect(sim.state.get(MODEL)?.body.versionAliases).toEqual(['default', 'challenger']);
    const plan = await engine.diff(input);
    expect(plan.items.find((i) => i.id === 'vertex.model/Fraud/Registry/Fraud')?.action).toBe('noop');
    const before = writes(sim).length;
    await engine.deploy(input);
    expect(writes(sim).slice(before).map((r) => r.rpc).filter((r) => !r.startsWith('bigquery'))).toEqual(['EndpointService.DeployModel', 'EndpointService.UndeployModel']);
    expect(sim.state.modelVersions.get(MODEL)?.map((v) => v.versionAliases)).toEqual([['default', 'challenger'], ['champion']]);
  });

  it('changes replicas of a live deployment in place with mutateDeployedModel', async () => {
    const engine = engineFor(sim);
    await engine.deploy(inputFor(example('Fraud')));
    const model = editResource(example('Fraud'), 'Fraud/Scoring', (r) => {
      const deployments = r.deployments as { name: string; maxReplicas: number }[];
      for (const d of deployments) if (d.name === 'blue') d.maxReplicas += 2;
    });
    const plan = await engine.diff(inputFor(model));
    const changed = plan.items.filter((i) => i.action !== 'noop');
    expect(changed.map((i) => [i.id, i.action])).toEqual([['vertex.deployedModel/Fraud/Scoring/blue', 'update']]);
    expect(changed[0]?.summary[0]).toMatch(/^blue maxReplicaCount \d+ → \d+$/);
    const before = writes(sim).length;
    await engine.deploy(inputFor(model));
    expect(writes(sim).slice(before).map((r) => r.rpc).filter((r) => !r.startsWith('bigquery'))).toEqual(['EndpointService.MutateDeployedModel']);
  });

  it('replaces a feature view whose source changed (immutable), deleting it first because its id is fixed', async () => {
    const engine = engineFor(sim);
    const input = inputFor(example('Fraud'));
    await engine.deploy(input);
    const doc = Object.keys(input.documents).find((k) => k.startsWith('vertex/featureViews/')) as string;
    const body = input.documents[doc] as { bigQuerySource: { uri: string; entityIdColumns: string[] } };
    const changed = { ...input, documents: { ...input.documents, [doc]: { ...body, bigQuerySource: { ...body.bigQuerySource, entityIdColumns: [...body.bigQuerySource.entityIdColumns, 'merchantId'] } } } };
    const plan = await engine.diff(changed);
    const item = plan.items.find((i) => i.type === 'FeatureView');
    expect(item?.action).toBe('replace');
    expect(item?.summary[0]).toContain('(bigQuerySource cannot change in place)');
    // Its IAM policy goes with it, so it is applied again.
    const policy = plan.items.find((i) => i.id === 'iam.policy/Fraud/CustomerFeatures');
    expect(policy?.action).toBe('create');
    expect(policy?.summary).toEqual(['apply IAM policy again: vertex.featureView/Fraud/CustomerFeatures is replaced']);
    const before = writes(sim).length;
    await engine.deploy(changed);
    const rpcs = writes(sim).slice(before).map((r) => r.rpc).filter((r) => !r.startsWith('bigquery'));
    expect(rpcs).toEqual(['FeatureOnlineStoreAdminService.DeleteFeatureView', 'FeatureOnlineStoreAdminService.CreateFeatureView', 'IAMPolicy.SetIamPolicy']);
    expect((await engine.deploy(changed)).writes).toBe(0);
  });

  it('keeps at most `concurrency` mutations in flight, and runs several at once', async () => {
    const engine = engineFor(sim);
    const progress = new Recorder();
    await engine.deploy(inputFor(example('Fraud'), progress, { concurrency: 3 }));
    let running = 0;
    let most = 0;
    for (const e of progress.events) {
      if (e.state === 'running') running++;
      if (e.state === 'done' || e.state === 'failed') running--;
      most = Math.max(most, running);
    }
    expect(most).toBeLessThanOrEqual(3);
    expect(most).toBeGreaterThan(1);
  });

  it('deploys and destroys Churn, whose batch monitor and its schedule live on the v1beta1 API', async () => {
    const engine = engineFor(sim);
    const input = inputFor(example('Churn'));
    await engine.deploy(input);
    expect(sim.state.namesOf('Schedule')).toHaveLength(3);
    await engine.destroy(input, {});
    expect(sim.state.namesOf('Schedule')).toEqual([]);
    expect(sim.state.namesOf('ModelMonitor')).toEqual([]);
    expect(sim.state.get('bigquery/projects/acme-ml/datasets/Churn_staging/tables/Customers')).toBeDefined();
  });

  it('fails if a live deployment would change its model in place, pointing to a blue/green rollout, before any write', async () => {
    const engine = engineFor(sim);
    const input = inputFor(example('Fraud'));
    await engine.deploy(input);
    const doc = Object.keys(input.documents).find((k) => k.startsWith('vertex/deployedModels/') && k.endsWith('-blue.json')) as string;
    const body = input.documents[doc] as { model: string };
    // Pinning an alias-bound deployment to a version is a model change (switching the alias it
    // follows is a rollout to that alias' holder instead: ./alias.test.ts).
    const changed = { ...input, documents: { ...input.documents, [doc]: { ...body, model: body.model.replace(/@.*$/, '@1') } } };
    const before = writes(sim).length;
    await expect(engine.deploy(changed)).rejects.toThrow(/\[Fraud\/Scoring\/blue\] model of deployment 'blue' cannot change on a live deployed model without downtime; add a deployment with a new name/);
    expect(writes(sim).length).toBe(before);
  });

  it('fails if an endpoint would need replacing (an immutable field changed), before any write', async () => {
    const engine = engineFor(sim);
    const input = inputFor(example('Fraud'));
    await engine.deploy(input);
    const doc = Object.keys(input.documents).find((k) => /^vertex\/endpoints\/[^.]+\.json$/.test(k)) as string;
    const body = input.documents[doc] as Record<string, unknown>;
    const changed = { ...input, documents: { ...input.documents, [doc]: { ...body, encryptionSpec: { kmsKeyName: 'projects/acme-ml/locations/europe-west4/keyRings/r/cryptoKeys/other' } } } };
    const before = writes(sim).length;
    await expect(engine.deploy(changed)).rejects.toThrow(/\[Fraud\/Scoring\] encryptionSpec of endpoint .* cannot change in place, and replacing a serving endpoint means downtime/);
    expect(writes(sim).length).toBe(before);
  });

  it("adds its grants to a table's IAM policy, keeps bindings others made, and names the Vertex service agent by project number", async () => {
    const engine = engineFor(sim);
    const input = inputFor(example('Fraud'));
    await engine.deploy(input);
    const name = 'bigquery/projects/acme-ml/datasets/Fraud_prod/tables/Transactions';
    const policy = sim.state.policies.get(name) as { bindings: { role: string; members: string[] }[] };
    const viewers = policy.bindings.find((b) => b.role === 'roles/bigquery.dataViewer')?.members ?? [];
    expect(viewers).toContainEqual(expect.stringMatching(/^serviceAccount:service-\d{12}@gcp-sa-aiplatform\.iam\.gserviceaccount\.com$/));
    expect(viewers.some((m) => m.startsWith('serviceAgent:'))).toBe(false);
    // Someone adds a binding and removes one of ours.
    sim.state.policies.set(name, { etag: 'x', bindings: [{ role: 'roles/bigquery.dataViewer', members: viewers.slice(1) }, { role: 'roles/bigquery.dataOwner', members: ['group:dba@acme.example'] }] });
    const plan = await engine.diff(input);
    const item = plan.items.find((i) => i.id === 'iam.policy/Fraud/Transactions');
    expect(item?.action).toBe('update');
    expect(item?.summary).toEqual([`grant roles/bigquery.dataViewer on Transactions to ${viewers[0]}`]);
    await engine.deploy(input);
    const after = sim.state.policies.get(name) as { bindings: { role: string; members: string[] }[] };
    expect(after.bindings.find((b) => b.role === 'roles/bigquery.dataOwner')?.members).toEqual(['group:dba@acme.example']);
    expect(after.bindings.find((b) => b.role === 'roles/bigquery.dataViewer')?.members.sort()).toEqual([...viewers].sort());
  });

  it("edits a new table's policy as read right after its create (no read of its own before the write), and retries a concurrent change from a fresh read, keeping it", async () => {
    const name = 'bigquery/projects/acme-ml/datasets/Fraud_prod/tables/Transactions';
    let injected = false;
    sim.faults.add({
      rpc: 'bigquery.tables.setIamPolicy',
      count: 1,
      fault: {
        kind: 'outside-change',
        change: () => {
          injected = true;
          const p = (sim.state.policies.get(name) ?? { etag: 'ACAB', bindings: [] }) as { etag: string; bindings: { role: string; members: string[] }[] };
          sim.state.policies.set(name, { ...p, etag: 'changed-by-dba', bindings: [...(p.bindings ?? []), { role: 'roles/bigquery.dataOwner', members: ['group:dba@acme.example'] }] });
        },
      },
    });
    await engineFor(sim).deploy(inputFor(example('Fraud')));
    expect(injected).toBe(true);
    const onTable = sim.requestLog.filter((r) => r.path.includes('/tables/Transactions'));
    // Created, its policy read once right after, written (refused: someone else changed it), read again, written.
    expect(onTable.filter((r) => r.rpc.startsWith('bigquery.tables.') && r.rpc.endsWith('IamPolicy')).map((r) => [r.rpc, r.status])).toEqual([
      ['bigquery.tables.getIamPolicy', 200],
      ['bigquery.tables.setIamPolicy', 409],
      ['bigquery.tables.getIamPolicy', 200],
      ['bigquery.tables.setIamPolicy', 200],
    ]);
    const after = sim.state.policies.get(name) as { bindings: { role: string; members: string[] }[] };
    expect(after.bindings.find((b) => b.role === 'roles/bigquery.dataOwner')?.members).toEqual(['group:dba@acme.example']);
    expect(after.bindings.find((b) => b.role === 'roles/bigquery.dataViewer')?.members.length).toBeGreaterThan(0);
  });

  it("adds the dataset access entries of batch writers to the environment's dataset", async () => {
    const engine = engineFor(sim);
    await engine.deploy(inputFor(example('Churn')));
    const access = sim.state.get('bigquery/projects/acme-ml/datasets/Churn_staging')?.body.access as { role: string; userByEmail?: string }[];
    expect(access.some((a) => a.role === 'WRITER' && a.userByEmail?.startsWith('mlp-weekly-scoring'))).toBe(true);
  });

  it('reads a BigQuery field left out at its default as that default (no spurious update)', async () => {
    const engine = engineFor(sim);
    const input = inputFor(example('Fraud'));
    await engine.deploy(input);
    const view = sim.state.get('bigquery/projects/acme-ml/datasets/Fraud_prod/tables/CustomerFeatures');
    const body = view!.body.view as { useLegacySql?: boolean };
    expect(body.useLegacySql).toBe(false);
    delete body.useLegacySql;
    const plan = await engine.diff(input);
    expect(plan.items.filter((i) => i.action !== 'noop')).toEqual([]);
  });
});
