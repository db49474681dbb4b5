import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startGcpSimulator, type GcpSimulator } from '../../adapters/gcp/simulator';
import { makeClients } from '../../adapters/gcp/deploy/clients';
import { promoteGcp } from '../../adapters/gcp/deploy/promote';
import type { PromotionRequest, PromotionSide } from '../../adapters/shared/promotion';
import type { EnvironmentModel } from '../../lib';

// Two stages in one project, in two regions: the registry copies the version itself (models.copy).
const PROJECT = 'mlplane-one';
const SOURCE = `projects/${PROJECT}/locations/europe-west4/models/demo-staging-m`;
const TARGET = `projects/${PROJECT}/locations/us-central1/models/demo-prod-m`;
let sim: GcpSimulator;
const saved = process.env.MLPLANE_GCP_ENDPOINT;

const side = (name: string, stage: string): PromotionSide => {
  const [, , , region] = name.split('/') as [string, string, string, string];
  return {
    model: { environment: { name: 'Demo', stage } } as unknown as EnvironmentModel,
    settings: { project: PROJECT, region },
    documents: { 'manifest.json': { ownershipLabels: { 'mlplane-env': `demo-${stage}` }, entries: [{ collection: 'projects.locations.models', path: 'Demo/Registry/M', parent: name.split('/models/')[0], id: name.split('/').pop() }] } },
  };
};
const request = (gate?: PromotionRequest['spec']['gate']): PromotionRequest => ({
  spec: { path: 'Demo/Promote', registry: 'Demo/Registry', modelPath: 'Demo/Registry/M', model: 'm', from: 'staging', to: 'prod', alias: 'champion', approval: 'none', ...(gate ? { gate } : {}) },
  selector: { alias: 'champion' },
  source: side(SOURCE, 'staging'),
  target: side(TARGET, 'prod'),
  log: () => undefined,
});

async function upload(name: string, labels: Record<string, string>, aliases: string[] = []): Promise<void> {
  const [, , , region] = name.split('/') as [string, string, string, string];
  const models = makeClients(PROJECT, region).models;
  const [op] = await models.uploadModel({ parent: name.split('/models/')[0], modelId: name.split('/').pop(), model: { displayName: 'm', artifactUri: 'gs://one/m/1', containerSpec: { imageUri: 'ghcr.io/acme/m:1' }, labels, versionAliases: aliases } });
  await op.promise();
}

describe('promotion within one project uses the Vertex Model Registry copy (models.copy)', () => {
  beforeAll(async () => {
    sim = await startGcpSimulator({ port: 0, operationPolls: 1 });
    process.env.MLPLANE_GCP_ENDPOINT = sim.url;
    await upload(SOURCE, { 'mlplane-metric-auc': '0_95', 'mlplane-env': 'demo-staging' }, ['champion']);
    await upload(TARGET, { 'mlplane-metric-auc': '0_9', 'mlplane-env': 'demo-prod' }, ['champion']);
  });
  afterAll(async () => {
    if (saved === undefined) delete process.env.MLPLANE_GCP_ENDPOINT;
    else process.env.MLPLANE_GCP_ENDPOINT = saved;
    await sim.close();
  });

  it('fails if the candidate does not beat the champion of the target stage by minDelta', async () => {
    await expect(promoteGcp(request({ metric: 'auc', comparison: 'greaterThan', against: { kind: 'alias', alias: 'champion' }, minDelta: 0.1 }))).rejects.toThrow(
      "[Demo/Promote] not promoting projects/mlplane-one/locations/europe-west4/models/demo-staging-m@1 from staging to prod: the gate did not pass: auc=0.95 is not > 0.9 + 0.1 (reference: prod's champion)",
    );
  });

  it('copies the version with CopyModel (a long-running operation), labels it with its lineage, moves the alias', async () => {
    const result = await promoteGcp(request({ metric: 'auc', comparison: 'greaterThan', against: { kind: 'alias', alias: 'champion' }, minDelta: 0.01 }));
    expect(result).toMatchObject({ outcome: 'promoted', targetVersion: '2', writes: 3 });
    const copy = sim.requestLog.find((l) => l.rpc === 'ModelService.CopyModel');
    expect(copy?.body).toEqual({ sourceModel: `${SOURCE}@1`, parentModel: TARGET });
    const [champion] = await makeClients(PROJECT, 'us-central1').models.getModel({ name: `${TARGET}@champion` });
    expect(champion.versionId).toBe('2');
    expect(champion.labels).toMatchObject({ 'mlplane-promoted-from': 'staging', 'mlplane-source-version': '1', 'mlplane-env': 'demo-prod', 'mlplane-metric-auc': '0_95' });
    const again = await promoteGcp(request());
    expect(again).toMatchObject({ outcome: 'unchanged', targetVersion: '2', writes: 0 });
  });

  it('fails if CopyModel is asked to copy from another project (as the proto says), or with an unknown field', async () => {
    const models = makeClients(PROJECT, 'us-central1').models;
    await expect(models.copyModel({ parent: `projects/${PROJECT}/locations/us-central1`, sourceModel: 'projects/other/locations/europe-west4/models/x', modelId: 'y' })).rejects.toThrow(/must be in the same project/);
    const res = await fetch(`${sim.url}/v1/projects/${PROJECT}/locations/us-central1/models:copy`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ sourceModel: SOURCE, labels: { a: 'b' } }) });
    expect(res.status).toBe(400);
    expect(JSON.stringify(await res.json())).toContain('labels');
  });
});
