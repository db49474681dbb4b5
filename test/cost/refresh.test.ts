/**
 * `mlplane cost --refresh` against loopback stand-ins of the three price lists (no network: the
 * tests run under a loopback-only sandbox). Amounts are hand-computed from the stand-ins' prices.
 */
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { PassThroughClient } from 'google-auth-library';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { COST_TARGETS, estimateCost, requiredSkus, type CostTarget } from '../../adapters/shared/cost';
import { awsPrices } from '../../adapters/shared/prices/aws-pricing';
import { azureRetailPrices } from '../../adapters/shared/prices/azure-retail';
import { gcpCatalogPrices } from '../../adapters/shared/prices/gcp-catalog';
import { hoursPerUnit } from '../../adapters/shared/prices/refresh';
import { refreshPrices, refreshRequests, type PriceSourceFn, SOURCE_ENDPOINT_ENV } from '../../bin/commands/cost-refresh';
import { loadSnapshot } from '../../bin/commands/cost';
import type { EnvironmentModel } from '../../lib/model/types';
import { cli } from '../support/cli';
import { exampleModels } from '../support/examples';
import { awsPricingStandIn, awsProduct, azureRetailStandIn, azureVm, gcpCatalogStandIn, gcpSku, parseODataFilter, type StandIn } from './price-standins';

const ROOT = path.resolve(import.meta.dirname, '../..');
const SHIPPED = path.join(ROOT, 'adapters/shared/prices.json');
const fraud = (): EnvironmentModel => exampleModels().find((m) => m.environment.name === 'Fraud')!;
const line = (e: ReturnType<typeof estimateCost>, resource: string) => e.lines.find((l) => l.resource === resource);
const TODAY = new Date().toISOString().slice(0, 10);

// Prices of the stand-ins (per hour unless said otherwise), chosen so the amounts can be checked by hand.
const AZURE_ITEMS = [
  // Windows, Spot and Low Priority meters of D4s v5 come first: the Linux one is on the last page.
  azureVm('Standard_D4s_v5', 'eastus', 0.384, 'windows'),
  azureVm('Standard_D4s_v5', 'eastus', 0.04, 'spot'),
  azureVm('Standard_D4s_v5', 'eastus', 0.05, 'low'),
  azureVm('Standard_D4s_v5', 'eastus', 0.21, 'linux', { type: 'DevTestConsumption' }),
  azureVm('Standard_D4s_v5', 'westeurope', 0.23),
  azureVm('Standard_D4s_v5', 'eastus', 0.192),
  azureVm('Standard_F2s_v2', 'eastus', 0.11),
  azureVm('Standard_F2s_v2', 'eastus', 0.2, 'windows'),
  azureVm('Standard_NC8as_T4_v3', 'eastus', 1.2),
  azureVm('Standard_NC8as_T4_v3', 'eastus', 0.3, 'low'),
];

const AMERICAS = ['us-central1', 'us-east1'];
const GCP_SKUS = [
  gcpSku('A1', 'Vertex AI: Training/Pipelines on N1 Predefined Instance Core running in Netherlands', ['europe-west4'], 0.05, 'h'),
  gcpSku('A2', 'Vertex AI: Online/Batch Prediction N1 Predefined Instance Core running in Americas', AMERICAS, 0.03, 'h'),
  gcpSku('A3', 'Vertex AI: Online/Batch Prediction N1 Predefined Instance Ram running in Americas', AMERICAS, 0.004, 'GiBy.h'),
  gcpSku('A4', 'Vertex AI: Training/Pipelines on N1 Predefined Instance Core running in Americas', AMERICAS, 0.04, 'h'),
  gcpSku('A5', 'Vertex AI: Training/Pipelines on N1 Predefined Instance Ram running in Americas', AMERICAS, 0.005, 'GiBy.h'),
  gcpSku('A6', 'Vertex AI: Training on Spot Preemptible N1 Instance Core running in Americas', AMERICAS, 0.01, 'h'),
  gcpSku('A7', 'Vertex AI: Training on Spot Preemptible N1 Instance Ram running in Americas', AMERICAS, 0.001, 'GiBy.h'),
  gcpSku('A8', 'Vertex AI: Training on Spot Preemptible Nvidia Tesla T4 GPU running in Americas', AMERICAS, 0.1, 'h'),
  gcpSku('A9', 'Vertex AI: Training/Pipelines on Nvidia Tesla T4 GPU running in Americas', AMERICAS, 0.35, 'h'),
  gcpSku('B1', 'Vertex AI Feature Store: Optimized Online Serving Node running in Americas', AMERICAS, 0.35, 'h'),
  gcpSku('B2', 'Vertex AI Pipelines: Pipeline Run', ['global', ...AMERICAS], 0.03, 'count'),
];
const GCP_SERVICES = [
  { name: 'services/6F81-5844-456A', serviceId: '6F81-5844-456A', displayName: 'Compute Engine', businessEntityName: 'businessEntities/GCP' },
  { name: 'services/C7E2-9256-1C43', serviceId: 'C7E2-9256-1C43', displayName: 'Vertex AI', businessEntityName: 'businessEntities/GCP' },
];

const fargate = (sku: string, region: string, usagetype: string, usd: string) => awsProduct(sku, { servicecode: 'AmazonECS', regionCode: region, usagetype, location: region }, usd, 'hours');
const AWS_PRODUCTS = [
  fargate('F1', 'us-east-1', 'USE1-Fargate-vCPU-Hours:perCPU', '0.05'),
  fargate('F2', 'us-east-1', 'USE1-Fargate-GB-Hours', '0.005'),
  fargate('F3', 'us-east-1', 'USE1-Fargate-ARM-vCPU-Hours:perCPU', '0.04'),
  fargate('F4', 'us-east-1', 'USE1-SpotUsage-Fargate-vCPU-Hours:perCPU', '0.015'),
  fargate('F5', 'us-east-1', 'USE1-SpotUsage-Fargate-GB-Hours', '0.0015'),
  fargate('F6', 'us-east-1', 'USE1-Fargate-Windows-vCPU-Hours:perCPU', '0.09'),
  fargate('F7', 'eu-west-1', 'EU-Fargate-vCPU-Hours:perCPU', '0.06'),
];

let azure: StandIn;
let gcp: StandIn;
let aws: StandIn;

beforeAll(async () => {
  process.env.AWS_EC2_METADATA_DISABLED = 'true';
  [azure, gcp, aws] = await Promise.all([azureRetailStandIn(AZURE_ITEMS, 2), gcpCatalogStandIn(GCP_SERVICES, { 'services/C7E2-9256-1C43': GCP_SKUS }, 2), awsPricingStandIn(AWS_PRODUCTS, 2)]);
});
afterAll(async () => Promise.all([azure, gcp, aws].map((s) => s?.close())));

const TEST_CREDENTIALS = { accessKeyId: 'AKIDSTANDIN', secretAccessKey: 'standin-secret' };
const sources = (over: Partial<Record<CostTarget, PriceSourceFn>> = {}): Record<CostTarget, PriceSourceFn> => ({
  azure: (r) => azureRetailPrices(r, { url: `${azure.url}/api/retail/prices` }),
  gcp: (r) => gcpCatalogPrices(r, { clientOptions: { apiEndpoint: '127.0.0.1', port: gcp.port, protocol: 'http', fallback: 'rest', authClient: new PassThroughClient() as never } }),
  aws: (r) => awsPrices(r, { clientConfig: { endpoint: aws.url, credentials: TEST_CREDENTIALS } }),
  ...over,
});
const refreshFraud = (over: Partial<Record<CostTarget, PriceSourceFn>> = {}) => refreshPrices(refreshRequests([fraud()], COST_TARGETS, loadSnapshot()), loadSnapshot(), sources(over), TODAY);

describe('requiredSkus', () => {
  it('lists every SKU key the estimate looks up, from the model (not only the snapshot’s keys)', () => {
    expect(requiredSkus(fraud(), 'aws')).toEqual(['ec2-spot:g4dn.4xlarge', 'fargate:gb-hour', 'fargate:vcpu-hour']);
    expect(requiredSkus(fraud(), 'gcp')).toContain('training-spot-accelerator:NVIDIA_TESLA_T4');
    expect(loadSnapshot().targets.gcp.prices['training-spot-accelerator:NVIDIA_TESLA_T4']).toBeUndefined();
  });
});

describe('hoursPerUnit (unit normalisation)', () => {
  it('reads the time units of the three price lists, and nothing else', () => {
    expect(['1 Hour', '1/Hour', 'Hrs', 'hours', 'h'].map(hoursPerUnit)).toEqual([1, 1, 1, 1, 1]);
    expect(hoursPerUnit('100 Hours')).toBe(100); // a price per 100 hours is divided by 100
    expect(['1 GB/Month', 'GiBy.mo', 'count', '1/Day', ''].map(hoursPerUnit)).toEqual([undefined, undefined, undefined, undefined, undefined]);
  });

  it('divides a price quoted per 100 hours', async () => {
    const per100 = await azureRetailStandIn([azureVm('Standard_F2s_v2', 'eastus', 11, 'linux', { unitOfMeasure: '100 Hours' })]);
    try {
      const r = await azureRetailPrices({ target: 'azure', region: 'eastus', skus: ['vm:Standard_F2s_v2'] }, { url: `${per100.url}/api/retail/prices` });
      expect(r.prices['vm:Standard_F2s_v2']).toMatchObject({ usd: 0.11, unit: 'hour' });
    } finally {
      await per100.close();
    }
  });
});

describe('mlplane cost --refresh against the three price lists', () => {
  it('writes the fetched prices into a refreshed snapshot, and the estimate follows them (hand-computed)', async () => {
    const r = await refreshFraud();
    expect(r.errors).toBe('');
    expect(r.code).toBe(0);
    const s = r.snapshot!;
    expect(s.date).toBe(TODAY);
    // Azure: the Linux pay-as-you-go meter; Windows, Spot, DevTest and other regions left out.
    expect(s.targets.azure.prices['vm:Standard_D4s_v5']).toMatchObject({ usd: 0.192, unit: 'hour' });
    expect(s.targets.azure.prices['vm-lowpriority:Standard_NC8as_T4_v3']).toMatchObject({ usd: 0.3, unit: 'hour' });
    // GCP: n1-standard-2 for prediction = 2 vCPU × $0.03 + 7.5 GiB × $0.004 = $0.09/h
    expect(s.targets.gcp.prices['prediction:n1-standard-2']?.usd).toBeCloseTo(0.09, 12);
    // Spot training n1-highmem-8 = 8 × $0.01 + 52 GiB × $0.001 = $0.132/h
    expect(s.targets.gcp.prices['training-spot:n1-highmem-8']?.usd).toBeCloseTo(0.132, 12);
    expect(s.targets.gcp.prices['training-spot-accelerator:NVIDIA_TESLA_T4']).toMatchObject({ usd: 0.1 });
    expect(s.targets.gcp.prices['pipeline-run']).toMatchObject({ usd: 0.03, unit: 'run' });
    expect(s.targets.gcp.prices['feature-online-store:optimized-node']).toMatchObject({ usd: 0.35, unit: 'node-hour' });
    // AWS: Linux/x86 on-demand Fargate; ARM, Windows, Spot and eu-west-1 left out, reserved terms ignored.
    expect(s.targets.aws.prices['fargate:vcpu-hour']).toMatchObject({ usd: 0.05, unit: 'vcpu-hour' });
    expect(s.targets.aws.prices['fargate:gb-hour']).toMatchObject({ usd: 0.005, unit: 'gb-hour' });
    // Each price names the API and the query in its source.
    const src = s.sources[s.targets.azure.prices['vm:Standard_D4s_v5']!.source]!;
    expect(decodeURIComponent(src.url)).toContain("$filter=serviceName eq 'Virtual Machines' and armRegionName eq 'eastus' and armSkuName eq 'Standard_D4s_v5' and priceType eq 'Consumption'");
    expect(src.title).toMatch(new RegExp(`^Azure Retail Prices API, retrieved ${TODAY}`));
    expect(s.sources[s.targets.aws.prices['fargate:gb-hour']!.source]!.url).toBe('GetProducts ServiceCode=AmazonECS regionCode=us-east-1 (TERM_MATCH, FormatVersion aws_v1)');
    expect(s.sources[s.targets.gcp.prices['pipeline-run']!.source]!.url).toContain('/v1/services/C7E2-9256-1C43/skus?currencyCode=USD');
    // Estimates, hand-computed: blue has 2–6 replicas × 730 h.
    expect(line(estimateCost(fraud(), 'gcp', s), 'Fraud/Scoring/blue')?.low).toBeCloseTo(2 * 730 * 0.09, 9); // $131.40
    expect(line(estimateCost(fraud(), 'aws', s), 'Fraud/Scoring/blue')?.high).toBeCloseTo(6 * 730 * (2 * 0.05 + 4 * 0.005), 9); // $525.60
    expect(line(estimateCost(fraud(), 'azure', s), 'Fraud/Scoring/blue')?.low).toBeCloseTo(2 * 730 * 0.11, 9); // $160.60
    // EC2 spot is not in the AWS Price List: reported, not guessed.
    expect(r.report).toContain('ec2-spot:g4dn.4xlarge (unpriced) kept: EC2 spot prices are not in the AWS Price List');
    expect(s.targets.aws.prices['ec2-spot:g4dn.4xlarge']).toBeUndefined();
  });

  it('follows NextPageLink (Azure), nextPageToken (Cloud Billing) and NextToken (AWS)', async () => {
    azure.requests.length = 0;
    gcp.requests.length = 0;
    aws.requests.length = 0;
    const r = await refreshFraud();
    // The Linux D4s v5 item is the 4th match of its query (pages of 2): only on the second page.
    expect(r.snapshot!.targets.azure.prices['vm:Standard_D4s_v5']?.usd).toBe(0.192);
    expect(azure.requests.some((q) => q.includes('$skip=2'))).toBe(true);
    // The filter sent is the documented OData form.
    const first = new URL(azure.requests.find((q) => q.includes('Standard_D4s_v5'))!.split(' ')[1]!, azure.url);
    expect(parseODataFilter(first.searchParams.get('$filter')!)).toEqual([
      ['serviceName', 'Virtual Machines'],
      ['armRegionName', 'eastus'],
      ['armSkuName', 'Standard_D4s_v5'],
      ['priceType', 'Consumption'],
    ]);
    // Vertex AI's 11 SKUs come in pages of 2: six pages, all read.
    expect(gcp.requests.filter((q) => /\/v1\/services(\?|$)/.test(q.split(' ')[1]!)).length).toBe(1);
    expect(gcp.requests.filter((q) => q.includes('/skus?')).length).toBe(Math.ceil(GCP_SKUS.length / 2));
    // The us-east-1 ECS products (6) come back in pages of 2.
    expect(aws.requests.filter((q) => q.includes('"ServiceCode":"AmazonECS"')).length).toBe(3);
    expect(r.snapshot!.targets.aws.prices['fargate:gb-hour']?.usd).toBe(0.005);
  });

  it('fails if a SKU matches several different prices, naming the candidates, and keeps the snapshot’s price', async () => {
    const twice = await azureRetailStandIn([azureVm('Standard_D4s_v5', 'eastus', 0.192), azureVm('Standard_D4s_v5', 'eastus', 0.25, 'linux', { productName: 'Virtual Machines Dsv5 Series Dedicated Host' })]);
    try {
      const r = await refreshFraud({ azure: (q) => azureRetailPrices(q, { url: `${twice.url}/api/retail/prices` }) });
      expect(r.code).toBe(1);
      expect(r.errors).toContain('azure: vm:Standard_D4s_v5 is ambiguous in the Azure Retail Prices API, vm:Standard_D4s_v5 ($0.19/hour) kept: 2 Linux pay-as-you-go items for Standard_D4s_v5 in eastus with 2 different prices:');
      expect(r.errors).toContain('Virtual Machines D4s Series / D4s v5 (1 Hour) = $0.192; Virtual Machines Dsv5 Series Dedicated Host / D4s v5 (1 Hour) = $0.25');
      expect(r.snapshot!.targets.azure.prices['vm:Standard_D4s_v5']).toEqual(loadSnapshot().targets.azure.prices['vm:Standard_D4s_v5']);
    } finally {
      await twice.close();
    }
  });

  it('fails if one source is down: the others refresh, and the failure names the SKUs left at the snapshot’s price', async () => {
    const gone = await azureRetailStandIn([]);
    await gone.close(); // nothing listens on its port any more
    const r = await refreshFraud({ azure: (q) => azureRetailPrices(q, { url: `${gone.url}/api/retail/prices` }) });
    expect(r.code).toBe(1);
    expect(r.errors).toContain(`azure: Azure Retail Prices API: fetch failed (ECONNREFUSED 127.0.0.1:${gone.port}); run where 127.0.0.1:${gone.port} is reachable (HTTPS, no credentials needed). Left at the 2026-12-03 snapshot's price: vm-lowpriority:Standard_NC8as_T4_v3 (unpriced), vm:Standard_D4s_v5 ($0.19/hour), vm:Standard_F2s_v2 (unpriced)`);
    expect(r.snapshot!.targets.azure).toEqual(loadSnapshot().targets.azure);
    expect(r.snapshot!.targets.gcp.prices['prediction:n1-standard-2']?.usd).toBeCloseTo(0.09, 12);
    expect(r.snapshot!.targets.aws.prices['fargate:vcpu-hour']?.usd).toBe(0.05);
    // The shipped source of the kept price stays; sources no price uses are dropped.
    expect(r.snapshot!.sources['azure-vm-illustrative']).toEqual(loadSnapshot().sources['azure-vm-illustrative']);
    expect(r.snapshot!.sources['aws-fargate']).toBeUndefined();
  });

  it('fails if AWS has no credentials: reported as such, the other sources refresh', async () => {
    const noCredentials = () => Promise.reject(Object.assign(new Error('Could not load credentials from any providers'), { name: 'CredentialsProviderError' }));
    const r = await refreshFraud({ aws: (q) => awsPrices(q, { clientConfig: { endpoint: aws.url, credentials: noCredentials } }) });
    expect(r.code).toBe(1);
    expect(r.errors).toMatch(/^aws: AWS Price List Query API: no credentials; set AWS credentials .* Left at the 2026-12-03 snapshot's price: ec2-spot:g4dn.4xlarge \(unpriced\), fargate:gb-hour \(\$0.004445\/gb-hour\), fargate:vcpu-hour \(\$0.04048\/vcpu-hour\)$/m);
    expect(r.snapshot!.targets.aws).toEqual(loadSnapshot().targets.aws);
    expect(r.snapshot!.targets.azure.prices['vm:Standard_F2s_v2']?.usd).toBe(0.11);
  });

  it('fails if GCP has no Application Default Credentials: reported as such, with the fix', async () => {
    const saved = { HOME: process.env.HOME, GAC: process.env.GOOGLE_APPLICATION_CREDENTIALS, CLOUDSDK_CONFIG: process.env.CLOUDSDK_CONFIG };
    const home = fs.mkdtempSync(path.join(os.tmpdir(), 'mlplane-noadc-'));
    Object.assign(process.env, { HOME: home, CLOUDSDK_CONFIG: path.join(home, 'gcloud') });
    delete process.env.GOOGLE_APPLICATION_CREDENTIALS;
    try {
      const o = await gcpCatalogPrices({ target: 'gcp', region: 'us-central1', skus: ['pipeline-run'] }, { clientOptions: { apiEndpoint: '127.0.0.1', port: gcp.port, protocol: 'http', fallback: 'rest' } });
      expect(o.failure).toEqual({ reason: 'no credentials (Application Default Credentials not found)', fix: expect.stringContaining('gcloud auth application-default login') });
      expect(o.prices).toEqual({});
    } finally {
      for (const [k, v] of Object.entries({ HOME: saved.HOME, GOOGLE_APPLICATION_CREDENTIALS: saved.GAC, CLOUDSDK_CONFIG: saved.CLOUDSDK_CONFIG })) if (v === undefined) delete process.env[k]; else process.env[k] = v;
      fs.rmSync(home, { recursive: true, force: true });
    }
  });
});

describe('mlplane cost after --refresh (the CLI, in a project directory)', () => {
  it('refreshes into .mlplane/prices.json, then prices with it and says so; the shipped file is untouched', async () => {
    const shippedHash = createHash('sha256').update(fs.readFileSync(SHIPPED)).digest('hex');
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mlplane-refresh-'));
    const context = (JSON.parse(fs.readFileSync(path.join(ROOT, 'cdk.json'), 'utf8')) as { context: object }).context;
    fs.writeFileSync(path.join(dir, 'cdk.json'), JSON.stringify({ app: `node --import tsx ${path.join(ROOT, 'bin/app.ts')}`, context }));
    const saved = { cwd: process.cwd(), env: { ...process.env } };
    process.chdir(dir);
    Object.assign(process.env, { [SOURCE_ENDPOINT_ENV.azure]: `${azure.url}/api/retail/prices`, [SOURCE_ENDPOINT_ENV.gcp]: gcp.url, [SOURCE_ENDPOINT_ENV.aws]: aws.url, AWS_ACCESS_KEY_ID: TEST_CREDENTIALS.accessKeyId, AWS_SECRET_ACCESS_KEY: TEST_CREDENTIALS.secretAccessKey });
    try {
      const before = await cli('cost', '--target', 'gcp', '--stage', 'prod');
      expect(before.stdout).toContain('Prices: snapshot of 2026-12-03 (USD, list prices) from adapters/shared/prices.json, shipped;');
      const r = await cli('cost', '--refresh', '--target', 'gcp,aws', '--stage', 'prod');
      expect(r.stderr).toBe('');
      expect(r.code).toBe(0);
      expect(r.stdout).toContain('gcp [us-central1]: ');
      expect(r.stdout).toContain(`wrote .mlplane/prices.json (snapshot of ${TODAY})`);
      expect(r.stdout).not.toContain(TEST_CREDENTIALS.secretAccessKey);
      const written = JSON.parse(fs.readFileSync(path.join(dir, '.mlplane/prices.json'), 'utf8'));
      expect(written.targets.gcp.prices['prediction:n1-standard-2'].usd).toBeCloseTo(0.09, 12);
      expect(written.targets.azure).toEqual(loadSnapshot().targets.azure); // not requested: kept
      expect(JSON.stringify(written)).not.toContain(TEST_CREDENTIALS.secretAccessKey);
      const after = await cli('cost', '--target', 'gcp', '--stage', 'prod');
      expect(after.code).toBe(0);
      expect(after.stdout).toContain(`Prices: snapshot of ${TODAY} (USD, list prices) from .mlplane/prices.json;`);
      // Fraud blue: 2–6 replicas × 730 h × $0.09 = $131.40–$394.20
      expect(after.stdout).toMatch(/Fraud\/Scoring\/blue +replicas +prediction:n1-standard-2 +2–6 replicas × 730 h +\$131\.40–\$394\.20/);
      const json = JSON.parse((await cli('cost', '--target', 'aws', '--stage', 'prod', '--json')).stdout);
      expect(json.snapshot).toMatchObject({ date: TODAY, file: '.mlplane/prices.json' });
      // A second refresh starts from the refreshed snapshot; --json reports per source.
      const again = await cli('cost', '--refresh', '--target', 'aws', '--stage', 'prod', '--json');
      expect(again.code).toBe(0);
      const report = JSON.parse(again.stdout);
      expect(report).toMatchObject({ from: { file: '.mlplane/prices.json', date: TODAY }, written: { file: '.mlplane/prices.json', date: TODAY } });
      expect(report.targets).toEqual([expect.objectContaining({ target: 'aws', api: 'AWS Price List Query API', region: 'us-east-1', refreshed: expect.objectContaining({ 'fargate:vcpu-hour': expect.objectContaining({ usd: 0.05, unit: 'vcpu-hour' }) }) })]);
      expect(report.targets[0].problems).toContainEqual(expect.objectContaining({ sku: 'ec2-spot:g4dn.4xlarge', kind: 'not-found' }));
    } finally {
      process.chdir(saved.cwd);
      for (const k of Object.keys(process.env)) if (!(k in saved.env)) delete process.env[k];
      Object.assign(process.env, saved.env);
      fs.rmSync(dir, { recursive: true, force: true });
    }
    expect(createHash('sha256').update(fs.readFileSync(SHIPPED)).digest('hex')).toBe(shippedHash);
  });

  it('fails if no source answers: names each target, its failure and the fix, and writes nothing', async () => {
    const gone = await Promise.all([azureRetailStandIn([]), gcpCatalogStandIn([], {}), awsPricingStandIn([])]);
    await Promise.all(gone.map((g) => g.close()));
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mlplane-refresh-'));
    const context = (JSON.parse(fs.readFileSync(path.join(ROOT, 'cdk.json'), 'utf8')) as { context: object }).context;
    fs.writeFileSync(path.join(dir, 'cdk.json'), JSON.stringify({ app: `node --import tsx ${path.join(ROOT, 'bin/app.ts')}`, context }));
    const saved = { cwd: process.cwd(), env: { ...process.env } };
    process.chdir(dir);
    Object.assign(process.env, { [SOURCE_ENDPOINT_ENV.azure]: `${gone[0]!.url}/api/retail/prices`, [SOURCE_ENDPOINT_ENV.gcp]: gone[1]!.url, [SOURCE_ENDPOINT_ENV.aws]: gone[2]!.url, AWS_ACCESS_KEY_ID: TEST_CREDENTIALS.accessKeyId, AWS_SECRET_ACCESS_KEY: TEST_CREDENTIALS.secretAccessKey });
    try {
      const r = await cli('cost', '--refresh', '--stage', 'prod');
      expect(r.code).toBe(1);
      expect(r.stdout).toContain('nothing refreshed; .mlplane/prices.json not written');
      expect(r.stderr).toContain(`azure: Azure Retail Prices API: fetch failed (ECONNREFUSED 127.0.0.1:${gone[0]!.port}); run where 127.0.0.1:${gone[0]!.port} is reachable`);
      expect(r.stderr).toContain(`\ngcp: Cloud Billing Catalog API: fetch failed (ECONNREFUSED 127.0.0.1:${gone[1]!.port}); run where 127.0.0.1:${gone[1]!.port} is reachable. Left at the 2026-12-03 snapshot's price: feature-online-store:optimized-node ($0.3/node-hour), pipeline-run ($0.03/run)`);
      expect(r.stderr).toContain(`\naws: AWS Price List Query API: fetch failed (ECONNREFUSED 127.0.0.1:${gone[2]!.port}); run where 127.0.0.1:${gone[2]!.port} is reachable. Left at the 2026-12-03 snapshot's price: ec2-spot:g4dn.4xlarge (unpriced), fargate-spot:gb-hour (unpriced), fargate-spot:vcpu-hour (unpriced), fargate:gb-hour ($0.004445/gb-hour), fargate:vcpu-hour ($0.04048/vcpu-hour)`);
      expect(fs.existsSync(path.join(dir, '.mlplane/prices.json'))).toBe(false);
    } finally {
      process.chdir(saved.cwd);
      for (const k of Object.keys(process.env)) if (!(k in saved.env)) delete process.env[k];
      Object.assign(process.env, saved.env);
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it('fails if a stand-in variable points anywhere but loopback', async () => {
    process.env[SOURCE_ENDPOINT_ENV.azure] = 'https://prices.example.com/api/retail/prices';
    try {
      const r = await cli('cost', '--refresh', '--target', 'azure');
      expect(r.code).toBe(1);
      expect(r.stderr).toContain(`${SOURCE_ENDPOINT_ENV.azure} must be http://127.0.0.1:<port>[/path] (a local stand-in), got 'https://prices.example.com/api/retail/prices'`);
    } finally {
      delete process.env[SOURCE_ENDPOINT_ENV.azure];
    }
  });
});
