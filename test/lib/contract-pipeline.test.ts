import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { splitPlaceholders, stableStringify, type PipelineModel } from '../../lib';
import { contractModel } from '../support/contract-pipeline';
import { expectGoldenFolder } from '../support/golden';

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

describe('the contract fixture model', () => {
  it('holds every placeholder in canonical spelling, each naming a declared input, output or parameter', () => {
    const p = pipeline();
    const params = new Set(p.parameters.map((x) => x.name));
    let placeholders = 0;
    for (const s of p.steps) {
      if (s.kind !== 'container') continue;
      const known = { inputs: new Set(s.inputs.map((i) => i.name)), outputs: new Set(s.outputs.map((o) => o.name)), params };
      for (const word of [...s.command, ...s.args, ...Object.values(s.env)]) {
        for (const part of splitPlaceholders(word)) {
          if (part.kind === 'text') expect(part.text, `${s.name}: ${word}`).not.toContain('{{');
          else {
            placeholders++;
            expect(known[part.kind].has(part.name), `${s.name}: ${word}`).toBe(true);
          }
        }
      }
    }
    expect(placeholders).toBe(15);
  });

  it('matches its golden model', async () => {
    const m = contractModel();
    await expectGoldenFolder(fileURLToPath(new URL('./__golden__/contract', import.meta.url)), { [`${m.environment.name}.model.json`]: stableStringify(m) });
  });
});
