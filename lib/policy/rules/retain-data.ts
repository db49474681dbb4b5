import type { PolicyRule } from '../rule';

/** Staging and prod never delete data or models with the environment. */
export const retainData: PolicyRule = {
  id: 'mlplane-retain-data',
  level: 'error',
  description: 'staging and prod datasets and model registries use RemovalPolicy.RETAIN',
  check: (m) =>
    m.environment.stage === 'dev'
      ? []
      : m.resources.flatMap((r) =>
          (r.kind === 'dataset' || r.kind === 'modelRegistry') && !r.retain
            ? [{ path: r.path, message: `${r.kind === 'dataset' ? 'dataset' : 'model registry'} uses RemovalPolicy.DESTROY in ${m.environment.stage}; use RemovalPolicy.RETAIN (destroy with --destroy-data when you mean it)` }]
            : [],
        ),
};
