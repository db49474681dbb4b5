/**
 * The AWS Price List Query API (`GetProducts`, served from us-east-1;
 * https://docs.aws.amazon.com/aws-cost-management/latest/APIReference/API_pricing_GetProducts.html)
 * through the official `@aws-sdk/client-pricing`, with the default credential chain (any identity
 * allowed `pricing:GetProducts`). Each `PriceList` entry is a JSON document (a string) holding a
 * `product` with `attributes` and its `terms`; the price is `terms.OnDemand.*.priceDimensions.*
 * .pricePerUnit.USD` (reserved terms are ignored).
 *
 * - `fargate:vcpu-hour` / `fargate:gb-hour`: `ServiceCode=AmazonECS`, `regionCode=<region>`, the
 *   product whose `usagetype` is `<prefix>-Fargate-vCPU-Hours:perCPU` / `<prefix>-Fargate-GB-Hours`
 *   (Linux/x86: the ARM and Windows usage types differ); `fargate-spot:` the `SpotUsage-Fargate-…`
 *   ones.
 * - `ec2:<type>`: `ServiceCode=AmazonEC2`, `instanceType`, `regionCode`, `operatingSystem=Linux`,
 *   `tenancy=Shared`, `preInstalledSw=NA`, `capacitystatus=Used`, `licenseModel=No License
 *   required`.
 * - `ec2-spot:<type>`: spot prices are not in the Price List (EC2 publishes them through
 *   `DescribeSpotPriceHistory`); reported as not found.
 */
import { GetProductsCommand, PricingClient, type Filter, type PricingClientConfig } from '@aws-sdk/client-pricing';
import { hoursPerUnit, networkCode, selectPrice, SkuSelectionError, type Candidate, type FetchedPrice, type RefreshRequest, type SkuProblem, type SourceOutcome } from './refresh';

const API = 'AWS Price List Query API';
const HOST = 'api.pricing.us-east-1.amazonaws.com';
/** Pages followed per query at most (100 products a page). */
const MAX_PAGES = 50;

/** One `PriceList` entry once parsed (the fields mlplane reads). */
interface PriceListProduct {
  readonly product?: { readonly sku?: string; readonly productFamily?: string; readonly attributes?: Readonly<Record<string, string>> };
  readonly terms?: { readonly OnDemand?: Readonly<Record<string, { readonly priceDimensions?: Readonly<Record<string, { readonly unit?: string; readonly description?: string; readonly pricePerUnit?: Readonly<Record<string, string>> }>> }>> };
}

/** Options: client configuration for a stand-in (`endpoint`, `credentials`). */
export interface AwsPricingOptions {
  readonly clientConfig?: PricingClientConfig;
}

/** Price the Fargate and EC2 SKUs of `request` from the AWS Price List Query API. */
export async function awsPrices(request: RefreshRequest, options: AwsPricingOptions = {}): Promise<SourceOutcome> {
  const client = new PricingClient({ region: 'us-east-1', maxAttempts: 2, ...options.clientConfig });
  const prices: Record<string, FetchedPrice> = {};
  const problems: SkuProblem[] = [];
  const cache = new Map<string, PriceListProduct[]>();
  const products = async (serviceCode: string, filters: Record<string, string>) => {
    const key = JSON.stringify([serviceCode, filters]);
    if (!cache.has(key)) cache.set(key, await getProducts(client, serviceCode, filters));
    return { query: `GetProducts ServiceCode=${serviceCode} ${Object.entries(filters).map(([f, v]) => `${f}=${v}`).join(' ')} (TERM_MATCH, FormatVersion aws_v1)`, list: cache.get(key)! };
  };
  try {
    for (const sku of request.skus) {
      try {
        const fargate = /^(fargate|fargate-spot):(vcpu-hour|gb-hour)$/.exec(sku);
        const ec2 = /^(ec2|ec2-spot):(.+)$/.exec(sku);
        if (fargate) {
          const { query, list } = await products('AmazonECS', { regionCode: request.region });
          const kind = fargate[2] === 'vcpu-hour' ? 'vCPU-Hours:perCPU' : 'GB-Hours';
          const usage = new RegExp(`^([A-Z0-9]+-)?${fargate[1] === 'fargate-spot' ? 'SpotUsage-' : ''}Fargate-${kind.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}$`);
          const c = pick(sku, list.filter((p) => usage.test(p.product?.attributes?.usagetype ?? '')), `${fargate[1] === 'fargate-spot' ? 'Fargate Spot' : 'Fargate'} ${kind} products in ${request.region}`);
          prices[sku] = { usd: c.usd, unit: fargate[2] as 'vcpu-hour' | 'gb-hour', query, matched: c.label };
        } else if (ec2 && ec2[1] === 'ec2') {
          const { query, list } = await products('AmazonEC2', { regionCode: request.region, instanceType: ec2[2]!, operatingSystem: 'Linux', tenancy: 'Shared', preInstalledSw: 'NA', capacitystatus: 'Used', licenseModel: 'No License required' });
          const c = pick(sku, list, `Linux on-demand ${ec2[2]} products in ${request.region}`);
          prices[sku] = { usd: c.usd, unit: 'hour', query, matched: c.label };
        } else if (ec2) {
          throw new SkuSelectionError(sku, 'not-found', 'EC2 spot prices are not in the AWS Price List (they vary; EC2 publishes them through DescribeSpotPriceHistory)');
        } else {
          throw new SkuSelectionError(sku, 'not-found', `not an AWS SKU key mlplane knows how to look up in the ${API}`);
        }
      } catch (e) {
        if (!(e instanceof SkuSelectionError)) throw e;
        problems.push({ sku, kind: e.kind, reason: e.message });
      }
    }
  } catch (e) {
    const endpoint = options.clientConfig?.endpoint;
    return { target: 'aws', api: API, prices: {}, problems: [], failure: failure(e, typeof endpoint === 'string' ? new URL(endpoint).host : HOST) };
  } finally {
    client.destroy();
  }
  return { target: 'aws', api: API, prices, problems };
}

async function getProducts(client: PricingClient, serviceCode: string, filters: Record<string, string>): Promise<PriceListProduct[]> {
  const Filters: Filter[] = Object.entries(filters).map(([Field, Value]) => ({ Type: 'TERM_MATCH', Field, Value }));
  const out: PriceListProduct[] = [];
  let NextToken: string | undefined;
  for (let page = 0; page === 0 || NextToken; page++) {
    if (page === MAX_PAGES) throw new Error(`more than ${MAX_PAGES} pages of ${serviceCode} products; narrow the filters`);
    const res = await client.send(new GetProductsCommand({ ServiceCode: serviceCode, Filters, FormatVersion: 'aws_v1', MaxResults: 100, NextToken }));
    // Documented as a list of JSON strings (the SDK may hand them over as String objects).
    for (const entry of (res.PriceList ?? []) as unknown[]) out.push((typeof entry === 'object' && entry !== null && !(entry instanceof String) ? entry : JSON.parse(String(entry))) as PriceListProduct);
    NextToken = res.NextToken;
  }
  return out;
}

/** The on-demand USD price per hour the products agree on. @throws SkuSelectionError */
function pick(sku: string, products: readonly PriceListProduct[], what: string): Candidate {
  const candidates: Candidate[] = [];
  for (const p of products) {
    for (const offer of Object.values(p.terms?.OnDemand ?? {})) {
      for (const d of Object.values(offer.priceDimensions ?? {})) {
        const usd = d.pricePerUnit?.USD;
        const hours = hoursPerUnit(d.unit ?? '');
        if (usd === undefined || hours === undefined) continue;
        candidates.push({ usd: Number(usd) / hours, label: `${p.product?.attributes?.usagetype ?? p.product?.sku} (${d.description ?? ''}, per ${d.unit})` });
      }
    }
  }
  return selectPrice(sku, candidates, what);
}

function failure(e: unknown, host: string): { reason: string; fix: string } {
  const name = (e as { name?: string }).name ?? '';
  const message = e instanceof Error ? e.message : String(e);
  if (name === 'CredentialsProviderError' || /could not load credentials/i.test(message)) {
    return { reason: 'no credentials', fix: 'set AWS credentials (AWS_PROFILE, AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY or SSO) for an identity allowed pricing:GetProducts' };
  }
  const code = networkCode(e);
  if (code) return { reason: `fetch failed (${code} ${host})`, fix: `run where ${host} is reachable` };
  return { reason: `${name ? `${name}: ` : ''}${message.split('\n')[0]!.slice(0, 300)}`, fix: 'check that the credentials may call pricing:GetProducts' };
}
