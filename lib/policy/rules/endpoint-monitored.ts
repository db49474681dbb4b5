import type { PolicyRule } from '../rule';

/** A model serving real traffic is watched for drift. */
export const endpointMonitored: PolicyRule = {
  id: 'mlplane-endpoint-monitored',
  level: 'warning',
  description: 'staging and prod online endpoints have a DriftMonitor',
  check: (m) => {
    if (m.environment.stage === 'dev') return [];
    const watched = new Set(m.resources.flatMap((r) => (r.kind === 'driftMonitor' && r.target.kind === 'endpoint' ? [r.target.endpoint] : [])));
    return m.resources
      .filter((r) => r.kind === 'onlineEndpoint' && !watched.has(r.path))
      .map((r) => ({ path: r.path, message: 'no DriftMonitor watches this endpoint; add one (with capture: true) so degrading predictions are noticed' }));
  },
};
