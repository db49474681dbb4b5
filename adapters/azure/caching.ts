/**
 * Caching that cannot go stale on Azure Machine Learning (docs/caching.md).
 *
 * Azure ML reuses a component whose `is_deterministic` is true when its inputs are equal — for a
 * data input, the same data asset version or path, which stays the same when the rows behind it
 * change. Literal inputs are fixed when the schedule submits the job, so a data fingerprint
 * cannot be passed in, and a fingerprint step's output is a new path every run. So a caching step
 * that reads a dataset directly runs on every run (`is_deterministic: false`), and so do the
 * steps it feeds (their inputs are new outputs): never stale, at the cost of reuse. Steps that
 * read no dataset, directly or through upstream steps, keep their cache.
 *
 * @see https://learn.microsoft.com/azure/machine-learning/reference-yaml-component-command (is_deterministic)
 */
import type { ContainerStepModel } from '../../lib/model/types';
import type { SynthContext } from './context';

/** The id of the warning that a caching step reading a dataset is not reused on Azure ML. */
export const DATASET_NOT_CACHED = 'dataset-input-not-cached';

/** `is_deterministic` of a container step: its caching, unless it reads a mutable dataset (warned). */
export function deterministic(ctx: SynthContext, step: ContainerStepModel): boolean {
  if (!step.caching) return false;
  const datasets = step.inputs.filter((i) => i.source.kind === 'dataset').map((i) => i.name);
  if (datasets.length === 0) return true;
  ctx.warn(
    DATASET_NOT_CACHED,
    step.path,
    `the step caches but reads dataset input${datasets.length === 1 ? '' : 's'} ${datasets.join(', ')}: Azure ML would reuse it while the data asset keeps its version even though the rows changed, so it runs on every run (is_deterministic false), and so do the steps it feeds; to reuse results, pin the data with a new dataset version per snapshot`,
  );
  return false;
}
