import type { PolicyRule } from '../rule';

/** Spot nodes can be reclaimed at any time: steps on them need retries. */
export const spotStepsRetry: PolicyRule = {
  id: 'mlplane-spot-steps-retry',
  level: 'warning',
  description: 'pipeline steps on spot / low-priority pools have retries ≥ 1',
  check: (m) => {
    const spot = new Set(m.resources.flatMap((r) => (r.kind === 'computePool' && r.spot ? [r.path] : [])));
    return m.resources.flatMap((r) =>
      r.kind !== 'pipeline'
        ? []
        : r.steps
            .filter((s) => s.kind === 'container' && s.compute !== undefined && spot.has(s.compute) && s.retries === 0)
            .map((s) => ({ path: s.path, message: `runs on spot pool '${s.kind === 'container' ? s.compute : ''}' with retries 0; a pre-emption fails the run, set retries: 1 or more` })),
    );
  },
};
