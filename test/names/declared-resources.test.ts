/**
 * Capability checks cover declared resources, not only used ones: a pool nothing runs on is still
 * checked against the target, and a pool that defines nothing says so.
 */
import { describe, expect, it } from 'vitest';
import { gcpAdapter } from '../../adapters/gcp';
import { Accelerator, ComputePool, MlopsEnvironment, Pipeline, ValidationErrors, renderEnvironment } from '../../lib';
import { TestRoot } from '../support/examples';

const settings = gcpAdapter.parseSettings({ project: 'proj-ml', region: 'europe-west4' });

describe('gcp compute pools', () => {
  it('fails if an A10G pool nothing uses is declared, since Vertex has no A10G', () => {
    const env = new MlopsEnvironment(new TestRoot(), 'Env');
    new ComputePool(env, 'Gpu', { accelerator: Accelerator.NVIDIA_A10G });
    let thrown: unknown;
    try {
      gcpAdapter.synth(renderEnvironment(env), settings);
    } catch (e) {
      thrown = e;
    }
    expect(ValidationErrors.isValidationErrors(thrown)).toBe(true);
    expect((thrown as ValidationErrors).problems).toEqual([{ path: 'Env/Gpu', message: expect.stringMatching(/^accelerator 'nvidia-a10g' is not offered by Vertex AI; use one of nvidia-t4/) }]);
  });

  it('warns mlplane:gcp:unused-compute-pool for a pool nothing runs on', () => {
    const env = new MlopsEnvironment(new TestRoot(), 'Env');
    new ComputePool(env, 'Gpu', { accelerator: Accelerator.NVIDIA_T4 });
    const { warnings } = gcpAdapter.synth(renderEnvironment(env), settings);
    expect(warnings).toContainEqual({ id: 'mlplane:gcp:unused-compute-pool', path: 'Env/Gpu', message: expect.stringMatching(/^no pipeline step or batch inference runs on this pool/) });
  });

  it('does not warn for a pool a step runs on', () => {
    const env = new MlopsEnvironment(new TestRoot(), 'Env');
    const pool = new ComputePool(env, 'Gpu', { accelerator: Accelerator.NVIDIA_T4 });
    new Pipeline(env, 'Train').addStep('Fit', { image: 'ghcr.io/acme/fit:1.0', compute: pool });
    const { warnings } = gcpAdapter.synth(renderEnvironment(env), settings);
    expect(warnings.map((w) => w.id)).not.toContain('mlplane:gcp:unused-compute-pool');
  });
});
