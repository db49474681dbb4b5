import { describe, expect, it } from 'vitest';
import { fitName, makeName, NameError, RULES } from '../../../adapters/azure/names';
import type { EnvironmentModel } from '../../../lib/model/types';
import { ValidationErrors } from '../../../lib/core/errors';
import { fraudModel, withResource } from './fixtures';
import { synth } from './models';

describe('names', () => {
  it('keeps a short valid workspace name as is', () => {
    expect(makeName(RULES.workspace, ['Fraud'])).toBe('fraud');
  });

  it('derives globally unique storage names: lowercase alphanumerics with a hash, at most 24', () => {
    const a = makeName(RULES.storageAccount, ['st', 'Fraud'], ['sub-a']);
    const b = makeName(RULES.storageAccount, ['st', 'Fraud'], ['sub-b']);
    expect(a).toMatch(/^stfraud[0-9a-f]{6}$/);
    expect(a).not.toBe(b);
    expect(makeName(RULES.storageAccount, ['st', 'AVeryLongEnvironmentNameThatGoesOnAndOn'])).toMatch(/^[a-z0-9]{3,24}$/);
  });

  it('trims long paths from the left, keeping the leaf, and adds a hash', () => {
    const name = makeName(RULES.compute, ['Platform', 'Training', 'Shared', 'GpuPoolForLargeModels']);
    expect(name.length).toBeLessThanOrEqual(24);
    expect(name).toMatch(/models-[0-9a-f]{6}$/);
    expect(name).toMatch(RULES.compute.pattern);
  });

  it('never ends a compute name in -<digits> (the schema pattern forbids it)', () => {
    const name = makeName(RULES.compute, ['Pool', '2024']);
    expect(name).toMatch(RULES.compute.pattern);
    expect(name).not.toMatch(/-\d+$/);
  });

  it('makes endpoint names start with a letter', () => {
    expect(makeName(RULES.endpoint, ['2024Scoring'])).toMatch(/^[a-z]/);
  });

  it('keeps valid deployment names and fits invalid ones', () => {
    expect(fitName(RULES.deployment, 'blue')).toBe('blue');
    expect(fitName(RULES.deployment, 'Blue_Green')).toMatch(RULES.deployment.pattern);
  });

  it('throws NameError when a name has no letter or digit', () => {
    expect(() => makeName(RULES.compute, ['---'])).toThrow(NameError);
  });

  it('fails synth if a construct id cannot become an Azure name, naming the path', () => {
    const model: EnvironmentModel = withResource(fraudModel(), 'Fraud/Gpu', (c) => ({ ...c, path: 'Fraud/___', id: '___' }));
    const fixed: EnvironmentModel = {
      ...model,
      resources: model.resources.map((r) => (r.kind === 'pipeline' ? { ...r, steps: r.steps.map((s) => (s.kind === 'container' && s.compute === 'Fraud/Gpu' ? { ...s, compute: 'Fraud/___' } : s)) } : r)),
    };
    let problems: readonly { path: string; message: string }[] = [];
    try {
      synth(fixed);
    } catch (e) {
      if (ValidationErrors.isValidationErrors(e)) problems = e.problems;
    }
    expect(problems).toEqual([{ path: 'Fraud/___', message: expect.stringContaining("cannot derive a compute name from '___'") }]);
  });
});

describe('names that start with a digit', () => {
  it('get a letter in front when the rule needs one', () => {
    expect(makeName(RULES.component, ['1st_step'])).toMatch(RULES.component.pattern);
    expect(makeName(RULES.workspace, ['1st'])).toBe('1st');
  });
});
