import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startGcpSimulator, type GcpSimulator } from '../../adapters/gcp/simulator';
import { makeClients } from '../../adapters/gcp/deploy/clients';
import { cli } from '../support/cli';

// Fraud at staging lives in project mlplane-examples-staging, at prod in mlplane-examples
// (cdk.json mlplane:stages), both in europe-west4: promotion uploads across projects.
const STAGING = 'projects/mlplane-examples-staging/locations/europe-west4/models/fraud-staging-fraud';
const PROD = 'projects/mlplane-examples/locations/europe-west4/models/fraud-prod-fraud';

let sim: GcpSimulator;
const saved = process.env.MLPLANE_GCP_ENDPOINT;

/** Register a trained version in a stage as the register step does: upload with metric labels, then the alias. */
async function register(model: string, auc: string, alias?: string): Promise<string> {
  const [, project, , region] = model.split('/') as [string, string, string, string];
  const models = makeClients(project, region).models;
  const [op] = await models.uploadModel({
    parent: model.split('/models/')[0],
    parentModel: model,
    model: { displayName: 'fraud', artifactUri: `gs://${project}-staging/models/fraud/${auc}`, containerSpec: { imageUri: 'ghcr.io/acme/fraud-serve:2.0.3' }, labels: { 'mlplane-env': 'fraud-staging', 'mlplane-metric-auc': auc } },
  });
  const [res] = await op.promise();
  if (alias) await models.mergeVersionAliases({ name: `${model}@${res.modelVersionId}`, versionAliases: [alias] });
  return String(res.modelVersionId);
}

describe('mlplane promote on the gcp simulator', () => {
  beforeAll(async () => {
    sim = await startGcpSimulator({ port: 0 });
    process.env.MLPLANE_GCP_ENDPOINT = sim.url;
    // The registry of each stage as its deploy leaves it: the model with its bootstrap version
    // (test/promotion/stages.test.ts deploys the whole stages).
    for (const model of [STAGING, PROD]) {
      const [, project, , region] = model.split('/') as [string, string, string, string];
      const [op] = await makeClients(project, region).models.uploadModel({
        parent: model.split('/models/')[0],
        modelId: model.split('/').pop(),
        model: { displayName: 'fraud', containerSpec: { imageUri: 'ghcr.io/acme/fraud-serve:2.0.3' }, labels: { 'mlplane-env': model === PROD ? 'fraud-prod' : 'fraud-staging' } },
      });
      await op.promise();
    }
  });
  afterAll(async () => {
    if (saved === undefined) delete process.env.MLPLANE_GCP_ENDPOINT;
    else process.env.MLPLANE_GCP_ENDPOINT = saved;
    await sim.close();
  });

  it('fails if the approval the promotion requires is missing, before any cloud call', async () => {
    const before = sim.requestLog.length;
    const r = await cli('promote', 'Fraud', 'fraud@champion', '--from', 'staging', '--to', 'prod', '-t', 'gcp');
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('[Fraud/PromoteFraud] promotion from staging to prod requires approval');
    expect(r.stderr).toContain('--approved-by');
    expect(sim.requestLog.length).toBe(before);
  }, 30_000);

  it('fails if the gate does not pass: auc 0_85 is not > 0.9, and nothing is written', async () => {
    await register(STAGING, '0_85', 'champion');
    const writes = sim.requestLog.filter((l) => l.write).length;
    const r = await cli('promote', 'Fraud', 'fraud@champion', '--from', 'staging', '--to', 'prod', '-t', 'gcp', '--approved-by', 'alice');
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('[Fraud/PromoteFraud] not promoting');
    expect(r.stderr).toContain('the gate did not pass: auc=0.85 is not > 0.9 + 0');
    expect(sim.requestLog.filter((l) => l.write).length).toBe(writes);
  }, 30_000);

  it('promotes the staging champion into the prod project with lineage labels and the alias, then is a no-op', async () => {
    const version = await register(STAGING, '0_93', 'champion');
    const r = await cli('promote', 'Fraud', 'fraud@champion', '--from', 'staging', '--to', 'prod', '-t', 'gcp', '--approved-by', 'alice', '--json');
    expect(r.code, r.stderr).toBe(0);
    const out = JSON.parse(r.stdout) as { outcome: string; target: string; targetVersion: string; writes: number };
    expect(out.outcome).toBe('promoted');
    const [promoted] = await makeClients('mlplane-examples', 'europe-west4').models.getModel({ name: `${PROD}@champion` });
    expect(promoted.versionId).toBe(out.targetVersion);
    expect(promoted.artifactUri).toBe('gs://mlplane-examples-staging-staging/models/fraud/0_93');
    expect(promoted.labels).toMatchObject({
      'mlplane-promoted-from': 'staging',
      'mlplane-source-version': version,
      'mlplane-source-model': 'mlplane-examples-staging-fraud-staging-fraud',
      'mlplane-approved-by': 'alice',
      'mlplane-metric-auc': '0_93',
      'mlplane-env': 'fraud-prod',
    });

    const writes = sim.requestLog.filter((l) => l.write).length;
    const again = await cli('promote', 'Fraud', 'fraud@champion', '--from', 'staging', '--to', 'prod', '-t', 'gcp', '--approved-by', 'alice', '--json');
    expect(again.code, again.stderr).toBe(0);
    expect(JSON.parse(again.stdout)).toMatchObject({ outcome: 'unchanged', targetVersion: out.targetVersion, writes: 0 });
    expect(sim.requestLog.filter((l) => l.write).length).toBe(writes);
  }, 40_000);
});
