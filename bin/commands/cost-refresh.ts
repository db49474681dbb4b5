/**
 * `mlplane cost --refresh [--target t] [--stage s]` (issue 18): ask the public price lists for
 * every SKU the app's estimates need and write a refreshed snapshot to `.mlplane/prices.json`,
 * which later `mlplane cost`, `diff` and `deploy` runs price with. The shipped snapshot is never
 * written.
 *
 * The SKU keys are those `estimateCost` looks up for each environment model (`requiredSkus`),
 * plus the snapshot's own keys for the target, in the snapshot's region of the target. Each source
 * is asked independently; a source that cannot be reached, or has no credentials, is reported with
 * the SKUs left at the snapshot's price. Exit 0 when every requested target's source answered and
 * no SKU was ambiguous; 1 otherwise (what was refreshed is still written).
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { requiredSkus, skuUnit, type CostTarget, type PriceSnapshot } from '../../adapters/shared/cost';
import { mergeSnapshot, type RefreshRequest, type SourceOutcome } from '../../adapters/shared/prices/refresh';
import type { Args } from '../cli-args';
import { activeSnapshot, costModels, LOCAL_SNAPSHOT, snapshotText } from './cost';

/** Asks one target's price list. */
export type PriceSourceFn = (request: RefreshRequest) => Promise<SourceOutcome>;

/**
 * Environment variables pointing a source at a local stand-in (tests): loopback URLs only, so a
 * mistyped variable can never send a query elsewhere.
 */
export const SOURCE_ENDPOINT_ENV = { azure: 'MLPLANE_PRICES_AZURE_URL', gcp: 'MLPLANE_PRICES_GCP_ENDPOINT', aws: 'MLPLANE_PRICES_AWS_ENDPOINT' } as const;

/** The real sources, or loopback stand-ins named by `SOURCE_ENDPOINT_ENV`. */
export async function priceSources(env: NodeJS.ProcessEnv = process.env): Promise<Record<CostTarget, PriceSourceFn>> {
  const local = (target: CostTarget) => {
    const v = env[SOURCE_ENDPOINT_ENV[target]];
    if (v === undefined || v === '') return undefined;
    const m = /^http:\/\/(127\.0\.0\.1|localhost):(\d+)(\/.*)?$/.exec(v);
    if (!m) throw new Error(`${SOURCE_ENDPOINT_ENV[target]} must be http://127.0.0.1:<port>[/path] (a local stand-in), got '${v}'; unset it to ask the public price list`);
    return { url: v, host: m[1]!, port: Number(m[2]) };
  };
  const azure = local('azure');
  const gcp = local('gcp');
  const aws = local('aws');
  return {
    azure: async (r) => (await import('../../adapters/shared/prices/azure-retail')).azureRetailPrices(r, azure ? { url: azure.url } : {}),
    gcp: async (r) => {
      const { gcpCatalogPrices } = await import('../../adapters/shared/prices/gcp-catalog');
      if (!gcp) return gcpCatalogPrices(r);
      const { PassThroughClient } = await import('google-auth-library');
      return gcpCatalogPrices(r, { clientOptions: { apiEndpoint: gcp.host, port: gcp.port, protocol: 'http', fallback: 'rest', authClient: new PassThroughClient() as never } });
    },
    aws: async (r) => (await import('../../adapters/shared/prices/aws-pricing')).awsPrices(r, aws ? { clientConfig: { endpoint: aws.url } } : {}),
  };
}

/** The SKU keys each target needs: what the estimates look up, plus the snapshot's own keys. */
export function refreshRequests(models: Parameters<typeof requiredSkus>[0][], targets: readonly CostTarget[], base: PriceSnapshot): RefreshRequest[] {
  return targets.map((target) => ({
    target,
    region: base.targets[target].region,
    skus: [...new Set([...models.flatMap((m) => requiredSkus(m, target)), ...Object.keys(base.targets[target].prices)])].sort(),
  }));
}

/** The result of a refresh: the snapshot to write (undefined when nothing was refreshed), the report, the exit code. */
export interface RefreshResult {
  readonly snapshot?: PriceSnapshot;
  /** What each source answered (for `--json`). */
  readonly outcomes: readonly SourceOutcome[];
  readonly report: string;
  readonly errors: string;
  readonly code: number;
}

/** Ask every source, merge, and describe what happened. Pure apart from the sources. */
export async function refreshPrices(requests: readonly RefreshRequest[], base: PriceSnapshot, sources: Readonly<Record<CostTarget, PriceSourceFn>>, date: string): Promise<RefreshResult> {
  const outcomes = await Promise.all(
    requests.map(async (r): Promise<SourceOutcome> => {
      try {
        return await sources[r.target](r);
      } catch (e) {
        return { target: r.target, api: `${r.target} price list`, prices: {}, problems: [], failure: { reason: (e as Error).message.split('\n')[0]!, fix: 'set MLPLANE_DEBUG=1 for the stack' } };
      }
    }),
  );
  const report: string[] = [];
  const errors: string[] = [];
  for (const [i, o] of outcomes.entries()) {
    const r = requests[i]!;
    const kept = (skus: readonly string[]) => skus.map((s) => `${s} (${base.targets[r.target].prices[s] ? `$${base.targets[r.target].prices[s]!.usd}/${skuUnit(s)}` : 'unpriced'})`).join(', ');
    if (o.failure) {
      errors.push(`${r.target}: ${o.api}: ${o.failure.reason}; ${o.failure.fix}. Left at the ${base.date} snapshot's price: ${kept(r.skus) || 'none'}`);
      continue;
    }
    const got = Object.entries(o.prices);
    report.push(`${r.target} [${r.region}]: ${got.length} of ${r.skus.length} SKU(s) refreshed from the ${o.api}`);
    for (const [sku, p] of got) {
      const was = base.targets[r.target].prices[sku];
      report.push(`  ${sku}: $${p.usd}/${p.unit}${was ? ` (was $${was.usd})` : ' (new)'}`);
    }
    for (const p of o.problems.filter((x) => x.kind === 'not-found')) report.push(`  not refreshed, ${kept([p.sku])} kept: ${p.reason}`);
    for (const p of o.problems.filter((x) => x.kind === 'ambiguous')) errors.push(`${r.target}: ${p.sku} is ambiguous in the ${o.api}, ${kept([p.sku])} kept: ${p.reason}`);
  }
  const any = outcomes.some((o) => Object.keys(o.prices).length > 0);
  return {
    snapshot: any ? mergeSnapshot(base, outcomes, date) : undefined,
    outcomes,
    report: report.length > 0 ? `${report.join('\n')}\n` : '',
    errors: errors.length > 0 ? `${errors.join('\n')}\n` : '',
    code: errors.length > 0 ? 1 : 0,
  };
}

/** `mlplane cost --refresh`: refresh, write `.mlplane/prices.json`, report. */
export async function refreshCommand(args: Args, targets: readonly CostTarget[], out: NodeJS.WritableStream, err: NodeJS.WritableStream, dir = process.cwd()): Promise<number> {
  const base = activeSnapshot(dir);
  const models = await costModels(args);
  const requests = refreshRequests(models, targets, base.snapshot);
  const result = await refreshPrices(requests, base.snapshot, await priceSources(), new Date().toISOString().slice(0, 10));
  if (result.snapshot) {
    const file = path.join(dir, LOCAL_SNAPSHOT);
    fs.mkdirSync(path.dirname(file), { recursive: true });
    fs.writeFileSync(file, `${JSON.stringify(result.snapshot, null, 2)}\n`);
  }
  if (args.flags.json) {
    const targetsJson = result.outcomes.map((o) => ({ target: o.target, api: o.api, region: requests.find((r) => r.target === o.target)?.region, refreshed: o.prices, problems: o.problems, ...(o.failure ? { failure: o.failure } : {}) }));
    out.write(`${JSON.stringify({ from: { file: base.file, date: base.snapshot.date }, written: result.snapshot ? { file: LOCAL_SNAPSHOT, date: result.snapshot.date } : null, targets: targetsJson }, null, 2)}\n`);
    if (result.errors) err.write(`mlplane cost --refresh: not everything was refreshed:\n${result.errors}`);
    return result.code;
  }
  out.write(`Refreshing ${targets.join(', ')} from the ${snapshotText(base)}\n${result.report}`);
  if (result.snapshot) {
    out.write(`wrote ${LOCAL_SNAPSHOT} (snapshot of ${result.snapshot.date}); mlplane cost, diff and deploy use it from now on (delete it to use the shipped snapshot)\n`);
  } else {
    out.write(`nothing refreshed; ${LOCAL_SNAPSHOT} not written\n`);
  }
  if (result.errors) err.write(`mlplane cost --refresh: not everything was refreshed:\n${result.errors}`);
  return result.code;
}
