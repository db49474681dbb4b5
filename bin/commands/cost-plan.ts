/**
 * The cost of a plan, for `mlplane diff` and `mlplane deploy` (issue 18): the change of the monthly
 * estimate from the definition last deployed from this project to the one being deployed, and the
 * per-stage cap (context `mlplane:costCap`) a deploy must stay under.
 *
 * The deployed definition is the model `mlplane deploy` records after a successful deploy, under
 * `.mlplane/deployed/<Env>.<target>.model.json` (the clouds keep no record of the neutral model).
 * Without a record — a fresh CI checkout — the delta is known only when the plan creates or
 * deletes everything; otherwise the line says so and gives the new total.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { Plan } from '../../adapters/deploy';
import { COST_TARGETS, costDelta, estimateCost, formatCostDelta, type CostTarget } from '../../adapters/shared/cost';
import type { EnvironmentModel } from '../../lib/model/types';
import { activeSnapshot, range } from './cost';

const RECORDS = path.join('.mlplane', 'deployed');

const recordFile = (env: string, target: string, dir: string) => path.join(dir, RECORDS, `${env}.${target}.model.json`);

/** The model last deployed from `dir` for `env` on `target`, if recorded. */
export function deployedModel(env: string, target: string, dir = process.cwd()): EnvironmentModel | undefined {
  const file = recordFile(env, target, dir);
  if (!fs.existsSync(file)) return undefined;
  try {
    return JSON.parse(fs.readFileSync(file, 'utf8')) as EnvironmentModel;
  } catch {
    return undefined;
  }
}

/** Record what a successful deploy applied (a destroy removes the record). */
export function recordDeployed(model: EnvironmentModel, target: string, verb: 'deploy' | 'destroy', dir = process.cwd()): void {
  const file = recordFile(model.environment.name, target, dir);
  if (verb === 'destroy') {
    fs.rmSync(file, { force: true });
    return;
  }
  fs.mkdirSync(path.dirname(file), { recursive: true });
  fs.writeFileSync(file, JSON.stringify(model));
}

const isCostTarget = (t: string): t is CostTarget => (COST_TARGETS as readonly string[]).includes(t);

/** `cost: + $412.00/month (now $1,204.00/month; prices of 2026-11-30)`, or why the delta is not known. */
export function planCostLine(plan: Plan, model: EnvironmentModel, verb: 'diff' | 'deploy' | 'destroy', dir = process.cwd()): string | undefined {
  if (!isCostTarget(plan.target)) return undefined;
  const active = activeSnapshot(dir);
  const snapshot = active.snapshot;
  const c = snapshot.currency;
  const after = verb === 'destroy' ? undefined : model;
  const before = deployedModel(model.environment.name, plan.target, dir);
  const now = after ? estimateCost(after, plan.target, snapshot) : undefined;
  const total = now ? ` (now ${range(now.total.low, now.total.high, c)}/month)` : '';
  const dated = ` — prices of ${snapshot.date} from ${active.file} (mlplane cost lists the lines)`;
  const changes = plan.items.filter((i) => i.action !== 'noop');
  const everything = changes.length === plan.items.length;
  if (changes.length === 0) return `cost: no change${total}\n`;
  if (verb === 'destroy') {
    const was = before ? estimateCost(before, plan.target, snapshot) : estimateCost(model, plan.target, snapshot);
    return `cost: ${formatCostDelta({ low: -was.total.low, high: -was.total.high, unpriced: was.unpriced.length }, c)}${dated}\n`;
  }
  if (before === undefined && !everything) {
    return `cost: change unknown (no record of the definition deployed from here, .mlplane/deployed/)${total}${dated}\n`;
  }
  return `cost: ${formatCostDelta(costDelta(before, model, plan.target, snapshot), c)}${total}${dated}\n`;
}

/**
 * The per-stage monthly cap of context `mlplane:costCap` (`{"prod": 5000, "dev": 200}`, in the
 * snapshot's currency): a deploy whose estimate may exceed it is refused before any write.
 * @returns the refusal, or undefined when under the cap (or no cap applies).
 */
export function costCapProblem(model: EnvironmentModel, target: string, caps: unknown): string | undefined {
  if (caps === undefined || caps === null || !isCostTarget(target)) return undefined;
  const stage = model.environment.stage;
  if (typeof caps !== 'object' || Array.isArray(caps)) return `context mlplane:costCap must be an object of stage → monthly amount, e.g. {"prod": 5000}; got ${JSON.stringify(caps)}`;
  const cap = (caps as Record<string, unknown>)[stage];
  if (cap === undefined) return undefined;
  if (typeof cap !== 'number' || !Number.isFinite(cap) || cap < 0) return `context mlplane:costCap.${stage} must be a non-negative number (monthly, in the price snapshot's currency); got ${JSON.stringify(cap)}`;
  const snapshot = activeSnapshot().snapshot;
  const e = estimateCost(model, target, snapshot);
  if (e.total.high <= cap) return undefined;
  return `[${model.environment.path}] the ${stage} estimate on ${target} is up to ${snapshot.currency} ${e.total.high.toFixed(2)}/month, above mlplane:costCap.${stage} = ${cap}; lower replicas, node counts or schedules (mlplane cost --target ${target} lists the lines), or raise the cap`;
}
