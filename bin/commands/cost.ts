import * as fs from 'node:fs';
import * as path from 'node:path';
import prices from '../../adapters/shared/prices.json' with { type: 'json' };
import { COST_TARGETS, estimateCost, type CostEstimate, type CostTarget, type PriceSnapshot } from '../../adapters/shared/cost';
import { UsageError, checkedTargets, resolveContext, sourceApp, type Args } from '../cli-args';
import { costChartSvg } from './cost-chart';
import { table } from './table';

const FORMATS = ['table', 'svg', 'png'] as const;

/**
 * The price snapshot shipped in the package (a copy: callers may change it). Imported, not read
 * from disk, so the compiled package carries it (tsc copies an imported JSON file into dist/).
 */
export function loadSnapshot(): PriceSnapshot {
  return structuredClone(prices) as PriceSnapshot;
}

/** Where `mlplane cost --refresh` writes the refreshed snapshot, relative to the project. */
export const LOCAL_SNAPSHOT = path.join('.mlplane', 'prices.json');
/** The shipped snapshot, as printed. */
export const SHIPPED_SNAPSHOT = 'adapters/shared/prices.json, shipped';

/** A snapshot and where it came from. */
export interface ActiveSnapshot {
  readonly snapshot: PriceSnapshot;
  /** `.mlplane/prices.json`, or the shipped file. */
  readonly file: string;
  readonly refreshed: boolean;
}

/**
 * The snapshot `mlplane cost`, `diff` and `deploy` price with: the project's refreshed one
 * (`.mlplane/prices.json`, written by `mlplane cost --refresh`) when there is one, else the shipped one.
 * @throws Error when the project's file is not a snapshot (names the file and the fix).
 */
export function activeSnapshot(dir = process.cwd()): ActiveSnapshot {
  const file = path.join(dir, LOCAL_SNAPSHOT);
  if (!fs.existsSync(file)) return { snapshot: loadSnapshot(), file: SHIPPED_SNAPSHOT, refreshed: false };
  let s: PriceSnapshot;
  try {
    s = JSON.parse(fs.readFileSync(file, 'utf8')) as PriceSnapshot;
  } catch (e) {
    throw new Error(`${LOCAL_SNAPSHOT} is not JSON (${(e as Error).message}); delete it to use the shipped snapshot, or run mlplane cost --refresh again`);
  }
  const ok = typeof s?.date === 'string' && typeof s.currency === 'string' && typeof s.sources === 'object' && COST_TARGETS.every((t) => typeof s.targets?.[t]?.prices === 'object');
  if (!ok) throw new Error(`${LOCAL_SNAPSHOT} is not a price snapshot (date, currency, sources, targets.{azure,gcp,aws}.prices); delete it to use the shipped snapshot, or run mlplane cost --refresh again`);
  return { snapshot: s, file: LOCAL_SNAPSHOT, refreshed: true };
}

/** `snapshot of 2026-12-04 (.mlplane/prices.json)`. */
export const snapshotText = (a: ActiveSnapshot) => `snapshot of ${a.snapshot.date} (${a.file})`;

/**
 * `mlplane cost`: estimated monthly cost of each environment per target, from the active price
 * snapshot (`activeSnapshot`: the project's refreshed one, else the shipped one); a table, or with `--format svg` one bar chart per environment (`<out>/<env>.cost.svg`,
 * `--out` defaulting to cdk.out/graph, beside `mlplane graph`'s pictures); `--format png` also
 * writes each chart rasterised to `<env>.cost.png`. `--refresh` updates the prices instead
 * (`cost-refresh.ts`).
 */
export async function run(args: Args, out: NodeJS.WritableStream, err: NodeJS.WritableStream): Promise<number> {
  const format = typeof args.flags.format === 'string' ? args.flags.format : 'table';
  if (!(FORMATS as readonly string[]).includes(format)) throw new UsageError(`--format '${format}' is not allowed with cost; use ${FORMATS.join(', ')}`);
  const targets = costTargets(args.flags.target);
  if (args.flags.refresh === true) {
    const { refreshCommand } = await import('./cost-refresh');
    return refreshCommand(args, targets, out, err);
  }
  const active = activeSnapshot();
  const snapshot = active.snapshot;
  const models = await costModels(args);
  const estimates = models.flatMap((m) => targets.map((t) => ({ environment: m.environment.name, stage: m.environment.stage, ...estimateCost(m, t, snapshot) })));
  if (format === 'svg' || format === 'png') {
    const dir = path.resolve(typeof args.flags.out === 'string' ? args.flags.out : path.join('cdk.out', 'graph'));
    fs.mkdirSync(dir, { recursive: true });
    const { svgToPng } = format === 'png' ? await import('./png') : { svgToPng: undefined };
    const files: string[] = [];
    for (const m of models) {
      const file = path.join(dir, `${m.environment.name}.cost.svg`);
      const svg = costChartSvg(m.environment.name, m.environment.stage, estimates.filter((e) => e.environment === m.environment.name), snapshot);
      fs.writeFileSync(file, svg);
      files.push(path.relative(process.cwd(), file));
      if (svgToPng) {
        const png = file.replace(/\.svg$/, '.png');
        fs.writeFileSync(png, await svgToPng(svg));
        files.push(path.relative(process.cwd(), png));
      }
    }
    err.write(`prices: ${snapshotText(active)}\n`);
    out.write(args.flags.json ? `${JSON.stringify({ files }, null, 2)}\n` : `${files.join('\n')}\n`);
    return 0;
  }
  if (args.flags.json) {
    out.write(`${JSON.stringify({ snapshot: { date: snapshot.date, file: active.file, currency: snapshot.currency, sources: snapshot.sources }, estimates }, null, 2)}\n`);
    return 0;
  }
  out.write(render(estimates, snapshot, active.file));
  return 0;
}

/** The environment models `mlplane cost` prices (those of `--stage` when given). */
export async function costModels(args: Args) {
  const stage = typeof args.flags.stage === 'string' ? args.flags.stage : undefined;
  const { defineApp } = await import('../build');
  const { ValidationErrors, renderEnvironment } = await import('../../lib');
  const { envs, problems } = await defineApp({ context: resolveContext(args), app: sourceApp(args) });
  if (problems.length > 0) throw new ValidationErrors(problems);
  const models = envs.map((e) => renderEnvironment(e)).filter((m) => stage === undefined || m.environment.stage === stage);
  if (stage !== undefined && models.length === 0) throw new UsageError(`--stage '${stage}' matches no environment; stages: ${[...new Set(envs.map((e) => renderEnvironment(e).environment.stage))].join(', ')}`);
  return models;
}

export function costTargets(flag: unknown): readonly CostTarget[] {
  if (flag === undefined || flag === 'all') return COST_TARGETS;
  const given = checkedTargets(String(flag)).split(',').map((t) => t.trim());
  const bad = given.filter((t) => !(COST_TARGETS as readonly string[]).includes(t));
  if (bad.length > 0) throw new UsageError(`--target '${bad.join(',')}' is not allowed with cost; use ${COST_TARGETS.join(', ')} (comma-separated) or all`);
  return given as CostTarget[];
}

const money = (n: number, currency: string) => `${currency === 'USD' ? '$' : `${currency} `}${n.toFixed(2)}`;
/** `$12.00`, or `$12.00–$30.00` for a range. */
export const range = (lo: number, hi: number, c: string) => (Math.abs(hi - lo) < 0.005 ? money(lo, c) : `${money(lo, c)}–${money(hi, c)}`);

/** The estimates as tables: one per environment and target, then the unpriced items and the sources. */
export function render(estimates: ReadonlyArray<CostEstimate & { environment: string; stage: string }>, snapshot: PriceSnapshot, file = SHIPPED_SNAPSHOT): string {
  const c = snapshot.currency;
  const parts = [`Prices: snapshot of ${snapshot.date} (${c}, list prices) from ${file}; sources at the end. Amounts are per month.\n`];
  for (const e of estimates) {
    parts.push(`\n${e.environment} (${e.stage}) on ${e.target} [${e.region}]: ${range(e.total.low, e.total.high, c)}/month priced${e.unpriced.length > 0 ? `, ${e.unpriced.length} item(s) unpriced` : ''}\n`);
    if (e.lines.length > 0) parts.push(table(['resource', 'component', 'sku', 'basis', 'monthly'], e.lines.map((l) => [l.resource, l.component, l.sku, l.basis, range(l.low, l.high, c)])));
    if (e.unpriced.length > 0) parts.push(table(['unpriced', 'component', 'sku', 'why'], e.unpriced.map((u) => [u.resource, u.component, u.sku, u.reason])));
  }
  parts.push(`\nSources (snapshot ${snapshot.date}):\n${Object.entries(snapshot.sources).map(([k, s]) => `  ${k}: ${s.url}\n    ${s.title}`).join('\n')}\n`);
  return parts.join('');
}
