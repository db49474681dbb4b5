import type { EnvironmentModel, ResourcesModel, ScheduleModel, StepModel } from '../../lib/model/types';
import { fargateSize, gpuInstance } from '../aws/sizing';
import { vmSize } from '../azure/common';
import type { SynthContext } from '../azure/context';
import { machineSpec } from '../gcp/machines';

/**
 * Monthly cost estimate of an environment on one target, from a dated price snapshot. Pure: the
 * snapshot is passed in. Every amount is a low–high range in the snapshot's currency; a SKU the
 * snapshot has no price for is listed as unpriced (with what it is), never guessed.
 */

/** A target `mlplane cost` prices. */
export type CostTarget = 'azure' | 'gcp' | 'aws';
/** Every target `mlplane cost` prices, in the order it prints them. */
export const COST_TARGETS: readonly CostTarget[] = ['azure', 'gcp', 'aws'];

/** Hours in a month, as the clouds' price calculators count (8760 / 12). */
export const HOURS_PER_MONTH = 730;
const DAYS_PER_MONTH = HOURS_PER_MONTH / 24;

/** The list price of one SKU in a snapshot. */
export interface Price {
  readonly usd: number;
  readonly unit: 'hour' | 'vcpu-hour' | 'gb-hour' | 'run' | 'gb-month' | 'node-hour';
  /** Key of the page in `sources` the number was copied from. */
  readonly source: string;
}

/** Prices per target, with the date they were copied and the page each came from. */
export interface PriceSnapshot {
  /** Day the numbers were copied (YYYY-MM-DD). */
  readonly date: string;
  readonly currency: string;
  readonly note?: string;
  readonly sources: Readonly<Record<string, { readonly url: string; readonly title: string }>>;
  readonly targets: Readonly<Record<CostTarget, { readonly region: string; readonly prices: Readonly<Record<string, Price>> }>>;
}

/** Assumptions the model does not carry. */
export interface CostAssumptions {
  /** Hours one pipeline step or batch run takes when it declares no timeout (the timeout is the high end). */
  readonly stepHours: number;
}
/** One hour per step or batch run without a timeout. */
export const DEFAULT_ASSUMPTIONS: CostAssumptions = { stepHours: 1 };

/** One priced item of an estimate: a monthly low–high range. */
export interface CostLine {
  readonly resource: string;
  readonly component: string;
  /** SKUs and quantities, e.g. `vm:Standard_D4s_v5 × 1`. */
  readonly sku: string;
  /** How the quantity was reached, in words. */
  readonly basis: string;
  readonly low: number;
  readonly high: number;
}

/** An item the snapshot cannot price, and why; left out of the total. */
export interface UnpricedItem {
  readonly resource: string;
  readonly component: string;
  readonly sku: string;
  readonly reason: string;
}

/** The monthly estimate of one environment on one target. */
export interface CostEstimate {
  readonly target: CostTarget;
  readonly region: string;
  readonly lines: readonly CostLine[];
  readonly unpriced: readonly UnpricedItem[];
  readonly total: { readonly low: number; readonly high: number };
}

/** A rate: SKUs with a quantity each (e.g. 2 vCPU-hours + 4 GB-hours per hour of a Fargate task). */
type Rate = { readonly ok: true; readonly parts: ReadonlyArray<{ readonly sku: string; readonly qty: number }> } | { readonly ok: false; readonly sku: string; readonly reason: string };

type Use = 'training' | 'serving' | 'batch';

/** Runs per month of a schedule: rate = month / interval; cron = matches per month of its fields. */
export function runsPerMonth(s: ScheduleModel): number {
  if (s.kind === 'rate') return (HOURS_PER_MONTH * 3600) / s.seconds;
  const [minute = '*', hour = '*', dom = '*', month = '*', dow = '*'] = s.expression.trim().split(/\s+/);
  const minutes = cronCount(minute, 0, 59);
  const hours = cronCount(hour, 0, 23);
  const months = cronCount(month, 1, 12) / 12;
  // Day-of-month and day-of-week: cron fires when either matches if both are restricted.
  const domDays = dom === '*' ? DAYS_PER_MONTH : cronCount(dom, 1, 31);
  const dowDays = dow === '*' ? DAYS_PER_MONTH : (cronCount(dow, 0, 6, true) * DAYS_PER_MONTH) / 7;
  const days = dom === '*' ? dowDays : dow === '*' ? domDays : Math.min(DAYS_PER_MONTH, domDays + dowDays);
  return minutes * hours * days * months;
}

const WEEKDAYS = ['SUN', 'MON', 'TUE', 'WED', 'THU', 'FRI', 'SAT'];

/** Distinct values a cron field matches in [min, max] (lists, ranges, steps, day names). */
function cronCount(field: string, min: number, max: number, weekday = false): number {
  const value = (v: string) => {
    const named = WEEKDAYS.indexOf(v.toUpperCase());
    const n = weekday && named >= 0 ? named : Number(v);
    return weekday && n === 7 ? 0 : n;
  };
  const hits = new Set<number>();
  for (const item of field.split(',')) {
    const [range = '*', stepText] = item.split('/');
    const step = stepText === undefined ? 1 : Number(stepText);
    const [lo, hi] = range === '*' ? [min, max] : range.includes('-') ? range.split('-').map(value) : [value(range), stepText === undefined ? value(range) : max];
    for (let v = lo ?? min; v <= (hi ?? max); v += step) hits.add(v);
  }
  return hits.size;
}

/** What one node/replica/task of `resources` costs per hour on `target`, as SKUs. */
function nodeRate(target: CostTarget, resources: ResourcesModel, spot: boolean, use: Use, path: string): Rate {
  switch (target) {
    case 'azure': {
      const problems: string[] = [];
      // vmSize only reports problems through the context; nothing else of it is read.
      const ctx = { problem: (_p: string, m: string) => problems.push(m) } as unknown as SynthContext;
      const size = vmSize(ctx, resources, path, use === 'serving' ? 'online' : 'cluster');
      if (problems.length > 0) return { ok: false, sku: 'vm:?', reason: problems.join('; ') };
      return { ok: true, parts: [{ sku: `${spot ? 'vm-lowpriority' : 'vm'}:${size}`, qty: 1 }] };
    }
    case 'gcp': {
      const spec = machineSpec(resources);
      if ('problem' in spec) return { ok: false, sku: 'machine:?', reason: spec.problem };
      // Custom jobs on a spot pool run as Spot VMs (their own SKUs); batch prediction has no spot option.
      const kind = use === 'training' ? (spot ? 'training-spot' : 'training') : 'prediction';
      const parts = [{ sku: `${kind}:${spec.machineType}`, qty: 1 }];
      if (spec.acceleratorType) parts.push({ sku: `${kind}-accelerator:${spec.acceleratorType}`, qty: spec.acceleratorCount ?? 1 });
      return { ok: true, parts };
    }
    case 'aws': {
      const tier = spot ? 'fargate-spot' : 'fargate';
      if (resources.accelerator) {
        const gpu = gpuInstance(resources.accelerator, resources);
        if (!gpu.ok) return { ok: false, sku: 'ec2:?', reason: gpu.error };
        return { ok: true, parts: [{ sku: `${spot ? 'ec2-spot' : 'ec2'}:${gpu.value.instanceType}`, qty: 1 }] };
      }
      const size = fargateSize(resources);
      if (!size.ok) return { ok: false, sku: `${tier}:?`, reason: size.error };
      return { ok: true, parts: [{ sku: `${tier}:vcpu-hour`, qty: size.value.cpu / 1024 }, { sku: `${tier}:gb-hour`, qty: size.value.memoryMiB / 1024 }] };
    }
  }
}

const fmtQty = (n: number) => (Number.isInteger(n) ? String(n) : n.toFixed(2).replace(/0+$/, ''));
const hoursText = (lo: number, hi: number) => (lo === hi ? fmtQty(lo) : `${fmtQty(lo)}–${fmtQty(hi)}`);
const skuText = (r: Rate) => (r.ok ? r.parts.map((p) => (p.qty === 1 ? p.sku : `${p.sku} × ${fmtQty(p.qty)}`)).join(' + ') : r.sku);

/** Estimate the monthly cost of `model` on `target` with the prices of `snapshot`. */
export function estimateCost(model: EnvironmentModel, target: CostTarget, snapshot: PriceSnapshot, assumptions: CostAssumptions = DEFAULT_ASSUMPTIONS): CostEstimate {
  const prices = snapshot.targets[target].prices;
  const lines: CostLine[] = [];
  const unpriced: UnpricedItem[] = [];
  /** Price per hour of a rate, or the first SKU without a price. */
  const hourly = (rate: Rate): { usd: number } | { missing: string; reason: string } => {
    if (!rate.ok) return { missing: rate.sku, reason: rate.reason };
    let usd = 0;
    for (const p of rate.parts) {
      const price = prices[p.sku];
      if (price === undefined) return { missing: p.sku, reason: `no price for ${p.sku} in the ${snapshot.date} snapshot` };
      usd += price.usd * p.qty;
    }
    return { usd };
  };
  /** Add a line of `hoursLow..hoursHigh` hours of `rate`, or an unpriced item. */
  const charge = (resource: string, component: string, rate: Rate, hoursLow: number, hoursHigh: number, basis: string) => {
    const h = hourly(rate);
    if ('missing' in h) unpriced.push({ resource, component, sku: h.missing, reason: h.reason });
    else lines.push({ resource, component, sku: skuText(rate), basis, low: h.usd * hoursLow, high: h.usd * hoursHigh });
  };
  const pools = new Map(model.resources.flatMap((r) => (r.kind === 'computePool' ? [[r.path, r] as const] : [])));
  const stepHours = (s: StepModel) => [assumptions.stepHours, s.timeoutSeconds !== undefined ? Math.max(assumptions.stepHours, s.timeoutSeconds / 3600) : assumptions.stepHours] as const;

  for (const r of model.resources) {
    switch (r.kind) {
      case 'dataset':
        unpriced.push({ resource: r.path, component: 'storage', sku: 'storage GB-month', reason: 'the model carries no data size' });
        break;
      case 'featureTable':
        if (r.online) {
          // A per-node rate in the snapshot is shown, but the node count is the service's to set.
          const node = target === 'gcp' ? prices['feature-online-store:optimized-node'] : undefined;
          const rate = node ? `$${node.usd.toFixed(2)} per node-hour (${snapshot.date} snapshot), but ` : '';
          unpriced.push({ resource: r.path, component: 'online store', sku: ONLINE_STORE[target], reason: `${rate}capacity depends on entity count and reads, which the model does not carry` });
        }
        break;
      case 'modelRegistry':
        if (target === 'aws') unpriced.push({ resource: r.path, component: 'registry server', sku: 'MLflow on ECS Fargate + RDS PostgreSQL + ALB', reason: 'shared platform sizing is not priced in the snapshot' });
        break;
      case 'computePool': {
        // Vertex has no standing pool; AWS Fargate pools hold no capacity. Standing nodes elsewhere.
        const standing = target === 'azure' || (target === 'aws' && r.node.accelerator !== undefined);
        if (!standing || r.minNodes === 0) break;
        const hours = r.minNodes * HOURS_PER_MONTH;
        charge(r.path, 'standing nodes', nodeRate(target, r.node, r.spot, 'training', r.path), hours, hours, `${r.minNodes} min node(s) × ${HOURS_PER_MONTH} h${r.spot ? ', spot' : ''}`);
        break;
      }
      case 'pipeline': {
        const runs = r.schedules.reduce((n, s) => n + runsPerMonth(s), 0);
        if (runs === 0) {
          unpriced.push({ resource: r.path, component: 'runs', sku: 'on-demand runs', reason: 'no schedule: runs started by hand or by drift retraining are not counted' });
          break;
        }
        if (target === 'gcp') charge(r.path, 'pipeline runs', { ok: true, parts: [{ sku: 'pipeline-run', qty: 1 }] }, runs, runs, `${fmtQty(runs)} runs/month`);
        for (const s of r.steps) {
          if (s.kind === 'register') {
            unpriced.push({ resource: `${r.path}/${s.name}`, component: 'register step', sku: 'default compute (minutes)', reason: 'a register step declares no resources' });
            continue;
          }
          const pool = s.compute ? pools.get(s.compute) : undefined;
          // On Azure and Vertex a step on a pool runs on the pool's node shape; on AWS, GPU pools
          // run EC2 nodes and CPU pools size Fargate tasks by the step.
          const onPoolNode = pool !== undefined && (target !== 'aws' || pool.node.accelerator !== undefined);
          const rate = nodeRate(target, onPoolNode ? pool.node : s.resources, pool?.spot ?? false, 'training', s.path);
          // A node released after the idle timeout bills that tail once per step run.
          const idle = onPoolNode && target !== 'gcp' && pool.minNodes === 0 ? pool.idleSeconds / 3600 : 0;
          const [lo, hi] = stepHours(s);
          charge(`${r.path}/${s.name}`, 'step runs', rate, runs * (lo + idle), runs * (hi + idle), `${fmtQty(runs)} runs × ${hoursText(lo, hi)} h${idle > 0 ? ` + ${fmtQty(idle)} h idle` : ''}${pool?.spot ? ', spot' : ''}`);
        }
        break;
      }
      case 'onlineEndpoint':
        for (const d of r.deployments) {
          charge(`${r.path}/${d.name}`, 'replicas', nodeRate(target, d.resources, false, 'serving', r.path), d.minReplicas * HOURS_PER_MONTH, d.maxReplicas * HOURS_PER_MONTH, `${d.minReplicas}–${d.maxReplicas} replicas × ${HOURS_PER_MONTH} h`);
        }
        break;
      case 'batchInference': {
        const runs = r.schedules.reduce((n, s) => n + runsPerMonth(s), 0);
        if (runs === 0) break;
        const pool = r.compute ? pools.get(r.compute) : undefined;
        const onPoolNode = pool !== undefined && (target !== 'aws' || pool.node.accelerator !== undefined);
        const hi = r.timeoutSeconds !== undefined ? Math.max(assumptions.stepHours, r.timeoutSeconds / 3600) : assumptions.stepHours;
        const nodeHours = runs * r.instanceCount;
        // Vertex batch prediction jobs have no spot option: they run (and bill) on demand.
        const spot = (pool?.spot ?? false) && target !== 'gcp';
        const spotText = pool?.spot ? (spot ? ', spot' : ', on demand (no spot for batch prediction)') : '';
        charge(r.path, 'batch runs', nodeRate(target, onPoolNode ? pool.node : r.resources, spot, 'batch', r.path), nodeHours * assumptions.stepHours, nodeHours * hi, `${fmtQty(runs)} runs × ${r.instanceCount} instances × ${hoursText(assumptions.stepHours, hi)} h${spotText}`);
        break;
      }
      case 'secret':
        break; // a reference to a secret the user keeps; reads are not priced
      case 'driftMonitor':
        unpriced.push({ resource: r.path, component: 'monitor runs', sku: MONITOR[target], reason: `${fmtQty(runsPerMonth(r.schedule))} runs/month; run size is set by the service, not the model` });
        break;
      default: {
        const never: never = r;
        throw new Error(`unhandled kind ${(never as { kind: string }).kind}`);
      }
    }
  }
  const total = lines.reduce((t, l) => ({ low: t.low + l.low, high: t.high + l.high }), { low: 0, high: 0 });
  return { target, region: snapshot.targets[target].region, lines, unpriced, total };
}

const ONLINE_STORE: Readonly<Record<CostTarget, string>> = {
  azure: 'Azure Cache for Redis',
  gcp: 'Vertex Feature Online Store node',
  aws: 'DynamoDB on-demand',
};

const MONITOR: Readonly<Record<CostTarget, string>> = {
  azure: 'serverless Spark (monitor job)',
  gcp: 'Vertex Model Monitoring',
  aws: 'ECS Fargate task (monitor)',
};

/** Change of the monthly estimate from `before` (absent = nothing deployed) to `after`, for `mlplane diff`. */
export interface CostDelta {
  readonly low: number;
  readonly high: number;
  /** SKUs unpriced in either model: the delta leaves them out. */
  readonly unpriced: number;
}

/** The change of the monthly estimate when `before` is replaced by `after` on `target`. */
export function costDelta(before: EnvironmentModel | undefined, after: EnvironmentModel, target: CostTarget, snapshot: PriceSnapshot, assumptions: CostAssumptions = DEFAULT_ASSUMPTIONS): CostDelta {
  const a = estimateCost(after, target, snapshot, assumptions);
  const b = before ? estimateCost(before, target, snapshot, assumptions) : undefined;
  const unpriced = new Set([...a.unpriced, ...(b?.unpriced ?? [])].map((u) => `${u.resource} ${u.sku}`)).size;
  return { low: a.total.low - (b?.total.low ?? 0), high: a.total.high - (b?.total.high ?? 0), unpriced };
}

/** `+ $412.00/month`, `- $3.54/month`, `+ $72.08–$144.16/month`, with the unpriced count. */
export function formatCostDelta(d: CostDelta, currency: string): string {
  const sign = (n: number) => (n < -0.005 ? '-' : '+');
  const amount = (n: number) => `${currency === 'USD' ? '$' : `${currency} `}${Math.abs(n).toFixed(2)}`;
  const body = Math.abs(d.high - d.low) < 0.005 ? `${sign(d.low)} ${amount(d.low)}` : `${sign(d.low)} ${amount(d.low)} … ${sign(d.high)} ${amount(d.high)}`;
  return `${body}/month${d.unpriced > 0 ? ` (${d.unpriced} item(s) unpriced)` : ''}`;
}

/**
 * Every SKU key `estimateCost` looks up for `model` on `target` (what `mlplane cost --refresh`
 * asks the price lists for), sorted. Found by running the estimate against prices that record each
 * key asked for, so the list cannot drift from what the estimate uses.
 */
export function requiredSkus(model: EnvironmentModel, target: CostTarget): string[] {
  const asked = new Set<string>();
  const recorder = new Proxy({} as Record<string, Price>, {
    get: (_t, key) => {
      if (typeof key === 'string') asked.add(key);
      return { usd: 0, unit: 'hour', source: 'recorder' } satisfies Price;
    },
  });
  const empty = { region: '', prices: {} };
  const snapshot: PriceSnapshot = { date: '', currency: 'USD', sources: {}, targets: { azure: empty, gcp: empty, aws: empty, [target]: { region: '', prices: recorder } } };
  estimateCost(model, target, snapshot);
  return [...asked].sort();
}

/** The unit a snapshot price of `sku` is quoted in (what a refreshed price is normalised to). */
export function skuUnit(sku: string): Price['unit'] {
  if (sku === 'pipeline-run') return 'run';
  if (sku.startsWith('feature-online-store:')) return 'node-hour';
  if (sku.endsWith(':vcpu-hour')) return 'vcpu-hour';
  if (sku.endsWith(':gb-hour')) return 'gb-hour';
  return 'hour';
}
