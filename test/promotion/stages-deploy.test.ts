import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startGcpSimulator, type GcpSimulator } from '../../adapters/gcp/simulator';
import { startAzureSimulator, type AzureSimulator } from '../../adapters/azure/simulator';
import { conformancePath } from '../support/conformance';
import { cli } from '../support/cli';

// Both examples, one definition, deployed at dev, staging and prod with each stage's own settings
// (project / resource group from cdk.json mlplane:stages).
let gcp: GcpSimulator;
let azure: AzureSimulator;
const saved = { gcp: process.env.MLPLANE_GCP_ENDPOINT, azure: process.env.MLPLANE_AZURE_ENDPOINT };

describe('both examples deploy at three stages from one definition', () => {
  beforeAll(async () => {
    gcp = await startGcpSimulator({ port: 0 });
    azure = await startAzureSimulator({ conformanceDir: conformancePath('azure') });
    process.env.MLPLANE_GCP_ENDPOINT = gcp.url;
    process.env.MLPLANE_AZURE_ENDPOINT = azure.url;
  });
  afterAll(async () => {
    for (const [k, v] of [['MLPLANE_GCP_ENDPOINT', saved.gcp], ['MLPLANE_AZURE_ENDPOINT', saved.azure]] as const) {
      if (v === undefined) delete process.env[k];
      else process.env[k] = v;
    }
    await gcp.close();
    await azure.close();
  });

  const PROJECTS: Record<string, Record<string, string>> = {
    dev: { Fraud: 'mlplane-examples-dev', Churn: 'mlplane-churn-dev' },
    staging: { Fraud: 'mlplane-examples-staging', Churn: 'mlplane-churn' },
    prod: { Fraud: 'mlplane-examples', Churn: 'mlplane-churn-prod' },
  };
  for (const stage of ['dev', 'staging', 'prod']) {
    for (const env of ['Fraud', 'Churn']) {
      // The resource group of a stage is named like its gcp project in cdk.json.
      const scope = PROJECTS[stage]?.[env] as string;

      it(`gcp: deploys ${env} at ${stage} into project ${scope}, labelled with the stage`, async () => {
        const r = await cli('deploy', env, '-t', 'gcp', '--stage', stage, '--require-approval', 'never', '--json');
        expect(r.code, r.stderr).toBe(0);
        expect((JSON.parse(r.stdout) as { summaries: Array<{ environment: string }> }).summaries.map((s) => s.environment)).toEqual([env]);
        const models = [...gcp.state.resources.entries()].filter(([name, res]) => name.startsWith(`projects/${scope}/`) && res.type.endsWith('.Model'));
        expect(models.map(([, m]) => (m.body.labels as Record<string, string>)['mlplane-env'])).toEqual([`${env.toLowerCase()}-${stage}`]);
      }, 180_000);

      it(`azure: deploys ${env} at ${stage} into resource group ${scope}, tagged with the stage`, async () => {
        const r = await cli('deploy', env, '-t', 'azure', '--stage', stage, '--require-approval', 'never', '--json');
        expect(r.code, r.stderr).toBe(0);
        const workspaces = [...azure.state.resources.values()].filter((x) => x.type.toLowerCase() === 'microsoft.machinelearningservices/workspaces' && x.id.toLowerCase().includes(`/resourcegroups/${scope}/`));
        expect(workspaces.length).toBeGreaterThan(0);
        expect(workspaces.map((w) => (w.body.tags as Record<string, string>)['mlplane-stage'])).toEqual(workspaces.map(() => stage));
      }, 180_000);
    }
  }
});
