/**
 * azure: caching that cannot go stale (docs/caching.md), from the synthesized components of the
 * Fraud nightly retrain (ValidateData reads the Transactions data asset; BuildFeatures and
 * TrainModel read step outputs).
 */
import { describe, expect, it } from 'vitest';
import { exampleModels } from '../../support/examples';
import { synth } from './models';

const fraud = exampleModels().find((m) => m.environment.path === 'Fraud');
if (!fraud) throw new Error('no Fraud example');
const { documents, warnings } = synth(fraud);

function deterministic(component: string): boolean | undefined {
  const text = documents[`azureml/components/${component}.yml`];
  const m = /^is_deterministic: (true|false)$/m.exec(String(text));
  return m ? m[1] === 'true' : undefined;
}

describe('azure: a caching step reading a mutable dataset is never reused on the unchanged asset version', () => {
  it('turns off reuse of the caching step that reads the data asset, and says so naming the step and its input', () => {
    expect(fraud.resources.find((r) => r.kind === 'pipeline' && r.path === 'Fraud/Train')).toMatchObject({ steps: expect.arrayContaining([expect.objectContaining({ name: 'ValidateData', caching: true })]) });
    expect(deterministic('train_validate_data')).toBe(false);
    const w = warnings.filter((x) => x.id === 'mlplane:azure:dataset-input-not-cached');
    expect(w.map((x) => x.path)).toEqual(['Fraud/Train/ValidateData']);
    expect(w[0]?.message).toMatch(/reads dataset input transactions: .* runs on every run \(is_deterministic false\)/);
  });

  it('keeps reuse for caching steps that read only step outputs (a re-run upstream gives them new inputs)', () => {
    expect(deterministic('train_build_features')).toBe(true);
    expect(deterministic('train_train_model')).toBe(true);
  });
});
