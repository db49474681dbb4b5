import { describe, expect, it } from 'vitest';
import { costDelta, estimateCost, formatCostDelta, runsPerMonth, type PriceSnapshot } from '../../adapters/shared/cost';
import { loadSnapshot } from '../../bin/commands/cost';
import type { EnvironmentModel, ResourceModel } from '../../lib/model/types';
import { exampleModels } from '../support/examples';
import { cli } from '../support/cli';


/** Round prices, so the expected amounts below can be worked out by hand. */
const ROUND: PriceSnapshot = {
  date: '2000-01-01',
  currency: 'USD',
  sources: { hand: { url: 'https://example.invalid/prices', title: 'hand-made test prices' } },
  targets: {
    azure: {
      region: 'test',
      prices: {
        'vm:Standard_D4s_v5': { usd: 0.2, unit: 'hour', source: 'hand' },
        'vm:Standard_F2s_v2': { usd: 0.1, unit: 'hour', source: 'hand' },
        'vm-lowpriority:Standard_NC8as_T4_v3': { usd: 0.3, unit: 'hour', source: 'hand' },
      },
    },
    gcp: { region: 'test', prices: { 'pipeline-run': { usd: 0.5, unit: 'run', source: 'hand' } } },
    aws: { region: 'test', prices: {} },
  },
};

const fraud = (): EnvironmentModel => exampleModels().find((m) => m.environment.name === 'Fraud')!;
const withResource = (m: EnvironmentModel, path: string, patch: Partial<ResourceModel>): EnvironmentModel => ({
  ...m,
  resources: m.resources.map((r) => (r.path === path ? ({ ...r, ...patch } as ResourceModel) : r)),
});
const line = (e: ReturnType<typeof estimateCost>, resource: string) => e.lines.find((l) => l.resource === resource);

describe('runsPerMonth', () => {
  it('counts cron firings and rates over a 730-hour month', () => {
    const cron = (expression: string) => runsPerMonth({ kind: 'cron', expression, timeZone: 'UTC' });
    expect(cron('0 2 * * *')).toBeCloseTo(730 / 24, 9); // daily: 30.4167
    expect(cron('0 4 1 * *')).toBe(1); // monthly
    expect(cron('0 9 * * MON')).toBeCloseTo(730 / 24 / 7, 9); // weekly: 4.3452
    expect(cron('0 9 * * 1-5')).toBeCloseTo(((730 / 24) * 5) / 7, 9); // weekdays: 21.726
    expect(cron('*/15 * * * *')).toBeCloseTo(4 * 24 * (730 / 24), 9); // every 15 minutes: 2920
    expect(cron('0 0 1 1,7 *')).toBeCloseTo(2 / 12, 9); // twice a year
    expect(runsPerMonth({ kind: 'rate', seconds: 6 * 3600 })).toBeCloseTo(730 / 6, 9); // 121.67
  });
});

describe('estimateCost (hand-computed from round prices)', () => {
  it('prices pipeline steps per scheduled run, with the idle tail of a pool that scales to zero, and spot prices', () => {
    const e = estimateCost(fraud(), 'azure', ROUND);
    // ValidateData on Fraud/Cpu (Standard_D4s_v5, min 0, idle 600 s), daily: 30.4167 runs × (1 h + 1/6 h) × $0.2 = $7.0972
    expect(line(e, 'Fraud/Train/ValidateData')).toMatchObject({ sku: 'vm:Standard_D4s_v5' });
    expect(line(e, 'Fraud/Train/ValidateData')?.low).toBeCloseTo(7.097222, 5);
    expect(line(e, 'Fraud/Train/ValidateData')?.high).toBeCloseTo(7.097222, 5);
    // TrainModel on Fraud/Gpu (spot → low priority, idle 900 s, timeout 4 h): 30.4167 × 1.25 × $0.3 = $11.40625 … 30.4167 × 4.25 × $0.3 = $38.78125
    expect(line(e, 'Fraud/Train/TrainModel')).toMatchObject({ sku: 'vm-lowpriority:Standard_NC8as_T4_v3' });
    expect(line(e, 'Fraud/Train/TrainModel')?.low).toBeCloseTo(11.40625, 5);
    expect(line(e, 'Fraud/Train/TrainModel')?.high).toBeCloseTo(38.78125, 5);
  });

  it('prices endpoint replicas as a min–max range, and standing pool nodes at min nodes', () => {
    const e = estimateCost(withResource(fraud(), 'Fraud/Cpu', { minNodes: 2 }), 'azure', ROUND);
    // blue: 2–6 replicas × 730 h × $0.1 = $146–$438; green: 1–2 → $73–$146
    expect(line(e, 'Fraud/Scoring/blue')).toMatchObject({ sku: 'vm:Standard_F2s_v2', low: 146, high: 438 });
    expect(line(e, 'Fraud/Scoring/green')).toMatchObject({ low: 73, high: 146 });
    // Cpu pool: 2 min nodes × 730 h × $0.2 = $292, and no idle tail once nodes stay up
    expect(line(e, 'Fraud/Cpu')).toMatchObject({ component: 'standing nodes', low: 292, high: 292 });
    expect(line(e, 'Fraud/Train/ValidateData')?.low).toBeCloseTo((730 / 24) * 0.2, 9);
    expect(e.total.low).toBeCloseTo(e.lines.reduce((n, l) => n + l.low, 0), 9);
    expect(e.total.high).toBeCloseTo(e.lines.reduce((n, l) => n + l.high, 0), 9);
  });

  it('lists a SKU without a price as unpriced and leaves it out of the total, never guessing', () => {
    const e = estimateCost(fraud(), 'aws', ROUND);
    expect(e.lines).toEqual([]);
    expect(e.total).toEqual({ low: 0, high: 0 });
    expect(e.unpriced).toContainEqual({ resource: 'Fraud/Scoring/blue', component: 'replicas', sku: 'fargate:vcpu-hour', reason: 'no price for fargate:vcpu-hour in the 2000-01-01 snapshot' });
    expect(e.unpriced).toContainEqual(expect.objectContaining({ resource: 'Fraud/Train/TrainModel', sku: 'ec2-spot:g4dn.4xlarge' }));
    const gcp = estimateCost(fraud(), 'gcp', ROUND);
    // The only priced GCP item is the per-run pipeline fee: 30.4167 runs × $0.5
    expect(gcp.lines.map((l) => l.resource)).toEqual(['Fraud/Train']);
    expect(gcp.total.low).toBeCloseTo((730 / 24) * 0.5, 9);
    // TrainModel runs on the spot Gpu pool: a Vertex custom job on Spot VMs, whose SKU is its own.
    expect(gcp.unpriced).toContainEqual(expect.objectContaining({ resource: 'Fraud/Train/TrainModel', sku: 'training-spot:n1-highmem-8' }));
    expect(gcp.unpriced).toContainEqual(expect.objectContaining({ resource: 'Fraud/Train/ValidateData', sku: 'training:n1-highmem-4' }));
  });

  it('prices Fargate by vCPU and GB from the shipped snapshot', () => {
    const snapshot = loadSnapshot();
    expect(snapshot.targets.aws.prices['fargate:vcpu-hour']?.usd).toBe(0.04048);
    const e = estimateCost(fraud(), 'aws', snapshot);
    // blue: 2 vCPU + 4 GB = 2 × 0.04048 + 4 × 0.004445 = $0.09874/h; × 730 h × 2–6 replicas = $144.1604–$432.4812
    expect(line(e, 'Fraud/Scoring/blue')?.low).toBeCloseTo(144.1604, 6);
    expect(line(e, 'Fraud/Scoring/blue')?.high).toBeCloseTo(432.4812, 6);
    for (const p of Object.values(snapshot.targets).flatMap((t) => Object.values(t.prices))) expect(snapshot.sources[p.source]?.url).toMatch(/^https:\/\//);
  });
});

describe('estimateCost on gcp with the shipped snapshot (hand-computed)', () => {
  const churn = (): EnvironmentModel => exampleModels().find((m) => m.environment.name === 'Churn')!;

  it('prices Vertex endpoint replicas per prediction node-hour, and the per-run pipeline fee', () => {
    const s = loadSnapshot();
    expect(s.targets.gcp.prices['prediction:n1-standard-2']).toEqual({ usd: 0.1095, unit: 'hour', source: 'gcp-vertex-prediction' });
    const e = estimateCost(fraud(), 'gcp', s);
    // blue: 2–6 replicas × 730 h × $0.1095 = $159.87–$479.61; green: 1–2 → $79.935–$159.87
    expect(line(e, 'Fraud/Scoring/blue')).toMatchObject({ component: 'replicas', sku: 'prediction:n1-standard-2' });
    expect(line(e, 'Fraud/Scoring/blue')?.low).toBeCloseTo(159.87, 9);
    expect(line(e, 'Fraud/Scoring/blue')?.high).toBeCloseTo(479.61, 9);
    expect(line(e, 'Fraud/Scoring/green')?.low).toBeCloseTo(79.935, 9);
    expect(line(e, 'Fraud/Scoring/green')?.high).toBeCloseTo(159.87, 9);
    // Daily schedule: 730 / 24 = 30.4167 runs × $0.03 = $0.9125
    expect(line(e, 'Fraud/Train')?.low).toBeCloseTo(0.9125, 9);
    // Total: $159.87 + $79.935 + $0.9125 = $240.7175 … $479.61 + $159.87 + $0.9125 = $640.3925
    expect(e.total.low).toBeCloseTo(240.7175, 9);
    expect(e.total.high).toBeCloseTo(640.3925, 9);
  });

  it('prices a batch prediction job on a spot pool on demand (Vertex batch prediction has no spot), per instance-hour', () => {
    const e = estimateCost(churn(), 'gcp', loadSnapshot());
    // WeeklyScoring: weekly (730 / 24 / 7 = 4.3452 runs) × 4 instances × 1–3 h × $0.274 (n1-highmem-4) = $4.7624–$14.2871
    const l = line(e, 'Churn/WeeklyScoring');
    expect(l).toMatchObject({ component: 'batch runs', sku: 'prediction:n1-highmem-4', basis: '4.35 runs × 4 instances × 1–3 h, on demand (no spot for batch prediction)' });
    expect(l?.low).toBeCloseTo((730 / 24 / 7) * 4 * 0.274, 9);
    expect(l?.low).toBeCloseTo(4.762381, 6);
    expect(l?.high).toBeCloseTo(14.287143, 6);
  });

  it('shows the online store rate without pricing it: the node count is the service’s', () => {
    const e = estimateCost(fraud(), 'gcp', loadSnapshot());
    expect(e.unpriced).toContainEqual({
      resource: 'Fraud/CustomerFeatures',
      component: 'online store',
      sku: 'Vertex Feature Online Store node',
      reason: `$0.30 per node-hour (${loadSnapshot().date} snapshot), but capacity depends on entity count and reads, which the model does not carry`,
    });
    expect(e.lines.some((l) => l.resource === 'Fraud/CustomerFeatures')).toBe(false);
  });

  it('names a source page and a date for every gcp price', () => {
    const s = loadSnapshot();
    for (const p of Object.values(s.targets.gcp.prices)) {
      expect(s.sources[p.source]?.url).toMatch(/^https:\/\//);
      expect(s.sources[p.source]?.title).toMatch(/\d{4}-\d{2}-\d{2}/);
    }
  });
});

describe('mlplane cost', () => {
  it('prints a table for both examples on all three targets, with the snapshot date and sources', async () => {
    const r = await cli('cost');
    expect(r.code).toBe(0);
    const date = loadSnapshot().date;
    expect(r.stdout).toContain(`Prices: snapshot of ${date}`);
    for (const env of ['Churn (staging)', 'Fraud (prod)']) for (const t of ['azure', 'gcp', 'aws']) expect(r.stdout).toMatch(new RegExp(`${env.replace(/[()]/g, '\\$&')} on ${t} \\[`));
    expect(r.stdout).toContain('Fraud/Scoring/blue         replicas   fargate:vcpu-hour × 2 + fargate:gb-hour × 4   2–6 replicas × 730 h  $144.16–$432.48');
    expect(r.stdout).toContain('https://www.vantage.sh/blog/fargate-pricing');
  });

  it('fails if --target names no target, or --stage matches no environment', async () => {
    const bad = await cli('cost', '--target', 'gcp,oracle');
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain(`--target "gcp,oracle": unknown target 'oracle'; use 'aws', 'azure', 'gcp', a comma-separated list, or 'all'`);
    // --stage builds the app for that stage (both examples have dev, staging and prod).
    const stage = await cli('cost', '--stage', 'qa');
    expect(stage.code).toBe(1);
    expect(stage.stderr).toContain('[mlplane:stage] stage "qa" selects no environment; stages available: Churn: dev, staging, prod; Fraud: dev, staging, prod');
    const one = await cli('cost', '--target', 'aws', '--stage', 'prod', '--json');
    expect(JSON.parse(one.stdout).estimates.map((e: { environment: string; stage: string; target: string }) => `${e.environment}/${e.stage}/${e.target}`)).toEqual(['Churn/prod/aws', 'Fraud/prod/aws']);
  });
});

describe('costDelta (the figure mlplane diff would show)', () => {
  it('is the change of the estimate between two models, hand-computed from round prices', () => {
    const before = fraud();
    // Raising blue's replicas from 2–6 to 3–6 adds 1 × 730 h × $0.1 = $73 at the low end, nothing at the high end.
    const after: EnvironmentModel = {
      ...before,
      resources: before.resources.map((r) => (r.kind === 'onlineEndpoint' ? { ...r, deployments: r.deployments.map((d) => (d.name === 'blue' ? { ...d, minReplicas: 3 } : d)) } : r)),
    };
    const d = costDelta(before, after, 'azure', ROUND);
    expect(d.low).toBeCloseTo(73, 9);
    expect(d.high).toBeCloseTo(0, 9);
    expect(formatCostDelta(d, 'USD')).toBe(`+ $73.00 … + $0.00/month (${estimateCost(after, 'azure', ROUND).unpriced.length} item(s) unpriced)`);
    // Nothing deployed yet: the delta is the whole estimate.
    const first = costDelta(undefined, before, 'azure', ROUND);
    expect(first.low).toBeCloseTo(estimateCost(before, 'azure', ROUND).total.low, 9);
    expect(formatCostDelta({ low: -3.5, high: -3.5, unpriced: 0 }, 'USD')).toBe('- $3.50/month');
  });
});
