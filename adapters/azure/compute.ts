import type { ComputePoolModel } from '../../lib/model/types';
import type { ArmExpr } from './arm';
import { addMlChild, isoDuration, userAssigned, vmSize } from './common';
import type { SynthContext } from './context';
import { RULES } from './names';

/** Name of the AmlCompute cluster of a compute pool. */
export function computeName(ctx: SynthContext, pool: ComputePoolModel | string): string {
  const path = typeof pool === 'string' ? pool : pool.path;
  return ctx.name(RULES.compute, ctx.localSegments(path), path);
}

/**
 * Compute pool → `workspaces/computes` AmlCompute: min nodes from the model (0 by default), local
 * auth disabled, low priority for spot, idle scale-down, no public IP when private (the
 * workspace's managed network places the nodes; a customer subnet is not used with it).
 *
 * @param identities - user-assigned identities of the pipelines and batch inferences that run on it.
 */
export function mapComputePool(ctx: SynthContext, pool: ComputePoolModel, identities: readonly ArmExpr[]): void {
  const isPrivate = ctx.env.network.mode === 'private';
  if (pool.minNodes > pool.maxNodes) {
    ctx.problem(pool.path, `minNodes ${pool.minNodes} is greater than maxNodes ${pool.maxNodes}; lower minNodes or raise maxNodes`);
  }
  if (pool.idleSeconds < 60 || !Number.isInteger(pool.idleSeconds)) {
    ctx.problem(pool.path, `idle scale-down after ${pool.idleSeconds} seconds is below AmlCompute's minimum of 60 seconds (nodeIdleTimeBeforeScaleDown); use at least 60`);
  }
  addMlChild(ctx, 'computes', [computeName(ctx, pool)], {
    location: ctx.settings.location,
    tags: ctx.tags(pool.path),
    identity: userAssigned([ctx.identityId(), ...identities]),
    properties: {
      computeType: 'AmlCompute',
      computeLocation: ctx.location(),
      description: pool.description ?? `Compute pool ${pool.path}`,
      disableLocalAuth: true,
      properties: {
        vmSize: vmSize(ctx, pool.node, pool.path, 'cluster'),
        vmPriority: pool.spot ? 'LowPriority' : 'Dedicated',
        osType: 'Linux',
        scaleSettings: {
          minNodeCount: pool.minNodes,
          maxNodeCount: pool.maxNodes,
          nodeIdleTimeBeforeScaleDown: isoDuration(Math.max(60, Math.round(pool.idleSeconds))),
        },
        enableNodePublicIp: !isPrivate,
        remoteLoginPortPublicAccess: 'Disabled',
      },
    },
  });
}
