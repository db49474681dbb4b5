import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { GcpSimulator } from '../../../adapters/gcp/simulator';
import { twinId } from '../../../adapters/gcp/deploy/alias';
import { editResource, engineFor, example, inputFor, resetSimulator, startSimulator, writes } from './support';

let sim: GcpSimulator;
beforeAll(async () => {
  sim = await startSimulator();
});
beforeEach(() => resetSimulator(sim));
afterAll(async () => {
  await sim.close();
});

const MODEL = 'projects/acme-ml/locations/europe-west4/models/fraud-prod-fraud';
const ENDPOINT = 'projects/acme-ml/locations/europe-west4/endpoints/fraud-prod-scoring';

/** Register a new version holding `alias`, as a promoting register step (or someone with gcloud) does. */
async function promote(alias: string): Promise<void> {
  const res = await fetch(`${sim.url}/v1/projects/acme-ml/locations/europe-west4/models:upload`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ parentModel: MODEL, model: { displayName: 'fraud', versionAliases: [alias], containerSpec: { imageUri: 'ghcr.io/acme/fraud-serve:2' } } }),
  });
  expect(res.status).toBe(200);
}

interface LiveDm {
  id: string;
  displayName: string;
  modelVersionId?: string;
}

function live(): { models: LiveDm[]; split: Record<string, number> } {
  const ep = sim.state.get(ENDPOINT)?.body as { deployedModels?: LiveDm[]; trafficSplit?: Record<string, number> };
  return { models: ep.deployedModels ?? [], split: ep.trafficSplit ?? {} };
}

/** Traffic share per deployment name with the version it serves: `blue@2: 90`. */
function served(): Record<string, number> {
  const { models, split } = live();
  return Object.fromEntries(models.map((m) => [`${m.displayName}@${m.modelVersionId}`, split[m.id] ?? 0]));
}

describe('a deployment bound to an alias follows it on Vertex AI', () => {
  it('reports an alias moved outside mlplane as drift: alias champion: v1 → v2 on the deployment that follows it', async () => {
    const engine = engineFor(sim);
    const input = inputFor(example('Fraud'));
    await engine.deploy(input);
    expect(served()).toEqual({ 'blue@1': 90, 'green@1': 10 });
    expect((await engine.diff(input)).items.filter((i) => i.action !== 'noop')).toEqual([]);

    await promote('champion');
    const plan = await engine.diff(input);
    const changed = plan.items.filter((i) => i.action !== 'noop');
    expect(changed.map((i) => [i.id, i.action])).toEqual([['vertex.deployedModel/Fraud/Scoring/blue', 'update']]);
    expect(changed[0]?.summary[0]).toBe('alias champion: v1 → v2');
    expect(changed[0]?.summary[1]).toMatch(/outside mlplane/);
    expect(changed[0]?.changes).toEqual([{ property: 'modelVersionId', before: '1', after: '2' }]);
  });

  it('rolls the deployment to the new version with the same traffic share, then undeploys the old one', async () => {
    const engine = engineFor(sim);
    const input = inputFor(example('Fraud'));
    await engine.deploy(input);
    const blueId = live().models.find((m) => m.displayName === 'blue')?.id as string;
    await promote('champion');
    const before = writes(sim).length;
    await engine.deploy(input);
    const rpcs = writes(sim).slice(before).map((r) => r.rpc).filter((r) => !r.startsWith('bigquery'));
    expect(rpcs).toEqual(['EndpointService.DeployModel', 'EndpointService.UndeployModel']);
    expect(served()).toEqual({ 'blue@2': 90, 'green@1': 10 });
    expect(live().models.find((m) => m.displayName === 'blue')?.id).toBe(twinId(blueId));
    // Converged: nothing left to do, and a second promotion rolls back to the deployment's own id.
    expect((await engine.deploy(input)).writes).toBe(0);
    await promote('champion');
    await engine.deploy(input);
    expect(served()).toEqual({ 'blue@3': 90, 'green@1': 10 });
    expect(live().models.find((m) => m.displayName === 'blue')?.id).toBe(blueId);
  });

  it('rolls both deployments of an endpoint when both aliases moved, keeping the 90/10 split', async () => {
    const engine = engineFor(sim);
    const input = inputFor(example('Fraud'));
    await engine.deploy(input);
    await promote('champion');
    await promote('challenger');
    await engine.deploy(input);
    expect(served()).toEqual({ 'blue@2': 90, 'green@3': 10 });
    expect((await engine.diff(input)).items.filter((i) => i.action !== 'noop')).toEqual([]);
  });

  it('never moves a deployment pinned to a version', async () => {
    const pinned = editResource(example('Fraud'), 'Fraud/Scoring', (r) => {
      const deployments = r.deployments as { name: string; model: Record<string, string> }[];
      const blue = deployments.find((d) => d.name === 'blue') as { model: Record<string, string> };
      blue.model = { registry: blue.model.registry as string, model: blue.model.model as string, version: '1' };
    });
    const engine = engineFor(sim);
    const input = inputFor(pinned);
    await engine.deploy(input);
    await promote('champion');
    expect((await engine.diff(input)).items.filter((i) => i.action !== 'noop')).toEqual([]);
    expect((await engine.deploy(input)).writes).toBe(0);
    expect(served()).toEqual({ 'blue@1': 90, 'green@1': 10 });
  });
});
