import { describe, expect, it } from 'vitest';
import type { PipelineModel } from '../../lib';
import { contractModel } from '../support/contract-pipeline';

function pipeline(): PipelineModel {
  const p = contractModel().resources.find((r) => r.kind === 'pipeline');
  if (!p || p.kind !== 'pipeline') throw new Error('the contract fixture has no pipeline');
  return p;
}

describe('the contract fixture pipeline', () => {
  it('renders its steps in topological order', () => {
    expect(pipeline().steps.map((s) => s.name)).toEqual(['Prep', 'Fit', 'Evaluate', 'Register', 'Publish', 'Report']);
  });

  it('keeps order-only edges apart from data edges', () => {
    const byName = Object.fromEntries(pipeline().steps.map((s) => [s.name, s]));
    expect(byName.Publish).toMatchObject({ dependsOn: ['Evaluate', 'Register'], orderOnly: ['Register'] });
    expect(byName.Report).toMatchObject({ dependsOn: ['Prep', 'Publish'], orderOnly: ['Publish'] });
    expect(byName.Fit).toMatchObject({ dependsOn: ['Prep'], orderOnly: [] });
  });

  it('gives every step its own and its inherited conditions, sorted by declaring step', () => {
    const byName = Object.fromEntries(pipeline().steps.map((s) => [s.name, s]));
    const fitOk = { operand: { kind: 'stepOutput', step: 'Prep', output: 'ok', type: 'bool' }, op: '==', value: true, declaredOn: 'Fit' };
    const auc = { operand: { kind: 'metric', step: 'Evaluate', output: 'metrics', metric: 'auc' }, op: '>=', value: 0.8, declaredOn: 'Publish' };
    const publish = { operand: { kind: 'parameter', parameter: 'publish', type: 'bool' }, op: '==', value: true, declaredOn: 'Report' };
    expect(byName.Prep.conditions).toEqual([]);
    expect(byName.Evaluate.conditions).toEqual([fitOk]);
    expect(byName.Register.conditions).toEqual([fitOk]);
    expect(byName.Publish.conditions).toEqual([fitOk, auc]);
    expect(byName.Report.conditions).toEqual([fitOk, auc, publish]);
  });
});
