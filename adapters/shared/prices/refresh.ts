/**
 * `mlplane cost --refresh` (issue 18): what the three price sources have in common — the result of
 * asking one source, the explicit price-selection rule, unit normalisation, and the merge of the
 * answers into a refreshed snapshot. The sources themselves are `azure-retail.ts` (Azure Retail
 * Prices API), `gcp-catalog.ts` (Cloud Billing Catalog API) and `aws-pricing.ts` (AWS Price List
 * Query API); they are the only code that talks to a price list.
 *
 * Selection rule, the same for every source: the public list price in USD, pay-as-you-go /
 * on-demand, Linux, no discount programme (no reservations, savings plans, committed use), spot /
 * low priority only when the SKU key asks for it (`vm-lowpriority:`, `training-spot:`,
 * `fargate-spot:`). Every candidate the source returns is filtered by that rule; when the survivors
 * carry more than one distinct price the SKU is **ambiguous** (an error naming the candidates),
 * when none survive it is **not found** (reported, left at the snapshot's price). Never a guess.
 */
import type { CostTarget, Price, PriceSnapshot } from '../cost';

/** One price a source found: the amount in the snapshot's unit, and the query that found it. */
export interface FetchedPrice {
  readonly usd: number;
  readonly unit: Price['unit'];
  /** The request that returned it (URL, or operation and parameters), for the snapshot's `sources`. */
  readonly query: string;
  /** What was matched, in words (the catalogue entries and the arithmetic). */
  readonly matched: string;
}

/** Why one SKU was not refreshed: `ambiguous` is an error, `not-found` is reported. */
export interface SkuProblem {
  readonly sku: string;
  readonly kind: 'ambiguous' | 'not-found';
  readonly reason: string;
}

/** What one source answered for one target. */
export interface SourceOutcome {
  readonly target: CostTarget;
  /** The API, as printed (`Azure Retail Prices API`). */
  readonly api: string;
  readonly prices: Readonly<Record<string, FetchedPrice>>;
  readonly problems: readonly SkuProblem[];
  /** The source could not be asked at all (network, credentials): every SKU stays as it was. */
  readonly failure?: { readonly reason: string; readonly fix: string };
}

/** Thrown inside a source for one SKU; the source turns it into a `SkuProblem`. */
export class SkuSelectionError extends Error {
  constructor(
    readonly sku: string,
    readonly kind: SkuProblem['kind'],
    message: string,
  ) {
    super(message);
    this.name = 'SkuSelectionError';
  }
}

/** A candidate price of a SKU, after the source's filters: its amount per snapshot unit and a label. */
export interface Candidate {
  readonly usd: number;
  readonly label: string;
}

/**
 * The one price the candidates agree on.
 * @throws SkuSelectionError `not-found` when there is none, `ambiguous` (naming every candidate)
 * when they carry different prices.
 */
export function selectPrice(sku: string, candidates: readonly Candidate[], what: string): Candidate {
  if (candidates.length === 0) throw new SkuSelectionError(sku, 'not-found', `no ${what} matched`);
  const distinct = [...new Set(candidates.map((c) => round(c.usd)))];
  if (distinct.length > 1) {
    const list = candidates.map((c) => `${c.label} = $${round(c.usd)}`).join('; ');
    throw new SkuSelectionError(sku, 'ambiguous', `${candidates.length} ${what} with ${distinct.length} different prices: ${list}; mlplane does not guess — price it by hand in .mlplane/prices.json or report the SKU`);
  }
  return candidates[0]!;
}

/** Prices carry at most 10 significant decimals (GCP nanos, Azure and AWS decimal strings). */
const round = (n: number) => Number(n.toPrecision(12));

/**
 * Hours per unit of a source's time unit: Azure `1 Hour`, `1/Hour`, `100 Hours`; AWS `Hrs`,
 * `Hours`; GCP `h`. Undefined when the unit is not a time unit (the SKU is then not found).
 */
export function hoursPerUnit(unit: string): number | undefined {
  const u = unit.trim();
  if (/^(h|hrs?|hours?)$/i.test(u)) return 1;
  const m = /^(\d+)\s*\/?\s*(hrs?|hours?)$/i.exec(u);
  return m ? Number(m[1]) : undefined;
}

/** One target the refresh asks for: its region (the snapshot's) and the SKU keys to price. */
export interface RefreshRequest {
  readonly target: CostTarget;
  readonly region: string;
  readonly skus: readonly string[];
}

/**
 * The snapshot `base` with every price the sources found replaced, dated `date`. A price's
 * `source` names a new `sources` entry: the API and the exact query. Prices not refreshed keep
 * their value and source; sources no price refers to any more are dropped.
 */
export function mergeSnapshot(base: PriceSnapshot, outcomes: readonly SourceOutcome[], date: string): PriceSnapshot {
  const sources: Record<string, { url: string; title: string }> = { ...base.sources };
  const targets = { ...base.targets } as Record<CostTarget, { region: string; prices: Record<string, Price> }>;
  for (const o of outcomes) {
    const t = { region: base.targets[o.target].region, prices: { ...base.targets[o.target].prices } };
    for (const [sku, p] of Object.entries(o.prices)) {
      const key = `${o.target}-api:${sku}`;
      sources[key] = { url: p.query, title: `${o.api}, retrieved ${date}: ${p.matched}` };
      t.prices[sku] = { usd: p.usd, unit: p.unit, source: key };
    }
    targets[o.target] = { region: t.region, prices: sortKeys(t.prices) };
  }
  const used = new Set(Object.values(targets).flatMap((t) => Object.values(t.prices).map((p) => p.source)));
  const refreshed = outcomes.filter((o) => Object.keys(o.prices).length > 0).map((o) => `${o.target} (${o.api})`);
  return {
    date,
    currency: base.currency,
    note: `Refreshed by mlplane cost --refresh on ${date} for ${refreshed.join(', ')}, from the snapshot of ${base.date}: list prices (pay-as-you-go / on-demand, Linux, USD, spot or low priority only where the SKU key says so). A price whose source is not an API query was kept from the snapshot of ${base.date}.`,
    sources: sortKeys(Object.fromEntries(Object.entries(sources).filter(([k]) => used.has(k)))),
    targets,
  };
}

function sortKeys<T>(o: Record<string, T>): Record<string, T> {
  return Object.fromEntries(Object.entries(o).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
}

/** The network error code of a failed call (`ENOTFOUND`, `ECONNREFUSED`), looking through `cause`. */
export function networkCode(error: unknown): string | undefined {
  for (let e: unknown = error, i = 0; e && typeof e === 'object' && i < 5; e = (e as { cause?: unknown }).cause, i++) {
    const code = (e as { code?: unknown }).code;
    if (typeof code === 'string' && /^E[A-Z]+$/.test(code)) return code;
    const errors = (e as { errors?: unknown }).errors;
    if (Array.isArray(errors) && errors.length > 0) return networkCode(errors[0]);
  }
  return undefined;
}
