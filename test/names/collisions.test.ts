/**
 * Names that collide after a target's sanitising fail synth, naming both constructs and the
 * derived name; names that must be shortened keep their start; lossy label changes warn.
 */
import { App } from 'aws-cdk-lib';
import { describe, expect, it } from 'vitest';
import { awsAdapter } from '../../adapters/aws';
import { synthAzure } from '../../adapters/azure';
import { deriveName, RULES } from '../../adapters/azure/names';
import { gcpAdapter } from '../../adapters/gcp';
import { nameCollisions, shortenMiddle } from '../../adapters/shared/names';
import { buildApp } from '../../bin/build';
import {
  ComputePool, Dataset, Field, MlopsEnvironment, ModelRegistry, OnlineEndpoint, Schema, ValidationErrors, renderEnvironment, type Problem,
} from '../../lib';
import { smallRegistry } from '../support/fixtures';
import { TestRoot } from '../support/examples';

const CONTEXT = {
  'mlplane:azure': { subscriptionId: '00000000-0000-0000-0000-000000000000', resourceGroup: 'rg', location: 'westeurope' },
  'mlplane:gcp': { project: 'proj-ml', region: 'europe-west4' },
  'mlplane:aws': { account: '123456789012', region: 'eu-west-1' },
};

/** Two environments whose ids differ only in case, each with one dataset. */
function twoEnvironments(scope: App): void {
  for (const id of ['Myenv', 'MYENV']) {
    const env = new MlopsEnvironment(scope, id);
    new Dataset(env, 'Data', { schema: Schema.of({ a: Field.string() }) });
  }
}

async function buildProblems(target: string, define: (scope: App) => void): Promise<Problem[]> {
  try {
    await buildApp({ context: { ...CONTEXT, 'mlplane:target': target }, define: (s) => define(s as App) });
  } catch (e) {
    if (ValidationErrors.isValidationErrors(e)) return [...e.problems];
    throw e;
  }
  return [];
}

function thrownProblems(f: () => unknown): Problem[] {
  try {
    f();
  } catch (e) {
    if (ValidationErrors.isValidationErrors(e)) return [...e.problems];
    throw e;
  }
  return [];
}

describe('nameCollisions', () => {
  it('fails if two paths claim one name in one scope, once, naming both', () => {
    const problems = nameCollisions('azure', [
      { scope: 'rg', what: 'workspace', name: 'myenv', path: 'Myenv' },
      { scope: 'rg', what: 'workspace', name: 'myenv', path: 'Myenv' },
      { scope: 'rg', what: 'workspace', name: 'MyEnv', path: 'MYENV', ignoreCase: true },
      { scope: 'other', what: 'workspace', name: 'myenv', path: 'Other' },
      { scope: 'rg', what: 'identity', name: 'myenv', path: 'Id' },
    ]);
    expect(problems).toHaveLength(1);
    expect(problems[0]?.path).toBe('MYENV');
    expect(problems[0]?.message).toMatch(/^'MYENV' and 'Myenv' both become azure workspace 'MyEnv' \(in rg\);.*rename one of the two constructs/);
  });

  it('compares case only where the provider ignores it', () => {
    expect(nameCollisions('gcp', [
      { scope: 'p', what: 'BigQuery dataset', name: 'Myenv_dev', path: 'Myenv' },
      { scope: 'p', what: 'BigQuery dataset', name: 'MYENV_dev', path: 'MYENV' },
    ])).toEqual([]);
  });
});

describe('shortened names keep their start', () => {
  it('cuts the middle, keeping the prefix and the end', () => {
    expect(shortenMiddle('stfrauddetectionwesteurope', 18)).toBe('stfrauddeesteurope');
    expect(shortenMiddle('train-fit-model', 10, '', '-')).toBe('train-odel');
    expect(shortenMiddle('short', 10, '-abc')).toBe('short-abc');
  });

  it('keeps the st prefix of a storage account', () => {
    const derived = deriveName(RULES.storageAccount, ['st', 'FraudDetectionWesteurope'], ['sub', 'rg']);
    expect(derived.shortened).toBe(true);
    expect(derived.name).toMatch(/^stfraud/);
    expect(derived.name).toHaveLength(24);
    expect(derived.name).toMatch(RULES.storageAccount.pattern);
  });

  it('warns mlplane:azure:name-shortened with the readable name', () => {
    const env = new MlopsEnvironment(new TestRoot(), 'Env');
    new ComputePool(env, 'GpuPoolForNightlyTraining');
    const { warnings } = synthAzure(renderEnvironment(env), CONTEXT['mlplane:azure']);
    const w = warnings.find((x) => x.id === 'mlplane:azure:name-shortened' && /^compute name/.test(x.message));
    expect(w?.path).toBe('Env/GpuPoolForNightlyTraining');
    expect(w?.message).toMatch(/^compute name 'gpu-pool-for-nightly-training' is longer than Azure allows \(24\); it becomes 'gpu-pool-\w*ning-[0-9a-f]{6}'/);
  });
});

describe('azure', () => {
  it('fails if environments Myenv and MYENV share a workspace and log workspace in one resource group', async () => {
    const problems = await buildProblems('azure', twoEnvironments);
    const messages = problems.filter((p) => p.path === 'MYENV').map((p) => p.message);
    expect(messages).toEqual(expect.arrayContaining([
      expect.stringMatching(/^'MYENV' and 'Myenv' both become azure Microsoft\.MachineLearningServices\/workspaces 'myenv' \(in resource group rg/),
      expect.stringMatching(/^'MYENV' and 'Myenv' both become azure Microsoft\.OperationalInsights\/workspaces 'log-myenv'/),
    ]));
  });

  it('accepts the two environments in different resource groups', async () => {
    const problems = await buildProblems('azure', (app) => {
      app.node.setContext('mlplane:azure', { ...CONTEXT['mlplane:azure'], environments: { MYENV: { resourceGroup: 'rg2' } } });
      twoEnvironments(app);
    });
    expect(problems).toEqual([]);
  });

  it('fails if compute pools Gpu_A and Gpu-A become one compute', () => {
    const env = new MlopsEnvironment(new TestRoot(), 'Env');
    new ComputePool(env, 'Gpu_A');
    new ComputePool(env, 'Gpu-A');
    const problems = thrownProblems(() => synthAzure(renderEnvironment(env), CONTEXT['mlplane:azure']));
    expect(problems).toEqual([{
      path: 'Env/Gpu-A',
      message: expect.stringMatching(/^'Env\/Gpu-A' and 'Env\/Gpu_A' both become azure Microsoft\.MachineLearningServices\/workspaces\/computes 'env\/gpu-a'/),
    }]);
  });
});

describe('gcp', () => {
  it('fails if environments Myenv and MYENV carry the same ownership label in one project', async () => {
    const problems = await buildProblems('gcp', twoEnvironments);
    expect(problems).toEqual([
      { path: 'MYENV', message: expect.stringMatching(/^'MYENV' and 'Myenv' both become gcp ownership label mlplane-env 'myenv-dev' \(in project proj-ml\)/) },
      // Each environment has its own staging bucket, named after the same label.
      { path: 'MYENV', message: expect.stringMatching(/^'MYENV' and 'Myenv' both become gcp buckets 'proj-ml-myenv-dev' \(in projects\/proj-ml\)/) },
    ]);
  });

  it('warns mlplane:gcp:label-value-changed when a tag value is lowercased', () => {
    const env = new MlopsEnvironment(new TestRoot(), 'Env', { tags: { team: 'Risk-ML-Team', costCenter: 'cc1', 'cost.center': 'cc2' } });
    new Dataset(env, 'Data', { schema: Schema.of({ a: Field.string() }) });
    const { warnings } = gcpAdapter.synth(renderEnvironment(env), gcpAdapter.parseSettings(CONTEXT['mlplane:gcp']));
    expect(warnings).toContainEqual({ id: 'mlplane:gcp:label-value-changed', path: 'Env', message: expect.stringMatching(/^tag 'team' value 'Risk-ML-Team' becomes GCP label value 'risk-ml-team'/) });
    expect(warnings).toContainEqual({ id: 'mlplane:gcp:label-key-changed', path: 'Env', message: expect.stringMatching(/^tag key 'cost.center' becomes GCP label key 'cost-center-[0-9a-f]{6}'/) });
    expect(warnings.filter((w) => w.id === 'mlplane:gcp:label-value-changed')).toHaveLength(1);
    // costCenter and cost.center both become cost-center, so both keys carry a hash and both warn.
    expect(warnings.filter((w) => w.id === 'mlplane:gcp:label-key-changed')).toHaveLength(2);
  });
});

describe('aws', () => {
  it('fails if endpoints Score_A and Score-A write load-balancer logs to one prefix', () => {
    const env = new MlopsEnvironment(new TestRoot(), 'Env');
    const { model } = smallRegistry(env);
    for (const id of ['Score_A', 'Score-A']) {
      new OnlineEndpoint(env, id, { deployments: [{ name: 'blue', model: model.alias('champion') }] });
    }
    const problems = thrownProblems(() => awsAdapter.synth(new App(), renderEnvironment(env), awsAdapter.parseSettings(CONTEXT['mlplane:aws'])));
    // Two names collide: the capture prefix in the artifact bucket and the load-balancer log prefix.
    expect(problems).toEqual([
      { path: 'Env/Score-A', message: expect.stringMatching(/^'Env\/Score-A' and 'Env\/Score_A' both become aws S3 prefix 'capture\/score-a\/' \(in the artifact bucket of Env\)/) },
      { path: 'Env/Score-A', message: expect.stringMatching(/^'Env\/Score-A' and 'Env\/Score_A' both become aws S3 prefix 'alb\/score-a' \(in the log bucket\)/) },
    ]);
  });

  it('fails if registries Models_A and Models-A would keep their models under one prefix', () => {
    const env = new MlopsEnvironment(new TestRoot(), 'Env');
    for (const id of ['Models_A', 'Models-A']) new ModelRegistry(env, id);
    const problems = thrownProblems(() => awsAdapter.synth(new App(), renderEnvironment(env), awsAdapter.parseSettings(CONTEXT['mlplane:aws'])));
    expect(problems).toEqual([
      { path: 'Env/Models-A', message: expect.stringMatching(/^'Env\/Models-A' and 'Env\/Models_A' both become aws S3 prefix 'models\/models-a\/' \(in the artifact bucket of Env\)/) },
    ]);
  });

  it('fails if environments Myenv and MYENV share a Glue database in one account and region', async () => {
    const problems = await buildProblems('aws', twoEnvironments);
    expect(problems).toEqual([{ path: 'MYENV', message: expect.stringMatching(/^'MYENV' and 'Myenv' both become aws Glue database 'myenv_mlops'/) }]);
  });
});
