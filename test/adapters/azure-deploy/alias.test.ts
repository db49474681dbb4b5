import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AzureMachineLearningWorkspaces } from '@azure/arm-machinelearning';
import { createClients } from '../../../adapters/azure/deploy/transport';
import type { AzureSimulator } from '../../../adapters/azure/simulator';
import type { EnvironmentModel } from '../../../lib/model/types';
import { engineFor, example, inputFor, settingsFor, simulator, SUBSCRIPTION } from './support';

let sim: AzureSimulator;
let ml: AzureMachineLearningWorkspaces;
beforeAll(async () => {
  sim = await simulator();
  ml = createClients({ subscriptionId: SUBSCRIPTION, endpoint: sim.url }).ml;
});
afterAll(() => sim.close());

/** Version 2 of the fraud model takes alias `champion`, as someone with the CLI or studio would do. */
function moveChampionOutside(resourceGroup: string): void {
  const versions = `/subscriptions/${SUBSCRIPTION}/resourceGroups/${resourceGroup}/providers/Microsoft.MachineLearningServices/workspaces/fraud-prod/models/fraud/versions`;
  sim.state.seed({ id: `${versions}/2`, properties: { tags: { 'mlplane-alias-champion': 'true' } } });
}

async function servedModel(resourceGroup: string, deployment: string): Promise<string> {
  const endpoints = [];
  for await (const e of ml.onlineEndpoints.list(resourceGroup, 'fraud-prod')) endpoints.push(e);
  const d = await ml.onlineDeployments.get(resourceGroup, 'fraud-prod', endpoints[0]?.name as string, deployment);
  return String(d.properties.model).split('/models/')[1] as string;
}

function pinBlue(model: EnvironmentModel): EnvironmentModel {
  const copy = structuredClone(model) as unknown as { resources: { kind: string; deployments?: { name: string; model: Record<string, string> }[] }[] };
  const blue = copy.resources.find((r) => r.kind === 'onlineEndpoint')?.deployments?.find((d) => d.name === 'blue') as { model: Record<string, string> };
  blue.model = { registry: blue.model.registry as string, model: blue.model.model as string, version: '1' };
  return copy as unknown as EnvironmentModel;
}

describe('azure: a deployment bound to an alias follows it', () => {
  it('rolls the deployment to the version now holding the alias, and only that deployment', async () => {
    const model = example('Fraud');
    const settings = settingsFor(model, 'rg-alias-roll');
    const engine = engineFor(sim);
    await engine.deploy(inputFor(model, settings));
    expect(await servedModel(settings.resourceGroup, 'blue')).toBe('fraud/versions/1');
    moveChampionOutside(settings.resourceGroup);
    const plan = await engine.diff(inputFor(model, settings));
    const changed = plan.items.filter((i) => i.action !== 'noop');
    expect(changed.map((i) => [i.path, i.summary[1]])).toEqual([['Fraud/Scoring/blue', 'alias champion: v1 → v2']]);
    await engine.deploy(inputFor(model, settings));
    expect(await servedModel(settings.resourceGroup, 'blue')).toBe('fraud/versions/2');
    expect(await servedModel(settings.resourceGroup, 'green')).toBe('fraud/versions/1');
    expect((await engine.diff(inputFor(model, settings))).items.filter((i) => i.action !== 'noop')).toEqual([]);
  });

  it('never moves a deployment pinned to a version', async () => {
    const model = pinBlue(example('Fraud'));
    const settings = settingsFor(model, 'rg-alias-pinned');
    const engine = engineFor(sim);
    await engine.deploy(inputFor(model, settings));
    moveChampionOutside(settings.resourceGroup);
    expect((await engine.diff(inputFor(model, settings))).items.filter((i) => i.action !== 'noop')).toEqual([]);
    await engine.deploy(inputFor(model, settings));
    expect(await servedModel(settings.resourceGroup, 'blue')).toBe('fraud/versions/1');
  });
});
