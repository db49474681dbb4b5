import { describe, expect, it } from 'vitest';
import { Network, OnlineEndpoint, RemovalPolicy, Stage, Dataset, Field, Schema, renderEnvironment, runPolicy, suppressPolicy } from '../../lib';
import { exampleModels } from '../support/examples';
import { newEnv, problemsOf, smallRegistry } from '../support/fixtures';

describe('policy pack', () => {
  it('the fraud example passes every rule', () => {
    const [fraud] = exampleModels();
    expect(runPolicy(fraud, []).findings).toEqual([]);
  });

  it('fails if a prod environment is public', () => {
    const env = newEnv('Prod', { stage: Stage.PROD, network: Network.PUBLIC });
    const report = runPolicy(renderEnvironment(env), env.policySuppressions);
    expect(report.findings).toContainEqual({ rule: 'mlplane-prod-private-network', level: 'error', path: 'Prod', message: expect.stringMatching(/^a prod environment uses Network\.PUBLIC; use Network\.PRIVATE/) });
  });

  it('fails if a prod deployment carrying most traffic has one replica', () => {
    const env = newEnv('Prod', { stage: Stage.PROD });
    const { model } = smallRegistry(env);
    new OnlineEndpoint(env, 'Scoring', { deployments: [{ name: 'blue', model: model.alias('champion'), minReplicas: 1 }] });
    const report = runPolicy(renderEnvironment(env), env.policySuppressions);
    expect(report.findings).toContainEqual({ rule: 'mlplane-prod-endpoint-redundancy', level: 'error', path: 'Prod/Scoring', message: "deployment 'blue' serves 100% of traffic with minReplicas 1; one failure would drop it, set minReplicas: 2 or more" });
  });

  it('fails if staging data would be destroyed with the environment', () => {
    const env = newEnv('Stg', { stage: Stage.STAGING });
    new Dataset(env, 'Data', { schema: Schema.of({ id: Field.string() }), removalPolicy: RemovalPolicy.DESTROY });
    expect(runPolicy(renderEnvironment(env), []).findings.map((f) => [f.rule, f.path])).toContainEqual(['mlplane-retain-data', 'Stg/Data']);
  });

  it('records a suppression with its reason instead of the finding', () => {
    const env = newEnv('Prod', { stage: Stage.PROD, network: Network.PUBLIC });
    suppressPolicy(env, 'mlplane-prod-private-network', 'public demo environment with synthetic data only');
    const report = runPolicy(renderEnvironment(env), env.policySuppressions);
    expect(report.findings.map((f) => f.rule)).not.toContain('mlplane-prod-private-network');
    expect(report.suppressed).toContainEqual(expect.objectContaining({ rule: 'mlplane-prod-private-network', path: 'Prod', reason: 'public demo environment with synthetic data only' }));
  });

  it('fails if a suppression reason is shorter than 10 characters', () => {
    const env = newEnv('Prod', { stage: Stage.PROD });
    suppressPolicy(env, 'mlplane-prod-private-network', 'because');
    expect(problemsOf(env)).toEqual([{ path: 'Prod', message: "suppressing mlplane-prod-private-network needs a reason of at least 10 characters, got 'because'; say why the rule does not apply here" }]);
  });

  it('fails if a suppression names an unknown rule', () => {
    const env = newEnv();
    suppressPolicy(env, 'mlplane-no-such-rule', 'a long enough reason');
    expect(problemsOf(env)[0]).toMatchObject({ path: 'Test', message: expect.stringMatching(/^cannot suppress unknown policy rule 'mlplane-no-such-rule'; rules: mlplane-prod-private-network, /) });
  });
});
