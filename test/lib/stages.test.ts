import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { App } from 'aws-cdk-lib';
import { describe, expect, it } from 'vitest';
import { Metric, MlopsEnvironment, ModelPromotion, ModelRegistry, Network, STAGE_CONTEXT_KEY, Stage, ServingContainer, renderEnvironment, runPolicy, validateTree, type EnvironmentModel } from '../../lib';
import { defineEnvironments } from '../../stacks';
import { buildApp, settingsFor } from '../../bin/build';
import { cli } from '../support/cli';

const cdkContext = (JSON.parse(fs.readFileSync('cdk.json', 'utf8')) as { context: Record<string, unknown> }).context;

/** The example models as `--stage <stage>` defines them (or the default stages). */
function examplesAt(stage?: string): Record<string, EnvironmentModel> {
  const app = new App({ context: stage ? { [STAGE_CONTEXT_KEY]: stage } : {} });
  return Object.fromEntries(defineEnvironments(app).filter((e) => e.selected).map((e) => [e.node.id, renderEnvironment(e)]));
}
const resource = (m: EnvironmentModel, path: string) => m.resources.find((r) => r.path === path) as unknown as Record<string, unknown>;

describe('one definition, several stages', () => {
  it('without a selected stage each example is at its default stage (Fraud prod, Churn staging)', () => {
    const models = examplesAt();
    expect([models.Fraud?.environment.stage, models.Churn?.environment.stage]).toEqual(['prod', 'staging']);
  });

  it('each stage gets its own settings: network, key, sizes, replicas and schedules', () => {
    const [dev, staging, prod] = ['dev', 'staging', 'prod'].map(examplesAt) as [Record<string, EnvironmentModel>, Record<string, EnvironmentModel>, Record<string, EnvironmentModel>];
    const fraud = [dev, staging, prod].map((m) => m.Fraud as EnvironmentModel);
    expect(fraud.map((m) => m.environment.stage)).toEqual(['dev', 'staging', 'prod']);
    expect(fraud.map((m) => m.environment.network.mode)).toEqual(['public', 'private', 'private']);
    expect(fraud.map((m) => m.environment.encryption.kind)).toEqual(['platform', 'customer-managed', 'customer-managed']);
    expect(fraud.map((m) => resource(m, 'Fraud/Gpu').maxNodes)).toEqual([1, 2, 4]);
    expect(fraud.map((m) => (resource(m, 'Fraud/Scoring').deployments as Array<{ minReplicas: number; maxReplicas: number }>)[0])).toMatchObject([
      { minReplicas: 1, maxReplicas: 1 }, { minReplicas: 1, maxReplicas: 2 }, { minReplicas: 2, maxReplicas: 6 },
    ]);
    expect(fraud.map((m) => (resource(m, 'Fraud/Train').schedules as unknown[]).length)).toEqual([0, 1, 1]);
    const churn = [dev, staging, prod].map((m) => m.Churn as EnvironmentModel);
    expect(churn.map((m) => [m.environment.network.mode, m.environment.encryption.kind])).toEqual([['public', 'platform'], ['public', 'platform'], ['private', 'customer-managed']]);
    expect(churn.map((m) => resource(m, 'Churn/WeeklyScoring').instanceCount)).toEqual([1, 4, 8]);
  });

  it('target settings come from mlplane:stages: each stage of Fraud has its own project, resource group and account', () => {
    const ctx = (k: string) => cdkContext[k];
    expect(['dev', 'staging', 'prod'].map((s) => (settingsFor(ctx, 'gcp', 'Fraud', s) as { project: string }).project)).toEqual(['mlplane-examples-dev', 'mlplane-examples-staging', 'mlplane-examples']);
    expect(['dev', 'staging', 'prod'].map((s) => (settingsFor(ctx, 'azure', 'Fraud', s) as { resourceGroup: string }).resourceGroup)).toEqual(['mlplane-examples-dev', 'mlplane-examples-staging', 'mlplane-examples']);
    expect(['dev', 'staging', 'prod'].map((s) => (settingsFor(ctx, 'aws', 'Churn', s) as { account: string; region: string }))).toEqual([
      { account: '210987654321', region: 'us-east-1' }, { account: '123456789012', region: 'us-east-1' }, { account: '456789012345', region: 'us-east-1' },
    ]);
  });

  it('names and tags carry the stage: gcp ownership label and dataset, azure mlplane-stage tag', async () => {
    const result = await buildApp({ define: defineEnvironments, context: { ...cdkContext, [STAGE_CONTEXT_KEY]: 'dev', 'mlplane:target': 'gcp,azure' }, cloudFormationValidation: false });
    const fraud = result.environments.find((e) => e.name === 'Fraud');
    const gcp = fraud?.outputs.find((o) => o.target === 'gcp')?.documents?.['manifest.json'] as { ownershipLabels: Record<string, string>; project: string };
    expect(gcp.ownershipLabels).toEqual({ 'mlplane-env': 'fraud-dev' });
    expect(gcp.project).toBe('mlplane-examples-dev');
    const template = fraud?.outputs.find((o) => o.target === 'azure')?.documents?.['template.json'] as { resources: Array<{ type: string; tags?: Record<string, string> }> };
    expect(template.resources.find((r) => r.type === 'Microsoft.MachineLearningServices/workspaces')?.tags?.['mlplane-stage']).toBe('dev');
  }, 40_000);

  it('prod rules apply only to prod: a public environment passes at dev and is refused at prod', () => {
    const errors = (stage: string) => {
      const app = new App({ context: { [STAGE_CONTEXT_KEY]: stage } });
      const env = new MlopsEnvironment(app, 'Demo', { stages: { dev: {}, prod: {} }, network: Network.PUBLIC });
      return runPolicy(renderEnvironment(env), []).findings.filter((f) => f.level === 'error').map((f) => f.rule).sort();
    };
    expect(errors('dev')).toEqual([]);
    expect(errors('prod')).toEqual(['mlplane-prod-private-network']);
  });

  it('fails if a selected stage selects no environment, naming the stages available', async () => {
    const out = fs.mkdtempSync(path.join(os.tmpdir(), 'mlplane-stage-qa-'));
    const r = await cli('synth', '-t', 'gcp', '--stage', 'qa', '-o', out);
    fs.rmSync(out, { recursive: true, force: true });
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('[mlplane:stage] stage "qa" selects no environment; stages available: Churn: dev, staging, prod; Fraud: dev, staging, prod; select one of them');
  }, 30_000);

  it('fails if the default stage is not one of the stages', () => {
    const app = new App();
    new MlopsEnvironment(app, 'Demo', { stage: Stage.PROD, stages: { dev: {}, staging: {} } });
    expect(validateTree(app)).toContainEqual({ path: 'Demo', message: "stage 'prod' is not one of its stages ('dev', 'staging'); add it to stages or choose one of them" });
  });

  it('fails if a stage name is not a stage name', () => {
    const app = new App();
    new MlopsEnvironment(app, 'Demo', { stages: { Dev: {}, prod: {} } });
    expect(validateTree(app).map((p) => `${p.path} ${p.message}`)).toContainEqual(expect.stringContaining("Demo stage 'Dev' is not a stage name; use 2-16 lowercase letters"));
  });

  it('fails if byStage has no value for the stage and no fallback', () => {
    const app = new App({ context: { [STAGE_CONTEXT_KEY]: 'staging' } });
    const env = new MlopsEnvironment(app, 'Demo', { stages: { dev: {}, staging: {} } });
    env.byStage({ dev: 1 });
    expect(validateTree(app)).toContainEqual({ path: 'Demo', message: "byStage has no value for stage 'staging' (given: 'dev'); add one for 'staging' or pass a fallback" });
  });

  it('a user-named stage is a stage: the environment is selected by it', () => {
    const app = new App({ context: { [STAGE_CONTEXT_KEY]: 'perf' } });
    const env = new MlopsEnvironment(app, 'Demo', { stages: { dev: {}, perf: { network: Network.PUBLIC } } });
    expect([env.selected, env.stage, env.network]).toEqual([true, 'perf', 'public']);
  });

  it('fails if a promotion names a stage the environment does not have, or the same stage twice', () => {
    const app = new App();
    const env = new MlopsEnvironment(app, 'Demo', { stages: { dev: {}, prod: {} } });
    const model = new ModelRegistry(env, 'Registry').addModel('M', { serving: ServingContainer.image('ghcr.io/acme/m:1'), aliases: ['champion'] });
    new ModelPromotion(env, 'P1', { model, from: 'staging', to: 'prod', when: Metric.greaterThan('auc', 0.9) });
    new ModelPromotion(env, 'P2', { model, from: 'prod', to: 'prod', alias: 'best' });
    const problems = validateTree(app);
    expect(problems).toContainEqual({ path: 'Demo/P1', message: "from stage 'staging' is not a stage of Demo (stages: 'dev', 'prod'); add it to the environment's stages or promote between its stages" });
    expect(problems).toContainEqual({ path: 'Demo/P2', message: "from and to are both 'prod'; promote between two different stages, e.g. from 'staging' to 'prod'" });
    expect(problems).toContainEqual({ path: 'Demo/P2', message: "alias 'best' is not declared on model 'm' (aliases: 'champion'); declare it on the model or choose one of them" });
  });

  it('fails if the artifact given to deploy --app was synthesized for another stage, before any cloud call', async () => {
    const out = fs.mkdtempSync(path.join(os.tmpdir(), 'mlplane-stage-app-'));
    // Never the real cloud, even if the guard breaks: a closed local port.
    const saved = process.env.MLPLANE_GCP_ENDPOINT;
    process.env.MLPLANE_GCP_ENDPOINT = 'http://127.0.0.1:9';
    try {
      expect((await cli('synth', 'Fraud', '-t', 'gcp', '--stage', 'dev', '-o', out)).code).toBe(0);
      const r = await cli('deploy', 'Fraud', '-t', 'gcp', '--stage', 'prod', '--app', out, '--require-approval', 'never');
      expect(r.code).toBe(2);
      expect(r.stderr).toContain(`${out} holds Fraud synthesized for stage 'dev', but this run is for stage 'prod'; deploy it with --stage dev`);
    } finally {
      if (saved === undefined) delete process.env.MLPLANE_GCP_ENDPOINT;
      else process.env.MLPLANE_GCP_ENDPOINT = saved;
      fs.rmSync(out, { recursive: true, force: true });
    }
  }, 120_000);

  it('mlplane ls lists environment × stage × target', async () => {
    const r = await cli('ls', '-t', 'gcp', '--json');
    expect(r.code, r.stderr).toBe(0);
    const listed = JSON.parse(r.stdout) as { stages: string[]; environments: Array<{ name: string; stage: string; artifacts: Array<{ target: string }> }> };
    expect(listed.stages).toEqual(['dev', 'staging', 'prod']);
    expect(listed.environments.map((e) => `${e.name}@${e.stage}:${e.artifacts.map((a) => a.target).join('+')}`).sort()).toEqual(
      ['Churn@dev', 'Churn@prod', 'Churn@staging', 'Fraud@dev', 'Fraud@prod', 'Fraud@staging'].map((x) => `${x}:model+gcp`),
    );
  }, 120_000);
});
