import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isRestError } from '@azure/core-rest-pipeline';
import { azureAdapter } from '../../../adapters/azure';
import { createClients } from '../../../adapters/azure/deploy/transport';
import type { AzureSimulator } from '../../../adapters/azure/simulator';
import { engineFor, example, inputFor, recordingProgress, settingsFor, simulator, SUBSCRIPTION } from './support';

let sim: AzureSimulator;

beforeAll(async () => {
  sim = await simulator();
});
afterAll(() => sim.close());

describe('invalid input makes zero requests', () => {
  it('fails if the app is invalid for the azure target, before any request', async () => {
    const before = sim.requestLog.length;
    // The Fraud environment must stay in the EU; an Azure location in the US is a configuration error.
    const model = example('Fraud');
    const deploy = async () => {
      const settings = { ...settingsFor(model), location: 'eastus' };
      const { documents } = azureAdapter.synth(model, settings);
      return engineFor(sim).deploy({ model, documents, settings, progress: recordingProgress() });
    };
    await expect(deploy()).rejects.toThrow(/\[Fraud\] region 'eu' requires an Azure region in that geography/);
    expect(sim.requestLog.length).toBe(before);
  });

  it.each([
    ['no ARM template', (i: ReturnType<typeof inputFor>) => ({ ...i, documents: { 'parameters.json': i.documents['parameters.json'] } }), /no ARM template/],
    ['a parameter without a value', (i: ReturnType<typeof inputFor>) => ({ ...i, documents: { ...i.documents, 'parameters.json': { parameters: { x: {} } } } }), /parameter 'x' in parameters.json has no value/],
    ['settings without a resource group', (i: ReturnType<typeof inputFor>) => ({ ...i, settings: { ...i.settings, resourceGroup: '' } }), /azure settings need subscriptionId, resourceGroup and location/],
  ])('fails if the input has %s, naming the environment, with no request sent', async (_name, mutate, message) => {
    const before = sim.requestLog.length;
    const engine = engineFor(sim);
    const input = mutate(inputFor(example('Churn')));
    await expect(engine.deploy(input)).rejects.toThrow(message);
    await expect(engine.diff(input)).rejects.toThrow(/^\[Churn\] /);
    await expect(engine.destroy(input, {})).rejects.toThrow(message);
    expect(sim.requestLog.length).toBe(before);
  });
});

describe('the simulator checks request bodies against the ARM schemas', () => {
  it('fails if an Azure ML body violates the 2022-10-01 schema (400), and accepts a valid one', async () => {
    const { ml } = createClients({ subscriptionId: SUBSCRIPTION, endpoint: sim.url });
    await engineFor(sim).deploy(inputFor(example('Churn'), settingsFor(example('Churn'), 'rg-bodies')));

    const bad = await ml.onlineEndpoints
      .beginCreateOrUpdate('rg-bodies', 'churn-staging', 'ep-bad', { location: 'centralus', properties: { authMode: 'Password' as 'Key' } }, { updateIntervalInMs: 1 })
      .catch((e: unknown) => e);
    expect(isRestError(bad) && bad.statusCode).toBe(400);
    expect(String((bad as Error).message)).toMatch(/properties\/authMode/);

    const good = await ml.onlineEndpoints.beginCreateOrUpdateAndWait('rg-bodies', 'churn-staging', 'ep-good', { location: 'centralus', properties: { authMode: 'Key' } }, { updateIntervalInMs: 1 });
    expect(good.properties.provisioningState).toBe('Succeeded');
  });

  it('fails if a template ML resource violates the 2026-05-01 schema, with no retry and no write', async () => {
    const model = example('Churn');
    const input = inputFor(model, settingsFor(model, 'rg-badtemplate'));
    const template = input.documents['template.json'] as { resources: Record<string, unknown>[] };
    const resources = template.resources.map((r) => (r.type === 'Microsoft.MachineLearningServices/workspaces/computes' ? { ...r, properties: { ...(r.properties as object), computeType: 'Mainframe' } } : r));
    const before = sim.requestLog.length;

    const err = await engineFor(sim).deploy({ ...input, documents: { ...input.documents, 'template.json': { ...template, resources } } }).catch((e: unknown) => e);

    expect(String(err)).toMatch(/^DeployError: \[Churn\/Cpu\] 400 InvalidTemplateDeployment: .*compute pool 'cpu' \(Churn\/Cpu\): InvalidRequestContent: .*does not match the ARM schema of Microsoft\.MachineLearningServices\/workspaces\/computes@2026-05-01: .*computeType/);
    const sent = sim.requestLog.slice(before);
    expect(sent.filter((r) => r.method === 'POST').map((r) => `${r.path.split('/').pop() ?? ''} ${r.status}`)).toEqual(['whatIf 400']);
    expect(sent.filter((r) => r.write)).toEqual([]);
  });
});

describe('the simulator deploys as ARM would', () => {
  it('fails if a resource reads another it does not depend on, naming the construct path', async () => {
    const model = example('Churn');
    const input = inputFor(model, settingsFor(model, 'rg-noref'));
    const template = input.documents['template.json'] as { resources: Record<string, unknown>[] };
    // A compute that reads an identity declared after it, without dependsOn on it.
    // (ARM deploys what does not depend on each other in parallel: the identity waits for the compute here, so the compute always reads it too early.)
    const late = { type: 'Microsoft.ManagedIdentity/userAssignedIdentities', apiVersion: '2023-01-31', name: 'id-late', location: 'centralus', dependsOn: ["[resourceId('Microsoft.MachineLearningServices/workspaces/computes', 'churn-staging', 'cpu')]"] };
    const resources = template.resources.map((r) =>
      r.type === 'Microsoft.MachineLearningServices/workspaces/computes'
        ? { ...r, properties: { ...(r.properties as object), description: "[reference(resourceId('Microsoft.ManagedIdentity/userAssignedIdentities', 'id-late'), '2023-01-31').clientId]" } }
        : r,
    );

    const err = await engineFor(sim)
      .deploy({ ...input, documents: { ...input.documents, 'template.json': { ...template, resources: [...resources, late] } } })
      .catch((e: unknown) => e);

    expect(String(err)).toMatch(/^DeployError: \[Churn\/Cpu\] ARM deployment failed: compute pool 'cpu' \(Churn\/Cpu\): ResourceNotFound: The Resource '.*id-late' is not defined in the template and does not exist/);
  });

  it('fails if a feature set specification was not uploaded, naming the feature table', async () => {
    const model = example('Fraud');
    const input = inputFor(model, settingsFor(model, 'rg-nospec'));
    const documents = Object.fromEntries(Object.entries(input.documents).filter(([k]) => !k.endsWith('/FeaturesetSpec.yaml')));
    expect(Object.keys(documents).length).toBeLessThan(Object.keys(input.documents).length);

    const err = await engineFor(sim).deploy({ ...input, documents }).catch((e: unknown) => e);

    expect(String(err)).toMatch(/^DeployError: \[Fraud\/CustomerFeatures\] ARM deployment failed: .*UserError: The feature set specification was not found at 'azureml:\/\/datastores\/workspaceblobstore\/paths\/mlplane\/featuresets\//);
  });
});
