import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startAzureSimulator, type AzureSimulator } from '../../adapters/azure/simulator';
import { createClients } from '../../adapters/azure/deploy/transport';
import { conformancePath } from '../support/conformance';
import { cli } from '../support/cli';

// Fraud at staging: resource group mlplane-examples-staging, at prod: mlplane-examples (cdk.json
// mlplane:stages); the workspace carries the stage ('fraud-staging', 'fraud-prod'), the model asset is 'fraud'.
const SUB = '00000000-0000-0000-0000-000000000000';
const STAGING = { rg: 'mlplane-examples-staging', ws: 'fraud-staging' };
const PROD = { rg: 'mlplane-examples', ws: 'fraud-prod' };

let sim: AzureSimulator;
const saved = process.env.MLPLANE_AZURE_ENDPOINT;
const ml = () => createClients({ subscriptionId: SUB }).ml;

/** Register a trained version as the register step does: metric tags, alias tag moved to it. */
async function register(at: { rg: string; ws: string }, version: string, auc: string, alias?: string): Promise<void> {
  const client = ml();
  if (alias) {
    for await (const v of client.modelVersions.list(at.rg, at.ws, 'fraud')) {
      if (v.properties.tags?.[`mlplane-alias-${alias}`] === 'true') {
        const { [`mlplane-alias-${alias}`]: _, ...rest } = v.properties.tags;
        await client.modelVersions.createOrUpdate(at.rg, at.ws, 'fraud', v.name as string, { properties: { ...v.properties, tags: rest } });
      }
    }
  }
  await client.modelVersions.createOrUpdate(at.rg, at.ws, 'fraud', version, {
    properties: {
      modelType: 'custom_model',
      modelUri: `azureml://subscriptions/${SUB}/resourcegroups/${at.rg}/workspaces/${at.ws}/datastores/workspaceblobstore/paths/models/fraud/${version}`,
      jobName: `train-run-${version}`,
      tags: { 'mlplane-metric-auc': auc, ...(alias ? { [`mlplane-alias-${alias}`]: 'true' } : {}) },
    },
  });
}

describe('mlplane promote on the azure simulator', () => {
  beforeAll(async () => {
    sim = await startAzureSimulator({ conformanceDir: conformancePath('azure') });
    process.env.MLPLANE_AZURE_ENDPOINT = sim.url;
    // The workspace of each stage, as the stage's deploy defines it (test/promotion/stages.test.ts deploys whole stages).
    for (const at of [STAGING, PROD]) {
      await ml().workspaces.beginCreateOrUpdateAndWait(at.rg, at.ws, { location: 'westeurope', identity: { type: 'SystemAssigned' }, properties: {} } as never, { updateIntervalInMs: 1 });
    }
  });
  afterAll(async () => {
    if (saved === undefined) delete process.env.MLPLANE_AZURE_ENDPOINT;
    else process.env.MLPLANE_AZURE_ENDPOINT = saved;
    await sim.close();
  });

  it('fails if the gate does not pass: auc 0.85 is not > 0.9, and nothing is written in prod', async () => {
    await register(STAGING, '1', '0.85', 'champion');
    const mark = sim.requestLog.length;
    const r = await cli('promote', 'Fraud', 'fraud@champion', '--from', 'staging', '--to', 'prod', '-t', 'azure', '--approved-by', 'alice');
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('[Fraud/PromoteFraud] not promoting mlplane-examples-staging/fraud-staging/fraud:1 from staging to prod: the gate did not pass: auc=0.85 is not > 0.9 + 0');
    expect(sim.requestLog.slice(mark).filter((l) => l.method !== 'GET')).toEqual([]);
  }, 30_000);

  it('copies the staging champion into the prod workspace with lineage tags and the alias, then is a no-op', async () => {
    await register(PROD, '1', '0.91', 'champion');
    await register(STAGING, '2', '0.93', 'champion');
    const r = await cli('promote', 'Fraud', 'fraud@champion', '--from', 'staging', '--to', 'prod', '-t', 'azure', '--approved-by', 'alice', '--json');
    expect(r.code, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout)).toMatchObject({ outcome: 'promoted', sourceVersion: '2', targetVersion: '2' });
    const promoted = await ml().modelVersions.get(PROD.rg, PROD.ws, 'fraud', '2');
    expect(promoted.properties.modelUri).toContain(`/resourcegroups/${STAGING.rg}/workspaces/fraud-staging/`);
    expect(promoted.properties.tags).toMatchObject({
      'mlplane-promoted-from': 'staging',
      'mlplane-source-version': '2',
      'mlplane-source-model': 'mlplane-examples-staging/fraud-staging/fraud',
      'mlplane-source-run': 'train-run-2',
      'mlplane-approved-by': 'alice',
      'mlplane-metric-auc': '0.93',
      'mlplane-alias-champion': 'true',
    });
    const old = await ml().modelVersions.get(PROD.rg, PROD.ws, 'fraud', '1');
    expect(old.properties.tags?.['mlplane-alias-champion']).toBeUndefined();

    const mark = sim.requestLog.length;
    const again = await cli('promote', 'Fraud', 'fraud@champion', '--from', 'staging', '--to', 'prod', '-t', 'azure', '--approved-by', 'alice', '--json');
    expect(again.code, again.stderr).toBe(0);
    expect(JSON.parse(again.stdout)).toMatchObject({ outcome: 'unchanged', targetVersion: '2', writes: 0 });
    expect(sim.requestLog.slice(mark).filter((l) => l.method !== 'GET')).toEqual([]);
  }, 30_000);
});
