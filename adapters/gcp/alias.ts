/**
 * The deployments a promotion rolls on Vertex AI: every endpoint deployment bound to the alias a
 * register step moves. The register component rolls them right after moving the alias (same
 * traffic share, new version deployed before the old one is undeployed); the deploy engine does
 * the same for an alias moved outside mlplane (adapters/gcp/deploy/alias.ts).
 */
import type { RegisterStepModel } from '../../lib/model/types';
import { aliasFollowers } from '../../lib/model/aliases';
import type { SynthContext } from './context';
import { endpointId, numericId } from './names';
import { deployedModelId } from './synth';

/** One deployment a promotion rolls, as the register component reads it. */
export interface RolloutTarget {
  /** Endpoint resource name. */
  readonly endpoint: string;
  /** The deployment's deployed-model id, and the id it alternates with during a rollout. */
  readonly deployed_model_id: string;
  readonly twin_id: string;
  /** Deployment name (for the log). */
  readonly deployment: string;
}

/** The other deployed-model id a deployment uses while it rolls to a new version (ids are 1-10 digits). */
export function twinId(id: string): string {
  return numericId(`${id}#alias-rollout`);
}

/** The deployments bound to the alias `step` promotes to, in a stable order (none without `promoteTo`). */
export function rolloutTargets(ctx: SynthContext, step: RegisterStepModel): RolloutTarget[] {
  return aliasFollowers(ctx.model, step).map(({ endpoint: e, deployment: d }) => {
    const id = deployedModelId(ctx, e.path, d.name);
    return { endpoint: `${ctx.parent}/endpoints/${endpointId(`${ctx.envLabel}-${e.id}`)}`, deployed_model_id: id, twin_id: twinId(id), deployment: d.name };
  });
}
