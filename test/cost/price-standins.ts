/**
 * Loopback stand-ins for the three public price lists `mlplane cost --refresh` asks, following
 * their documented request and response shapes:
 *
 * - Azure Retail Prices API: `GET /api/retail/prices?$filter=<OData>`; the filter is parsed
 *   (`<field> eq '<value>'` clauses joined by `and`, anything else is a 400 as the real API answers),
 *   `priceType` filters the items' `type`; pages of `pageSize` items linked by `NextPageLink`
 *   (`…&$skip=N`); body `{ BillingCurrency, CustomerEntityId, CustomerEntityType, Items, NextPageLink, Count }`.
 * - Cloud Billing Catalog API v1 (REST, as `@google-cloud/billing` sends it with `fallback: 'rest'`):
 *   `GET /v1/services` and `GET /v1/services/{id}/skus`, paged with `pageToken` / `nextPageToken`.
 *   Every response is checked against the `google.cloud.billing.v1` messages of the proto
 *   descriptor that ships with `@google-cloud/billing` (no cloudbilling discovery document is in
 *   ../shared/conformance/gcp).
 * - AWS Price List Query API (awsJson1_1): `POST /` with `X-Amz-Target:
 *   AWSPriceListService.GetProducts`, body `{ ServiceCode, Filters: [{ Type: 'TERM_MATCH', Field,
 *   Value }], FormatVersion, MaxResults, NextToken }`; answer `{ FormatVersion, PriceList: [<JSON
 *   string>], NextToken }`. Filters are applied to `product.attributes` (and `productFamily`).
 */
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import { createRequire } from 'node:module';
import protobuf from 'protobufjs';

/** A running stand-in: its base URL, the requests it saw, and a stop function. */
export interface StandIn {
  readonly url: string;
  readonly port: number;
  readonly requests: string[];
  close(): Promise<void>;
}

async function listen(handler: (req: http.IncomingMessage, body: string, base: string) => { status: number; body: unknown; type?: string }, requests: string[]): Promise<StandIn> {
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks).toString();
      requests.push(`${req.method} ${req.url}${body ? ` ${body}` : ''}`);
      const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
      let answer: { status: number; body: unknown; type?: string };
      try {
        answer = handler(req, body, base);
      } catch (e) {
        answer = { status: 500, body: { error: { message: (e as Error).message } } };
      }
      res.writeHead(answer.status, { 'content-type': answer.type ?? 'application/json' });
      res.end(JSON.stringify(answer.body));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  return { url: `http://127.0.0.1:${port}`, port, requests, close: () => new Promise<void>((r) => server.close(() => r())) };
}

// ---------------------------------------------------------------- Azure Retail Prices API

/** An item as the Azure Retail Prices API documents it. */
export interface AzureItem {
  currencyCode: string;
  tierMinimumUnits: number;
  retailPrice: number;
  unitPrice: number;
  armRegionName: string;
  location: string;
  effectiveStartDate: string;
  meterId: string;
  meterName: string;
  productId: string;
  skuId: string;
  productName: string;
  skuName: string;
  serviceName: string;
  serviceId: string;
  serviceFamily: string;
  unitOfMeasure: string;
  type: string;
  isPrimaryMeterRegion: boolean;
  armSkuName: string;
}

/** A VM item; `variant` picks the product/sku naming of Linux, Windows, Spot and Low Priority meters. */
export function azureVm(armSkuName: string, region: string, retailPrice: number, variant: 'linux' | 'windows' | 'spot' | 'low' = 'linux', extra: Partial<AzureItem> = {}): AzureItem {
  const short = armSkuName.replace(/^Standard_/, '').replace(/_/g, ' ');
  const suffix = variant === 'spot' ? ' Spot' : variant === 'low' ? ' Low Priority' : '';
  return {
    currencyCode: 'USD',
    tierMinimumUnits: 0,
    retailPrice,
    unitPrice: retailPrice,
    armRegionName: region,
    location: region === 'eastus' ? 'US East' : region,
    effectiveStartDate: '2026-01-01T00:00:00Z',
    meterId: `m-${armSkuName}-${variant}`,
    meterName: `${short}${suffix}`,
    productId: 'DZH318Z0BQ4L',
    skuId: `DZH318Z0BQ4L/${variant}`,
    productName: `Virtual Machines ${short.split(' ')[0]} Series${variant === 'windows' ? ' Windows' : ''}`,
    skuName: `${short}${suffix}`,
    serviceName: 'Virtual Machines',
    serviceId: 'DZH313Z7MMC8',
    serviceFamily: 'Compute',
    unitOfMeasure: '1 Hour',
    type: 'Consumption',
    isPrimaryMeterRegion: true,
    armSkuName,
    ...extra,
  };
}

/** Parse the OData `$filter` subset the Retail Prices API documents: `field eq 'value'` joined by `and`. */
export function parseODataFilter(filter: string): Array<[string, string]> {
  const clauses: Array<[string, string]> = [];
  const re = /^\s*([A-Za-z]+)\s+eq\s+'((?:[^']|'')*)'\s*(?:and\s+|$)/;
  let rest = filter;
  while (rest.trim() !== '') {
    const m = re.exec(rest);
    if (!m) throw new Error(`Invalid $filter near '${rest.slice(0, 40)}'`);
    clauses.push([m[1]!, m[2]!.replace(/''/g, "'")]);
    rest = rest.slice(m[0].length);
  }
  return clauses;
}

/** The Azure Retail Prices stand-in. */
export function azureRetailStandIn(items: readonly AzureItem[], pageSize = 100): Promise<StandIn> {
  const fields: Record<string, keyof AzureItem> = { serviceName: 'serviceName', armRegionName: 'armRegionName', armSkuName: 'armSkuName', priceType: 'type', skuName: 'skuName', productName: 'productName', meterName: 'meterName', serviceFamily: 'serviceFamily', location: 'location', currencyCode: 'currencyCode' };
  return listen((req, _body, base) => {
    const url = new URL(req.url ?? '/', base);
    if (req.method !== 'GET' || url.pathname !== '/api/retail/prices') return { status: 404, body: { Error: { Message: 'not found' } } };
    let clauses: Array<[string, string]>;
    try {
      clauses = parseODataFilter(url.searchParams.get('$filter') ?? '');
    } catch (e) {
      return { status: 400, body: { Error: { Code: 'BadRequest', Message: (e as Error).message } } };
    }
    const unknown = clauses.find(([f]) => !(f in fields));
    if (unknown) return { status: 400, body: { Error: { Code: 'BadRequest', Message: `Unknown filter field ${unknown[0]}` } } };
    // Filter values are case-sensitive since the 2023-01-01-preview version; compare exactly.
    const hits = items.filter((i) => clauses.every(([f, v]) => String(i[fields[f]!]) === v));
    const skip = Number(url.searchParams.get('$skip') ?? 0);
    const page = hits.slice(skip, skip + pageSize);
    const next = skip + pageSize < hits.length ? `${base}/api/retail/prices?$filter=${encodeURIComponent(url.searchParams.get('$filter') ?? '')}&$skip=${skip + pageSize}` : null;
    return { status: 200, body: { BillingCurrency: 'USD', CustomerEntityId: 'Default', CustomerEntityType: 'Retail', Items: page, NextPageLink: next, Count: page.length } };
  }, []);
}

// ---------------------------------------------------------------- Cloud Billing Catalog API

/** A catalogue SKU (proto3 JSON of google.cloud.billing.v1.Sku). */
export function gcpSku(id: string, description: string, regions: string[], usd: number, usageUnit: string): Record<string, unknown> {
  const units = Math.floor(usd);
  return {
    name: `services/C7E2-9256-1C43/skus/${id}`,
    skuId: id,
    description,
    category: { serviceDisplayName: 'Vertex AI', resourceFamily: 'Compute', resourceGroup: 'CPU', usageType: 'OnDemand' },
    serviceRegions: regions,
    pricingInfo: [
      {
        effectiveTime: '2026-12-01T00:00:00Z',
        summary: '',
        pricingExpression: {
          usageUnit,
          usageUnitDescription: usageUnit,
          baseUnit: usageUnit === 'GiBy.h' ? 'By.s' : usageUnit === 'h' ? 's' : 'count',
          baseUnitDescription: 'base',
          baseUnitConversionFactor: usageUnit === 'count' ? 1 : 3600,
          displayQuantity: 1,
          tieredRates: [{ startUsageAmount: 0, unitPrice: { currencyCode: 'USD', units: String(units), nanos: Math.round((usd - units) * 1e9) } }],
        },
        aggregationInfo: { aggregationLevel: 'ACCOUNT', aggregationInterval: 'MONTHLY', aggregationCount: 1 },
        currencyConversionRate: 1,
      },
    ],
    serviceProviderName: 'Google',
    geoTaxonomy: { type: 'REGIONAL', regions },
  };
}

const requireHere = createRequire(import.meta.url);
let billingRoot: protobuf.Root | undefined;
/** The `google.cloud.billing.v1` messages, from the descriptor `@google-cloud/billing` ships. */
function billingType(name: string): protobuf.Type {
  billingRoot ??= protobuf.Root.fromJSON(requireHere('@google-cloud/billing/build/protos/protos.json') as protobuf.INamespace);
  return billingRoot.lookupType(`google.cloud.billing.v1.${name}`);
}

/**
 * Problems of `value` as proto3 JSON of `type`: unknown fields, wrong kinds, bad enum names.
 * @returns the problems, each with its JSON path (empty when it conforms).
 */
export function proto3JsonProblems(value: unknown, type: protobuf.Type, at = '$'): string[] {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return [`${at}: expected an object for ${type.fullName}`];
  const problems: string[] = [];
  for (const [key, v] of Object.entries(value)) {
    const field = type.fields[key] ?? Object.values(type.fields).find((f) => f.name === key || (f as { jsonName?: string }).jsonName === key);
    if (!field) {
      problems.push(`${at}.${key}: no such field in ${type.fullName}`);
      continue;
    }
    field.resolve();
    const check = (x: unknown, p: string) => {
      // Well-known types have their own JSON forms (RFC 3339 / "1.5s" strings).
      if (field.resolvedType instanceof protobuf.Type && ['.google.protobuf.Timestamp', '.google.protobuf.Duration'].includes(field.resolvedType.fullName)) {
        if (typeof x !== 'string') problems.push(`${p}: ${field.resolvedType.fullName} must be a string`);
      } else if (field.resolvedType instanceof protobuf.Type) problems.push(...proto3JsonProblems(x, field.resolvedType, p));
      else if (field.resolvedType instanceof protobuf.Enum) {
        if (!(typeof x === 'string' && x in field.resolvedType.values)) problems.push(`${p}: ${JSON.stringify(x)} is not a ${field.resolvedType.fullName} name`);
      } else if (['int64', 'uint64', 'sint64', 'fixed64', 'sfixed64'].includes(field.type)) {
        if (!(typeof x === 'string' && /^-?\d+$/.test(x)) && !Number.isInteger(x)) problems.push(`${p}: int64 must be a decimal string, got ${JSON.stringify(x)}`);
      } else if (['int32', 'uint32', 'sint32', 'fixed32', 'sfixed32'].includes(field.type)) {
        if (!Number.isInteger(x)) problems.push(`${p}: ${field.type} must be an integer, got ${JSON.stringify(x)}`);
      } else if (['double', 'float'].includes(field.type)) {
        if (typeof x !== 'number') problems.push(`${p}: ${field.type} must be a number`);
      } else if (field.type === 'string') {
        if (typeof x !== 'string') problems.push(`${p}: string expected`);
      } else if (field.type === 'bool') {
        if (typeof x !== 'boolean') problems.push(`${p}: bool expected`);
      }
    };
    if (field.repeated) {
      if (!Array.isArray(v)) problems.push(`${at}.${key}: repeated field needs an array`);
      else v.forEach((x, i) => check(x, `${at}.${key}[${i}]`));
    } else check(v, `${at}.${key}`);
  }
  return problems;
}

/** The Cloud Billing Catalog stand-in: one service list, SKUs per service, `pageSize` a page. */
export function gcpCatalogStandIn(services: ReadonlyArray<{ name: string; serviceId: string; displayName: string; businessEntityName: string }>, skus: Readonly<Record<string, readonly Record<string, unknown>[]>>, pageSize = 2): Promise<StandIn> {
  const page = <T>(all: readonly T[], token: string | null, size: number) => {
    const start = token ? Number(token) : 0;
    const end = start + size;
    return { items: all.slice(start, end), next: end < all.length ? String(end) : '' };
  };
  const answer = (type: string, body: Record<string, unknown>) => {
    const problems = proto3JsonProblems(body, billingType(type));
    if (problems.length > 0) throw new Error(`stand-in answer does not conform to google.cloud.billing.v1.${type}: ${problems.join('; ')}`);
    return { status: 200, body };
  };
  return listen((req, _body, base) => {
    const url = new URL(req.url ?? '/', base);
    const size = Number(url.searchParams.get('pageSize') || pageSize) || pageSize;
    if (req.method === 'GET' && url.pathname === '/v1/services') {
      const p = page(services, url.searchParams.get('pageToken'), Math.min(size, pageSize));
      return answer('ListServicesResponse', { services: p.items, nextPageToken: p.next });
    }
    const m = /^\/v1\/(services\/[^/]+)\/skus$/.exec(url.pathname);
    if (req.method === 'GET' && m) {
      const all = skus[m[1]!];
      if (!all) return { status: 404, body: { error: { code: 404, message: `Service ${m[1]} not found`, status: 'NOT_FOUND' } } };
      if (url.searchParams.get('currencyCode') !== 'USD') return { status: 400, body: { error: { code: 400, message: 'stand-in serves USD only', status: 'INVALID_ARGUMENT' } } };
      const p = page(all, url.searchParams.get('pageToken'), Math.min(size, pageSize));
      return answer('ListSkusResponse', { skus: p.items, nextPageToken: p.next });
    }
    return { status: 404, body: { error: { code: 404, message: `no route ${req.method} ${url.pathname}`, status: 'NOT_FOUND' } } };
  }, []);
}

// ---------------------------------------------------------------- AWS Price List Query API

/** A product of the Price List (what one `PriceList` string holds). */
export function awsProduct(sku: string, attributes: Record<string, string>, usd: string, unit = 'Hrs', productFamily = 'Compute'): Record<string, unknown> {
  return {
    product: { productFamily, attributes: { servicecode: attributes.servicecode ?? 'AmazonECS', ...attributes }, sku },
    serviceCode: attributes.servicecode ?? 'AmazonECS',
    terms: {
      OnDemand: {
        [`${sku}.JRTCKXETXF`]: {
          priceDimensions: { [`${sku}.JRTCKXETXF.6YS6EN2CT7`]: { unit, endRange: 'Inf', description: `$${usd} per ${unit} for ${attributes.usagetype ?? sku}`, appliesTo: [], rateCode: `${sku}.JRTCKXETXF.6YS6EN2CT7`, beginRange: '0', pricePerUnit: { USD: usd } } },
          sku,
          effectiveDate: '2026-12-01T00:00:00Z',
          offerTermCode: 'JRTCKXETXF',
          termAttributes: {},
        },
      },
      Reserved: {
        [`${sku}.RESERVED`]: { priceDimensions: { [`${sku}.RESERVED.X`]: { unit, pricePerUnit: { USD: '0.0001' }, description: 'reserved' } }, sku, offerTermCode: 'RESERVED', termAttributes: { LeaseContractLength: '1yr' } },
      },
    },
    version: '20261201000000',
    publicationDate: '2026-12-01T00:00:00Z',
  };
}

/** The AWS Pricing stand-in; `pageSize` products a page. Requires a SigV4 Authorization header. */
export function awsPricingStandIn(products: readonly Record<string, unknown>[], pageSize = 100): Promise<StandIn> {
  return listen((req, body) => {
    if (req.method !== 'POST' || req.headers['x-amz-target'] !== 'AWSPriceListService.GetProducts') return { status: 400, body: { __type: 'InvalidParameterException', message: `unsupported ${req.method} ${String(req.headers['x-amz-target'])}` } };
    if (!/^AWS4-HMAC-SHA256 Credential=/.test(String(req.headers.authorization ?? ''))) return { status: 403, body: { __type: 'AccessDeniedException', message: 'missing SigV4 signature' } };
    const input = JSON.parse(body) as { ServiceCode?: string; Filters?: Array<{ Type: string; Field: string; Value: string }>; MaxResults?: number; NextToken?: string; FormatVersion?: string };
    if (!input.ServiceCode) return { status: 400, body: { __type: 'InvalidParameterException', message: 'ServiceCode is required' } };
    if (input.FormatVersion !== undefined && input.FormatVersion !== 'aws_v1') return { status: 400, body: { __type: 'InvalidParameterException', message: 'FormatVersion must be aws_v1' } };
    for (const f of input.Filters ?? []) if (f.Type !== 'TERM_MATCH') return { status: 400, body: { __type: 'InvalidParameterException', message: `Filter type ${f.Type} is not supported` } };
    const hits = products.filter((p) => {
      const product = p.product as { productFamily: string; attributes: Record<string, string> };
      if (product.attributes.servicecode !== input.ServiceCode) return false;
      return (input.Filters ?? []).every((f) => (f.Field === 'productFamily' ? product.productFamily : product.attributes[f.Field]) === f.Value);
    });
    const size = Math.min(input.MaxResults ?? 100, pageSize);
    const start = input.NextToken ? Number(input.NextToken) : 0;
    const next = start + size < hits.length ? String(start + size) : undefined;
    return { status: 200, type: 'application/x-amz-json-1.1', body: { FormatVersion: 'aws_v1', PriceList: hits.slice(start, start + size).map((p) => JSON.stringify(p)), ...(next ? { NextToken: next } : {}) } };
  }, []);
}
