/**
 * The Cloud Billing Catalog API (`cloudbilling.googleapis.com/v1`, `services.list` and
 * `services.skus.list`; https://cloud.google.com/billing/docs/how-to/get-pricing-information-api)
 * through the official `@google-cloud/billing` `CloudCatalogClient` over REST, with Application
 * Default Credentials.
 *
 * The Vertex AI service is found by its display name in `services.list`; its SKUs are listed once
 * (`currencyCode=USD`, every page) and kept when `serviceRegions` holds the snapshot's region.
 * The catalogue prices Vertex machines per vCPU-hour and per GiB-hour of a machine family, so:
 *
 * - `training:<machine>` / `training-spot:<machine>` / `prediction:<machine>`: vCPUs × the
 *   family's core rate + GiB × its RAM rate (vCPUs and GiB from `machineShape`), the rates being the
 *   SKUs whose description names the use (training: `Training`; prediction: `Prediction`), the
 *   family (`N1`), `Core` / `RAM`, and Spot/Preemptible exactly when the key says spot.
 * - `<use>-accelerator:<TYPE>`: the GPU SKU of that use naming the accelerator (`NVIDIA_TESLA_T4` →
 *   `T4`, `NVIDIA_H100_80GB` → `H100` and `80GB`; without a memory size, SKUs naming one are not
 *   candidates).
 * - `pipeline-run`: the Vertex AI Pipelines per-run SKU; `feature-online-store:optimized-node`: the
 *   Feature Store optimized online serving node SKU.
 *
 * Each rate is the SKU's first non-zero tier (a free allowance comes first), in its `usageUnit`
 * (`h`, `GiBy.h`, `count`); any other unit is not a candidate.
 */
import { CloudCatalogClient } from '@google-cloud/billing';
import type { ClientOptions } from 'google-gax';
import { machineShape } from '../../gcp/machines';
import { networkCode, selectPrice, SkuSelectionError, type Candidate, type FetchedPrice, type RefreshRequest, type SkuProblem, type SourceOutcome } from './refresh';

const API = 'Cloud Billing Catalog API';
const SERVICE = 'Vertex AI';
const HOST = 'cloudbilling.googleapis.com';

/** A catalogue SKU as the client returns it (the fields mlplane reads). */
interface CatalogSku {
  readonly name?: string | null;
  readonly description?: string | null;
  readonly serviceRegions?: readonly string[] | null;
  readonly pricingInfo?: ReadonlyArray<{
    readonly pricingExpression?: {
      readonly usageUnit?: string | null;
      readonly tieredRates?: ReadonlyArray<{ readonly startUsageAmount?: number | null; readonly unitPrice?: { readonly currencyCode?: string | null; readonly units?: number | string | Long | null; readonly nanos?: number | null } | null }> | null;
    } | null;
  }> | null;
}
type Long = { toNumber(): number };

/** Options: client options for a stand-in (`apiEndpoint`, `port`, `protocol`, `authClient`). */
export interface GcpCatalogOptions {
  readonly clientOptions?: ClientOptions;
}

/** Price the Vertex AI SKUs of `request` from the Cloud Billing Catalog API. */
export async function gcpCatalogPrices(request: RefreshRequest, options: GcpCatalogOptions = {}): Promise<SourceOutcome> {
  const client = new CloudCatalogClient({ fallback: 'rest', ...options.clientOptions });
  let service: string;
  let skus: CatalogSku[];
  try {
    // Create the stub here, so a credentials failure is this call's rejection (not an unhandled one).
    await client.initialize();
    const found: string[] = [];
    // The async iterators page on demand (every page is read); autoPaginate does not apply to them.
    for await (const s of client.listServicesAsync({}, { autoPaginate: false })) if (s.displayName === SERVICE && s.name) found.push(s.name);
    if (found.length !== 1) throw new Error(`services.list has ${found.length} services named '${SERVICE}'`);
    service = found[0]!;
    skus = [];
    for await (const s of client.listSkusAsync({ parent: service, currencyCode: 'USD' }, { autoPaginate: false })) skus.push(s as CatalogSku);
  } catch (e) {
    const o = options.clientOptions;
    return { target: 'gcp', api: API, prices: {}, problems: [], failure: failure(e, o?.apiEndpoint ? `${o.apiEndpoint}${o.port ? `:${o.port}` : ''}` : HOST) };
  } finally {
    await client.close().catch(() => undefined);
  }
  const query = `https://${HOST}/v1/${service}/skus?currencyCode=USD (every page; serviceRegions ∋ ${request.region})`;
  const inRegion = skus.filter((s) => (s.serviceRegions ?? []).includes(request.region));
  const prices: Record<string, FetchedPrice> = {};
  const problems: SkuProblem[] = [];
  for (const sku of request.skus) {
    try {
      const found = priceOf(sku, inRegion, request.region);
      prices[sku] = { ...found, query };
    } catch (e) {
      if (!(e instanceof SkuSelectionError)) throw e;
      problems.push({ sku, kind: e.kind, reason: e.message });
    }
  }
  return { target: 'gcp', api: API, prices, problems };
}

/** The refreshed price of one SKU key. @throws SkuSelectionError */
function priceOf(sku: string, skus: readonly CatalogSku[], region: string): Omit<FetchedPrice, 'query'> {
  const rate = (what: string, unit: string, match: (d: string) => boolean): Candidate =>
    selectPrice(sku, skus.flatMap((s) => (match(s.description ?? '') ? candidate(s, unit) : [])), `${what} SKUs in ${region}`);
  if (sku === 'pipeline-run') {
    const c = rate('Vertex AI Pipelines per-run', 'count', (d) => /\bpipelines?\b/i.test(d) && /\bruns?\b/i.test(d));
    return { usd: c.usd, unit: 'run', matched: c.label };
  }
  if (sku === 'feature-online-store:optimized-node') {
    const c = rate('Feature Store optimized node', 'h', (d) => /feature store/i.test(d) && /optimized/i.test(d) && /\bnodes?\b/i.test(d));
    return { usd: c.usd, unit: 'node-hour', matched: c.label };
  }
  const m = /^(training|training-spot|prediction)(-accelerator)?:(.+)$/.exec(sku);
  if (!m) throw new SkuSelectionError(sku, 'not-found', `not a Vertex AI SKU key mlplane knows how to look up in the ${API}`);
  const [, kind, accelerator, name] = m as unknown as [string, string, string | undefined, string];
  const spot = kind === 'training-spot';
  const use = (d: string) => (kind === 'prediction' ? /\bprediction\b/i.test(d) : /\btraining\b/i.test(d) && !/\bprediction\b/i.test(d)) && /\b(spot|preemptible)\b/i.test(d) === spot;
  if (accelerator) {
    const tokens = name.split('_').filter((t) => !/^(NVIDIA|TESLA)$/.test(t));
    const sized = tokens.some((t) => /^\d+GB$/.test(t));
    const c = rate(`${kind} GPU ${tokens.join(' ')}`, 'h', (d) => use(d) && /\bGPU\b/i.test(d) && tokens.every((t) => word(t).test(d)) && (sized || !/\b\d+\s?GB\b/i.test(d)));
    return { usd: c.usd, unit: 'hour', matched: c.label };
  }
  const shape = machineShape(name);
  if (!shape) throw new SkuSelectionError(sku, 'not-found', `machine type ${name} has no known vCPU/GiB shape to price from per-vCPU and per-GiB rates`);
  const family = name.split('-')[0]!.toUpperCase();
  const core = rate(`${kind} ${family} core`, 'h', (d) => use(d) && word(family).test(d) && /\b(core|cpu)\b/i.test(d));
  const ram = rate(`${kind} ${family} RAM`, 'GiBy.h', (d) => use(d) && word(family).test(d) && /\b(ram|memory)\b/i.test(d));
  return {
    usd: shape.vcpus * core.usd + shape.gib * ram.usd,
    unit: 'hour',
    matched: `${shape.vcpus} vCPU × ${core.label} + ${shape.gib} GiB × ${ram.label}`,
  };
}

/** A SKU's rate in `unit` (its first non-zero tier), or nothing when it is in another unit or not USD. */
function candidate(s: CatalogSku, unit: string): Candidate[] {
  const expr = s.pricingInfo?.[0]?.pricingExpression;
  if (!expr || expr.usageUnit !== unit) return [];
  const tiers = [...(expr.tieredRates ?? [])].sort((a, b) => (a.startUsageAmount ?? 0) - (b.startUsageAmount ?? 0));
  const paid = tiers.map((t) => t.unitPrice).find((p) => p && p.currencyCode === 'USD' && money(p) > 0);
  return paid ? [{ usd: money(paid), label: `${s.description} (${s.name}, $${money(paid)}/${unit})` }] : [];
}

const money = (p: { units?: number | string | Long | null; nanos?: number | null }) => num(p.units) + (p.nanos ?? 0) / 1e9;
const num = (u: number | string | Long | null | undefined) => (u === null || u === undefined ? 0 : typeof u === 'object' ? u.toNumber() : Number(u));
const word = (t: string) => new RegExp(`(^|[^A-Za-z0-9])${t}([^A-Za-z0-9]|$)`, 'i');

function failure(e: unknown, host: string): { reason: string; fix: string } {
  let message = e instanceof Error ? e.message : String(e);
  // Over REST the client puts the google.rpc.Status JSON in the message.
  try {
    const status = (JSON.parse(message) as { error?: { code?: number; status?: string; message?: string } }).error;
    if (status?.message) message = `${status.code ?? ''} ${status.status ?? ''} ${status.message}`.trim();
  } catch {
    // not JSON: keep it
  }
  if (/default credentials|could not load the default|unable to detect a project|metadata/i.test(message)) {
    return { reason: 'no credentials (Application Default Credentials not found)', fix: 'run `gcloud auth application-default login` or set GOOGLE_APPLICATION_CREDENTIALS; the Cloud Billing API must be enabled on the credentials’ project' };
  }
  const code = networkCode(e);
  if (code) return { reason: `fetch failed (${code} ${host})`, fix: `run where ${host} is reachable` };
  return { reason: message.split('\n')[0]!.slice(0, 300), fix: 'check that the Cloud Billing API is enabled and the credentials may call it' };
}
