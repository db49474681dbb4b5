/**
 * Deployments that follow a model alias on Azure Machine Learning.
 *
 * Workspace models have no aliases; the version holding alias `champion` carries the tag
 * `mlplane-alias-champion=true` (adapters/azure/serving.ts). A deployment bound to the alias takes
 * its model version from a template parameter the deploy engine resolves from that tag at every
 * diff and deploy, so an alias moved outside mlplane shows in `mlplane diff` as
 * `alias champion: v3 → v4` on the deployment and the next deploy rolls it (ARM updates the
 * deployment's `model`; Azure ML replaces the instances in a rolling update).
 *
 * The register step rolls the same deployments itself right after it moves the alias
 * (`az ml online-deployment update --set model=azureml:<model>:<version>`), so a promotion reaches
 * serving without waiting for the next deploy. A deployment pinned to a version never moves.
 *
 * @see https://learn.microsoft.com/cli/azure/ml/online-deployment#az-ml-online-deployment-update
 * @see https://learn.microsoft.com/azure/machine-learning/how-to-safely-rollout-online-endpoints
 */
import type { RegisterStepModel } from '../../lib/model/types';
import type { SynthContext } from './context';
import { aliasFollowers } from '../../lib/model/aliases';
import { deriveName, fitName, RULES } from './names';

/** One deployment a promotion rolls: `[endpoint name, deployment name]`. */
export type RolloutTarget = readonly [endpoint: string, deployment: string];

/** The deployments bound to the alias `step` promotes to, in a stable order (none without `promoteTo`). */
export function rolloutTargets(ctx: SynthContext, step: RegisterStepModel): RolloutTarget[] {
  const out: RolloutTarget[] = [];
  for (const { endpoint: e, deployment: d } of aliasFollowers(ctx.model, step)) {
    // The same names serving.ts gives them (derived again here without recording them twice).
    const endpoint = deriveName(RULES.endpoint, ctx.staged(ctx.localSegments(e.path)), [ctx.settings.subscriptionId, ctx.settings.resourceGroup]).name;
    try {
      out.push([endpoint, fitName(RULES.deployment, d.name)]);
    } catch {
      // An invalid deployment name is reported by serving.ts.
    }
  }
  return out;
}

/** Python lines of the register step run after a promotion (`ROLLOUT`, `MODEL`, `version` and `az` are defined by the step). */
export const ROLLOUT_PYTHON = String.raw`
for endpoint, deployment in ROLLOUT:
    az('ml', 'online-deployment', 'update', '--name', deployment, '--endpoint-name', endpoint, '--set', 'model=azureml:%s:%s' % (MODEL, version))
    print('mlplane: %s/%s rolled to %s version %s' % (endpoint, deployment, MODEL, version))`.trim();
