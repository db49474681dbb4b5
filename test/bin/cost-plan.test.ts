/**
 * Issue 18: `mlplane diff`/`deploy` show the cost delta of the plan, and a per-stage cap refuses a
 * deploy before any write.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import type { Plan, PlanItem } from '../../adapters/deploy';
import { estimateCost } from '../../adapters/shared/cost';
import { costCapProblem, deployedModel, planCostLine, recordDeployed } from '../../bin/commands/cost-plan';
import { loadSnapshot } from '../../bin/commands/cost';
import type { EnvironmentModel, OnlineEndpointModel } from '../../lib/model/types';
import { exampleModels } from '../support/examples';

const fraud = () => exampleModels()[0]!;
const tmp = () => fs.mkdtempSync(path.join(os.tmpdir(), 'mlplane-cost-plan-'));
const item = (action: PlanItem['action']): PlanItem => ({ id: action, type: 'Endpoint', path: 'Fraud/Scoring', action, changes: [], summary: [] });
const plan = (...actions: PlanItem['action'][]): Plan => ({ target: 'aws', environment: 'Fraud', items: actions.map(item) });
const money = (n: number) => `$${Math.abs(n).toFixed(2)}`;

/** The example with every endpoint deployment's replicas raised by `add`. */
function moreReplicas(model: EnvironmentModel, add: number): EnvironmentModel {
  const copy = structuredClone(model) as { resources: unknown[] } & EnvironmentModel;
  for (const r of copy.resources as OnlineEndpointModel[]) {
    if (r.kind !== 'onlineEndpoint') continue;
    for (const d of r.deployments as unknown as Array<{ minReplicas: number; maxReplicas: number }>) {
      d.minReplicas += add;
      d.maxReplicas += add;
    }
  }
  return copy;
}

describe('cost of a plan', () => {
  it('a first deploy (everything created, nothing recorded) adds the whole estimate', () => {
    const model = fraud();
    const e = estimateCost(model, 'aws', loadSnapshot());
    const line = planCostLine(plan('create', 'create'), model, 'deploy', tmp())!;
    expect(line.startsWith(`cost: + ${money(e.total.low)}`)).toBe(true);
  });

  it('against the recorded deployed definition: more replicas cost the difference of the two estimates', () => {
    const dir = tmp();
    const before = fraud();
    recordDeployed(before, 'aws', 'deploy', dir);
    expect(deployedModel('Fraud', 'aws', dir)).toEqual(before);
    const after = moreReplicas(before, 1);
    const s = loadSnapshot();
    const delta = estimateCost(after, 'aws', s).total.low - estimateCost(before, 'aws', s).total.low;
    expect(delta).toBeGreaterThan(0);
    expect(planCostLine(plan('update', 'noop'), after, 'diff', dir)).toMatch(new RegExp(`^cost: \\+ \\${money(delta)}`));
    // Fewer replicas: a negative delta.
    recordDeployed(after, 'aws', 'deploy', dir);
    expect(planCostLine(plan('update'), before, 'diff', dir)).toMatch(new RegExp(`^cost: - \\${money(delta)}`));
  });

  it('says no change when the plan changes nothing, and unknown when a partial change has no record', () => {
    expect(planCostLine(plan('noop', 'noop'), fraud(), 'diff', tmp())).toMatch(/^cost: no change \(now \$/);
    expect(planCostLine(plan('update', 'noop'), fraud(), 'diff', tmp())).toMatch(/^cost: change unknown \(no record/);
  });

  it('a destroy removes the estimate and the record', () => {
    const dir = tmp();
    const model = fraud();
    recordDeployed(model, 'aws', 'deploy', dir);
    const e = estimateCost(model, 'aws', loadSnapshot());
    expect(planCostLine(plan('delete'), model, 'destroy', dir)).toMatch(new RegExp(`^cost: - \\${money(e.total.low)}`));
    recordDeployed(model, 'aws', 'destroy', dir);
    expect(deployedModel('Fraud', 'aws', dir)).toBeUndefined();
  });

  it('fails if a deploy over the stage cap is not refused, naming the environment, the estimate and the fix', () => {
    const model = fraud();
    const stage = model.environment.stage;
    const high = estimateCost(model, 'aws', loadSnapshot()).total.high;
    expect(costCapProblem(model, 'aws', { [stage]: Math.ceil(high) + 1 })).toBeUndefined();
    expect(costCapProblem(model, 'aws', { other: 1 })).toBeUndefined();
    expect(costCapProblem(model, 'aws', { [stage]: Math.floor(high) - 1 })).toBe(
      `[Fraud] the ${stage} estimate on aws is up to USD ${high.toFixed(2)}/month, above mlplane:costCap.${stage} = ${Math.floor(high) - 1}; lower replicas, node counts or schedules (mlplane cost --target aws lists the lines), or raise the cap`,
    );
    expect(costCapProblem(model, 'aws', { [stage]: 'lots' })).toContain(`mlplane:costCap.${stage} must be a non-negative number`);
  });
});
