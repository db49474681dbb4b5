import type { DeploymentModel, EnvironmentModel, OnlineEndpointModel, RegisterStepModel } from './types';

/** An endpoint deployment that serves whatever version holds an alias. */
export interface AliasFollower {
  readonly endpoint: OnlineEndpointModel;
  readonly deployment: DeploymentModel;
}

/**
 * The endpoint deployments bound to the alias a register step promotes to (none without
 * `promoteTo`), in model order: what every target rolls when the step moves the alias.
 */
export function aliasFollowers(model: EnvironmentModel, step: RegisterStepModel): AliasFollower[] {
  if (!step.promoteTo) return [];
  const out: AliasFollower[] = [];
  for (const endpoint of model.resources) {
    if (endpoint.kind !== 'onlineEndpoint') continue;
    for (const deployment of endpoint.deployments) {
      const ref = deployment.model;
      if ('alias' in ref && ref.registry === step.registry && ref.model === step.model && ref.alias === step.promoteTo) out.push({ endpoint, deployment });
    }
  }
  return out;
}
