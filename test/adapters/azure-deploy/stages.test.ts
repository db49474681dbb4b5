import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { deploymentNameOf } from '../../../adapters/azure/deploy';
import type { AzureSimulator } from '../../../adapters/azure/simulator';
import { fraudModel } from '../azure/fixtures';
import { engineFor, example, inputFor, settingsFor, simulator } from './support';

// The stages of one definition share a resource group: each is its own ARM deployment, owns only
// what is tagged with its stage, and its names differ from every other stage's.

const RG = 'rg-stages';
const STAGES = ['dev', 'staging', 'prod'] as const;

type Template = { resources: { type: string; name: string; properties?: { roleName?: string } }[] };

/** Resource keys (`type name`, lower case) of a synthesized template, and its endpoint names. */
function templateOf(environment: string, stage: string) {
  const model = example(environment, stage);
  const template = inputFor(model, settingsFor(model, RG)).documents['template.json'] as Template;
  return {
    keys: template.resources.map((r) => `${r.type} ${r.name}`.toLowerCase()),
    endpoints: template.resources.filter((r) => /\/(online|batch)Endpoints$/.test(r.type)).map((r) => r.name.split('/').pop() as string),
    roleNames: template.resources.filter((r) => r.type === 'Microsoft.Authorization/roleDefinitions').map((r) => r.properties?.roleName as string),
  };
}

describe('azure: the stages of one definition in one resource group', () => {
  for (const environment of ['Fraud', 'Churn']) {
    it(`${environment}: no resource, endpoint or custom role name of one stage is another stage's`, () => {
      const [dev, staging, prod] = STAGES.map((s) => templateOf(environment, s));
      for (const [a, b] of [[dev, staging], [dev, prod], [staging, prod]] as const) {
        expect(a?.keys.filter((k) => b?.keys.includes(k))).toEqual([]);
        // Endpoint names are unique in the Azure region, not only in their workspace.
        expect(a?.endpoints.filter((k) => b?.endpoints.includes(k))).toEqual([]);
        expect(a?.roleNames.filter((k) => b?.roleNames.includes(k))).toEqual([]);
      }
    });
  }

  it('keeps the names of a single-stage environment: identity id-train, endpoint scoring-4290e6, role (<rg>/Fraud), deployment mlplane-fraud', () => {
    const model = fraudModel();
    expect(model.environment.stages).toBeUndefined();
    // (the resource group of the azure synth tests, whose names these are)
    const template = inputFor(model, settingsFor(model, 'rg-mlplane-test')).documents['template.json'] as Template;
    const names = template.resources.map((r) => r.name);
    expect(names).toContain('id-train');
    expect(names).toContain('retrain-drift');
    expect(names.filter((n) => /scoring/.test(n) && !n.includes('/'))).toEqual(['id-scoring', 'autoscale-scoring-4290e6-blue', 'autoscale-scoring-4290e6-green', 'traffic-scoring-4290e6']);
    expect(template.resources.filter((r) => r.type === 'Microsoft.Authorization/roleDefinitions').map((r) => r.properties?.roleName)).toContain("[format('mlplane Model Registrar ({0}/Fraud)', resourceGroup().name)]");
    expect(deploymentNameOf(model.environment)).toBe('mlplane-fraud');
  });

  it('names each stage its own ARM deployment (mlplane-fraud-staging), and keeps mlplane-fraud without declared stages', () => {
    expect(STAGES.map((s) => deploymentNameOf(example('Fraud', s).environment))).toEqual(['mlplane-fraud-dev', 'mlplane-fraud-staging', 'mlplane-fraud-prod']);
    expect(deploymentNameOf({ name: 'Fraud', stage: 'prod' })).toBe('mlplane-fraud');
  });
});

describe('azure: deploying two stages into one resource group', () => {
  let sim: AzureSimulator;
  beforeEach(async () => {
    sim = await simulator();
  });
  afterEach(() => sim.close());

  const inRg = (s: AzureSimulator) => [...s.state.resources.values()].filter((r) => r.id.toLowerCase().includes(`/resourcegroups/${RG}/`));
  const stageOf = (r: { body: { tags?: unknown; properties?: unknown } }) => {
    const tags = (r.body.tags ?? (r.body.properties as { tags?: unknown } | undefined)?.tags) as Record<string, string> | undefined;
    return tags?.['mlplane-stage'];
  };
  const deployStage = async (stage: string) => {
    const model = example('Fraud', stage);
    return engineFor(sim).deploy(inputFor(model, settingsFor(model, RG)));
  };

  it('deploys staging and prod side by side, each its own deployment, neither overwriting the other', async () => {
    // WHEN both stages are deployed into the same resource group
    await deployStage('staging');
    const staging = new Map(inRg(sim).map((r) => [r.id.toLowerCase(), JSON.stringify(r.body)]));
    await deployStage('prod');

    // THEN both deployments exist and succeeded
    expect(sim.state.deployments.get(`${RG}/mlplane-fraud-staging`)?.state).toBe('Succeeded');
    expect(sim.state.deployments.get(`${RG}/mlplane-fraud-prod`)?.state).toBe('Succeeded');
    // AND prod's deploy left every staging resource as staging deployed it
    const after = new Map(inRg(sim).map((r) => [r.id.toLowerCase(), JSON.stringify(r.body)]));
    for (const [id, body] of staging) expect(after.get(id), id).toBe(body);
    // AND both stages' workspaces are there, tagged with their stage
    expect(inRg(sim).filter((r) => r.type === 'Microsoft.MachineLearningServices/workspaces').map((r) => `${r.name}=${stageOf(r) ?? '-'}`).sort()).toEqual(['fraud-prod-fs=prod', 'fraud-prod=prod', 'fraud-staging-fs=staging', 'fraud-staging=staging']);
  }, 120_000);

  it('plans dev with nothing of staging or prod: every item a create of a dev resource, no delete', async () => {
    // GIVEN staging and prod deployed into the resource group
    await deployStage('staging');
    await deployStage('prod');
    const others = new Set(inRg(sim).map((r) => r.id.toLowerCase()));

    // WHEN planning dev into the same resource group
    const model = example('Fraud', 'dev');
    const plan = await engineFor(sim).diff(inputFor(model, settingsFor(model, RG)));

    // THEN nothing of the other stages shows: all of dev is new, nothing is deleted or retained
    expect(plan.items.length).toBeGreaterThan(10);
    expect(plan.items.filter((i) => others.has(i.id.toLowerCase())).map((i) => i.id)).toEqual([]);
    expect([...new Set(plan.items.map((i) => i.action))]).toEqual(['create']);
  }, 120_000);

  it("fails if staging's workspace holds a compute tagged for prod: staging's destroy does not own it, names it and deletes nothing", async () => {
    // GIVEN staging deployed, and a compute in its workspace tagged as another stage's
    await deployStage('staging');
    const ws = inRg(sim).find((r) => r.type === 'Microsoft.MachineLearningServices/workspaces' && r.name === 'fraud-staging');
    sim.state.seed({ id: `${ws?.id}/computes/prodgpu`, location: 'westeurope', tags: { 'mlplane-env': 'Fraud', 'mlplane-stage': 'prod' }, properties: { computeType: 'AmlCompute' } });
    const count = sim.state.resources.size;

    // WHEN destroying staging with its data
    const model = example('Fraud', 'staging');
    const error = (await engineFor(sim).destroy(inputFor(model, settingsFor(model, RG)), { destroyData: true }).catch((e: unknown) => e)) as Error;

    // THEN it refuses, naming the compute and the tags it would need
    expect(error.message).toContain('refusing to destroy: deleting these would also delete resources this environment does not own (not tagged mlplane-env=Fraud, mlplane-stage=staging)');
    expect(error.message).toMatch(/\[Fraud\] workspace 'fraud-staging' holds compute pool 'prodgpu' \(/);
    expect(sim.state.resources.size).toBe(count);
  }, 120_000);

  it('destroys staging (data included) and leaves every resource of prod, and its deployment, untouched', async () => {
    // GIVEN staging and prod deployed into the resource group (prod's: what its deploy added)
    await deployStage('staging');
    const staging = new Set(inRg(sim).map((r) => r.id.toLowerCase()));
    await deployStage('prod');
    const prod = new Map(inRg(sim).filter((r) => !staging.has(r.id.toLowerCase())).map((r) => [r.id.toLowerCase(), JSON.stringify(r.body)]));
    expect([...prod.keys()].some((id) => id.endsWith('/workspaces/fraud-prod'))).toBe(true);
    expect([...prod.keys()].filter((id) => /roledefinitions/.test(id)).length).toBeGreaterThan(0);

    // WHEN destroying staging with its data
    const model = example('Fraud', 'staging');
    const input = inputFor(model, settingsFor(model, RG));
    const plan = await engineFor(sim).planDestroy(input, { destroyData: true });
    const summary = await engineFor(sim).destroy(input, { destroyData: true });

    // THEN the plan and the deletes reach staging only
    expect(plan.items.filter((i) => prod.has(i.id.toLowerCase())).map((i) => i.id)).toEqual([]);
    expect(summary.deleted).toBeGreaterThan(5);
    // AND every prod resource is still there, unchanged
    const after = new Map(inRg(sim).map((r) => [r.id.toLowerCase(), JSON.stringify(r.body)]));
    for (const [id, body] of prod) expect(after.get(id), id).toBe(body);
    // AND nothing of staging is left (its untagged role definitions included)
    expect(inRg(sim).filter((r) => staging.has(r.id.toLowerCase())).map((r) => r.id)).toEqual([]);
    // AND prod's deployment is unchanged: a diff of prod has nothing to do
    expect(sim.state.deployments.get(`${RG}/mlplane-fraud-prod`)?.state).toBe('Succeeded');
    const prodModel = example('Fraud', 'prod');
    const prodPlan = await engineFor(sim).diff(inputFor(prodModel, settingsFor(prodModel, RG)));
    expect(prodPlan.items.filter((i) => i.action !== 'noop').map((i) => `${i.action} ${i.id}`)).toEqual([]);
  }, 180_000);
});
