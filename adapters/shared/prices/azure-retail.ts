/**
 * The Azure Retail Prices API (`GET https://prices.azure.com/api/retail/prices`: public, no
 * authentication, OData `$filter`, pages linked by `NextPageLink`;
 * https://learn.microsoft.com/rest/api/cost-management/retail-prices/azure-retail-prices).
 *
 * A small `fetch` client on purpose: no Azure SDK package covers this API (the `@azure/arm-*`
 * management clients need a subscription and credentials, and none has the retail price list).
 *
 * Query per VM size: `serviceName eq 'Virtual Machines' and armRegionName eq '<region>' and
 * armSkuName eq '<size>' and priceType eq 'Consumption'` (pay-as-you-go; reservations, savings
 * plans and DevTest are other price types). Of the items, USD ones in an hourly unit are kept;
 * Windows (`productName` mentions Windows) is dropped; `vm:` keeps the items whose `skuName` says
 * neither Spot nor Low Priority, `vm-lowpriority:` only the `Low Priority` ones (Azure ML bills a
 * low-priority node at that meter). Azure ML adds no surcharge to the VM price.
 */
import { hoursPerUnit, networkCode, selectPrice, SkuSelectionError, type FetchedPrice, type RefreshRequest, type SkuProblem, type SourceOutcome } from './refresh';

/** The public endpoint. */
export const AZURE_RETAIL_PRICES_URL = 'https://prices.azure.com/api/retail/prices';
const API = 'Azure Retail Prices API';
/** Pages followed per query at most (the API pages by 1,000 items; a VM size has a few dozen). */
const MAX_PAGES = 20;

/** One item of the documented response (the fields mlplane reads). */
export interface RetailPriceItem {
  readonly currencyCode: string;
  readonly retailPrice: number;
  readonly unitPrice?: number;
  readonly armRegionName: string;
  readonly armSkuName: string;
  readonly skuName: string;
  readonly meterName: string;
  readonly productName: string;
  readonly serviceName: string;
  readonly unitOfMeasure: string;
  readonly type: string;
}

/** The documented response page. */
export interface RetailPricesPage {
  readonly BillingCurrency?: string;
  readonly Items: readonly RetailPriceItem[];
  readonly NextPageLink: string | null;
  readonly Count?: number;
}

/** Options (tests point `url` at a loopback stand-in). */
export interface AzureRetailOptions {
  /** @default AZURE_RETAIL_PRICES_URL */
  readonly url?: string;
  /** @default globalThis.fetch */
  readonly fetch?: typeof fetch;
}

/** Price the `vm:` and `vm-lowpriority:` SKUs of `request` from the Azure Retail Prices API. */
export async function azureRetailPrices(request: RefreshRequest, options: AzureRetailOptions = {}): Promise<SourceOutcome> {
  const base = options.url ?? AZURE_RETAIL_PRICES_URL;
  const doFetch = options.fetch ?? globalThis.fetch;
  const prices: Record<string, FetchedPrice> = {};
  const problems: SkuProblem[] = [];
  const bySize = new Map<string, string[]>();
  for (const sku of request.skus) {
    const m = /^(vm|vm-lowpriority):(.+)$/.exec(sku);
    if (!m) problems.push({ sku, kind: 'not-found', reason: `not a VM SKU; the ${API} is asked only for vm: and vm-lowpriority: keys` });
    else bySize.set(m[2]!, [...(bySize.get(m[2]!) ?? []), sku]);
  }
  for (const [size, skus] of bySize) {
    const filter = `serviceName eq 'Virtual Machines' and armRegionName eq '${odata(request.region)}' and armSkuName eq '${odata(size)}' and priceType eq 'Consumption'`;
    const query = `${base}?$filter=${encodeURIComponent(filter)}`;
    let items: RetailPriceItem[];
    try {
      items = await allPages(query, doFetch);
    } catch (e) {
      const host = new URL(base).host;
      const code = networkCode(e);
      return {
        target: 'azure',
        api: API,
        prices: {},
        problems: [],
        failure: {
          reason: code ? `fetch failed (${code} ${host})` : `${(e as Error).message}`,
          fix: `run where ${host} is reachable (HTTPS, no credentials needed)`,
        },
      };
    }
    for (const sku of skus) {
      const lowPriority = sku.startsWith('vm-lowpriority:');
      const kept = items.filter(
        (i) =>
          i.currencyCode === 'USD' &&
          i.type === 'Consumption' &&
          i.armSkuName === size &&
          i.armRegionName === request.region &&
          !/windows/i.test(i.productName) &&
          hoursPerUnit(i.unitOfMeasure) !== undefined &&
          (lowPriority ? /low priority/i.test(i.skuName) : !/\b(spot|low priority)\b/i.test(i.skuName)),
      );
      try {
        const c = selectPrice(sku, kept.map((i) => ({ usd: i.retailPrice / hoursPerUnit(i.unitOfMeasure)!, label: `${i.productName} / ${i.skuName} (${i.unitOfMeasure})` })), `Linux ${lowPriority ? 'low-priority' : 'pay-as-you-go'} items for ${size} in ${request.region}`);
        prices[sku] = { usd: c.usd, unit: 'hour', query, matched: c.label };
      } catch (e) {
        if (!(e instanceof SkuSelectionError)) throw e;
        problems.push({ sku, kind: e.kind, reason: e.message });
      }
    }
  }
  return { target: 'azure', api: API, prices, problems };
}

/** Every item of a query, following `NextPageLink`. */
async function allPages(first: string, doFetch: typeof fetch): Promise<RetailPriceItem[]> {
  const items: RetailPriceItem[] = [];
  let next: string | null = first;
  for (let page = 0; next; page++) {
    if (page === MAX_PAGES) throw new Error(`more than ${MAX_PAGES} pages for ${first}; narrow the query`);
    const res = await doFetch(next, { headers: { accept: 'application/json' } });
    if (!res.ok) throw new Error(`HTTP ${res.status} from ${new URL(next).host}: ${(await res.text()).slice(0, 300)}`);
    const body = (await res.json()) as RetailPricesPage;
    if (!Array.isArray(body.Items)) throw new Error(`unexpected answer from ${new URL(next).host}: no Items array`);
    items.push(...body.Items);
    next = body.NextPageLink;
  }
  return items;
}

/** An OData string literal's content: quotes doubled. */
const odata = (s: string) => s.replace(/'/g, "''");
