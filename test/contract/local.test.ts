/**
 * The executed step contract on `mlplane run`: the generated contract pipeline and both examples
 * run with the probe in place of every program; what each step receives, the order, the skipped
 * steps and the gate decisions must be what docs/step-contract.md says.
 */
import { describe, expect, it } from 'vitest';
import type { EnvironmentModel } from '../../lib/model/types';
import { contractModel } from '../support/contract-pipeline';
import { exampleModels } from '../support/examples';
import { checkContract, pipelineOf, type RunObservation, type Scenario } from './harness';
import { observeLocal } from './local';
import { CONTRACT_SCENARIOS } from './scenarios';

const scenarios = CONTRACT_SCENARIOS;

describe('step contract, executed: mlplane run on the contract pipeline', () => {
  const model = contractModel();
  const p = pipelineOf(model, 'Contract/Train');
  for (const [name, scenario] of Object.entries(scenarios)) {
    it(name, async () => {
      const run = await observeLocal(model, 'Contract/Train', scenario);
      expect(checkContract(model, p, scenario, run)).toEqual([]);
    });
  }

  it('the runs above skip exactly the steps the contract skips', async () => {
    const run = await observeLocal(model, 'Contract/Train', scenarios['a false metric condition skips Publish and the order-only Report; the gate beats the champion']);
    expect(run.order).toEqual(['Prep', 'Fit', 'Evaluate', 'Register']);
    expect(run.gates).toEqual({ Register: 'promote' });
  });
});

describe('step contract, executed: mlplane run on the examples', () => {
  const [fraud, churn] = exampleModels() as [EnvironmentModel, EnvironmentModel];
  it('Fraud/Train', async () => {
    const scenario: Scenario = { data: { 'Fraud/Transactions': { 'tx.csv': 'txId\nt1\n' } }, metrics: { 'Evaluate.metrics': { auc: 0.93 } }, reference: 0.9 };
    const run = await observeLocal(fraud, 'Fraud/Train', scenario);
    expect(checkContract(fraud, pipelineOf(fraud, 'Fraud/Train'), scenario, run)).toEqual([]);
    expect(run.gates).toEqual({ Register: 'promote' });
  });

  it('Churn/Train', async () => {
    const scenario: Scenario = { data: { 'Churn/Customers': { 'c.csv': 'customerId\nc1\n' } }, metrics: { 'Evaluate.metrics': { f1: 0.5 } }, reference: 0.6 };
    const run = await observeLocal(churn, 'Churn/Train', scenario);
    expect(checkContract(churn, pipelineOf(churn, 'Churn/Train'), scenario, run)).toEqual([]);
    expect(run.gates).toEqual({ Register: 'keep' });
  });
});

describe('step contract, executed: the harness catches a target that departs from it', () => {
  const model = contractModel();
  const p = pipelineOf(model, 'Contract/Train');
  const scenario = scenarios['every step runs and the first version is promoted'];
  let good: RunObservation;
  const observed = async () => (good ??= await observeLocal(model, 'Contract/Train', scenario));

  it('fails if a placeholder reaches the step literally (the aws {{inputs.x}} defect)', async () => {
    const run = await observed();
    const fit = run.steps.Fit;
    const tampered = { ...run, target: 'broken', steps: { ...run.steps, Fit: { ...fit, argv: fit.argv.map((w, i) => (i === 2 ? '{{inputs.data}}' : w)) } } };
    expect(checkContract(model, p, scenario, tampered)).toEqual(['broken Fit: argv[3] inputs.data: "{{inputs.data}}" is not an absolute local directory']);
  });

  it('fails if the gate cannot read the metrics (the gcp empty-metadata defect)', async () => {
    const run = await observed();
    expect(checkContract(model, p, scenario, { ...run, target: 'broken', gates: { Register: 'error' } })).toEqual(['broken Register: gate decided error, the contract decides promote']);
  });

  it('fails if an order-only dependency is not honoured (the azure dependsOn defect)', async () => {
    const run = await observed();
    const order = run.order.filter((s) => s !== 'Publish');
    order.splice(order.indexOf('Register'), 0, 'Publish');
    expect(checkContract(model, p, scenario, { ...run, target: 'broken', order })).toEqual(["broken Publish: started before upstream step 'Register' completed"]);
  });

  it('fails if a step runs whose condition is false, or a parameter arrives with another value', async () => {
    const run = await observed();
    const skippedScenario: Scenario = { ...scenario, outputs: { 'Prep.rows': '7\n', 'Prep.ok': 'false\n' } };
    expect(checkContract(model, p, skippedScenario, run).filter((m) => m.endsWith('ran, but the contract skips it'))).toEqual(
      ['Fit', 'Evaluate', 'Register', 'Publish', 'Report'].map((s) => `local ${s}: ran, but the contract skips it`),
    );
    const prep = run.steps.Prep;
    const tampered = { ...run, target: 'broken', steps: { ...run.steps, Prep: { ...prep, env: { ...prep.env, PREP_MODE: 'quick' } } } };
    expect(checkContract(model, p, scenario, tampered)).toEqual(['broken Prep: env PREP_MODE params.mode: received "quick", the run parameter is "full"']);
  });
});
