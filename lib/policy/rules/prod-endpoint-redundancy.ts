import type { PolicyRule } from '../rule';

/** In prod, losing one replica must not take down most of the traffic. */
export const prodEndpointRedundancy: PolicyRule = {
  id: 'mlplane-prod-endpoint-redundancy',
  level: 'error',
  description: 'in prod, a deployment serving 50% or more of live traffic runs at least 2 replicas',
  check: (m) =>
    m.environment.stage !== 'prod'
      ? []
      : m.resources.flatMap((r) =>
          r.kind !== 'onlineEndpoint'
            ? []
            : r.deployments
                .filter((d) => d.traffic >= 50 && d.minReplicas < 2)
                .map((d) => ({ path: r.path, message: `deployment '${d.name}' serves ${d.traffic}% of traffic with minReplicas ${d.minReplicas}; one failure would drop it, set minReplicas: 2 or more` })),
        ),
};
