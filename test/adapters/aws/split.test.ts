import { describe, expect, it } from 'vitest';
import { STACK_RESOURCE_BUDGET, resourceCount } from '../../../adapters/aws';
import type { EnvironmentModel, PipelineModel, ResourceModel } from '../../../lib/model/types';
import { examples, nagErrors, synth } from './support';

/** The fraud example with `copies` more copies of its training pipeline. */
function manyPipelines(copies: number): EnvironmentModel {
  const { fraud } = examples();
  const train = fraud.resources.find((r): r is PipelineModel => r.kind === 'pipeline');
  if (!train) throw new Error('example changed');
  const extra: ResourceModel[] = Array.from({ length: copies }, (_, i) => {
    const path = `Fraud/Train${String(i + 1).padStart(2, '0')}`;
    return { ...train, path, id: path.slice('Fraud/'.length), steps: train.steps.map((s) => ({ ...s, path: s.path.replace('Fraud/Train', path) })) };
  });
  return { ...fraud, resources: [...fraud.resources, ...extra].sort((a, b) => (a.path < b.path ? -1 : 1)) };
}

describe('stack splitting', () => {
  const s = synth(manyPipelines(40));

  it('moves workloads to sibling stacks named after the environment when one stack would exceed the budget', () => {
    expect(s.stacks.length).toBeGreaterThan(1);
    expect(s.stacks.map((x) => x.stackName)).toEqual(s.stacks.map((_, i) => (i === 0 ? 'Fraud-prod-mlops' : `Fraud-prod-mlops-${i + 1}`)));
  });

  it('keeps every stack within the budget and far from the 500-resource limit', () => {
    for (const stack of s.stacks) {
      const count = resourceCount(stack);
      expect(count, stack.stackName).toBeLessThanOrEqual(STACK_RESOURCE_BUDGET);
      const template = s.app.synth().getStackByName(stack.stackName).template as { Resources: Record<string, unknown> };
      expect(Object.keys(template.Resources).length, stack.stackName).toBeLessThanOrEqual(500);
    }
  });

  it('deploys sibling stacks after the stack they reference', () => {
    for (const [i, stack] of s.stacks.entries()) {
      if (i === 0) continue;
      expect(stack.dependencies.map((d) => d.stackName)).toContain(s.stacks[i - 1]?.stackName);
    }
  });

  it('has 0 unacknowledged cdk-nag errors across stacks (cross-stack grants included)', () => {
    expect(nagErrors(s.app)).toEqual([]);
  });

  it('moves data definitions to sibling stacks too when there are very many', () => {
    const { fraud } = examples();
    const transactions = fraud.resources.find((r) => r.path === 'Fraud/Transactions');
    if (transactions?.kind !== 'dataset') throw new Error('example changed');
    const extra: ResourceModel[] = Array.from({ length: 600 }, (_, i) => ({ ...transactions, path: `Fraud/Extract${String(i).padStart(3, '0')}`, id: `Extract${String(i).padStart(3, '0')}` }));
    const many = synth({ ...fraud, resources: [...fraud.resources, ...extra].sort((a, b) => (a.path < b.path ? -1 : 1)) });
    expect(many.stacks.length).toBeGreaterThan(1);
    for (const stack of many.stacks) expect(resourceCount(stack), stack.stackName).toBeLessThanOrEqual(STACK_RESOURCE_BUDGET);
    expect(() => many.app.synth()).not.toThrow();
  });

  it('keeps one stack when everything fits', () => {
    expect(synth(manyPipelines(2)).stacks.map((x) => x.stackName)).toEqual(['Fraud-prod-mlops']);
  });
});
