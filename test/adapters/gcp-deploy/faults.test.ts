import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { DeployError } from '../../../adapters/deploy';
import { classifyGcp } from '../../../adapters/gcp/deploy';
import type { GcpSimulator } from '../../../adapters/gcp/simulator';
import { countBy, engineFor, example, inputFor, Recorder, resetSimulator, startSimulator, type SleepLog } from './support';

let sim: GcpSimulator;
beforeAll(async () => {
  sim = await startSimulator();
});
beforeEach(() => resetSimulator(sim));
afterAll(async () => {
  await sim.close();
});

const calls = (rpc: string) => sim.requestLog.filter((r) => r.rpc.endsWith(rpc));

describe('retries and failures', () => {
  it('retries a 429 after the Retry-After the server sent', async () => {
    sim.faults.add({ rpc: 'CreateEndpoint', count: 2, fault: { kind: 'throttle', retryAfterSeconds: 2 } });
    const sleeps: SleepLog = { waits: [] };
    const progress = new Recorder();
    await engineFor(sim, {}, sleeps).deploy(inputFor(example('Fraud'), progress));
    expect(calls('CreateEndpoint').map((r) => r.status)).toEqual([429, 429, 200]);
    expect(progress.events.filter((e) => e.id === 'vertex.endpoint/Fraud/Scoring' && e.state === 'retrying').map((e) => e.message)).toEqual(['HTTP 429; retry in 2000 ms', 'HTTP 429; retry in 2000 ms']);
    expect(sleeps.waits.filter((w) => w === 2000)).toHaveLength(2);
    expect(countBy(sim, '.Endpoint')).toEqual({ 'fraud-prod-Scoring': 1 });
  });

  it('retries a BigQuery 503 after its Retry-After', async () => {
    sim.faults.add({ rpc: 'bigquery.tables.insert', path: '/tables', count: 1, fault: { kind: 'unavailable', retryAfterSeconds: 3 } });
    const sleeps: SleepLog = { waits: [] };
    await engineFor(sim, {}, sleeps).deploy(inputFor(example('Fraud')));
    expect(calls('bigquery.tables.insert').filter((r) => r.status === 503)).toHaveLength(1);
    expect(sleeps.waits).toContain(3000);
    expect(sim.state.get('bigquery/projects/acme-ml/datasets/Fraud_prod/tables/Transactions')).toBeDefined();
  });

  it('fails fast if the API answers a non-retryable 4xx, naming the resource path and the API message', async () => {
    sim.faults.add({ rpc: 'DeployModel', count: 1, fault: { kind: 'error', status: 403, rpcStatus: 'PERMISSION_DENIED', message: "Permission 'aiplatform.endpoints.deploy' denied" } });
    const engine = engineFor(sim, {});
    const input = inputFor(example('Fraud'), undefined, { concurrency: 1 });
    const error = await engine.deploy(input).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(DeployError);
    expect((error as DeployError).path).toMatch(/^Fraud\/Scoring\/(blue|green)$/);
    expect((error as DeployError).message).toContain("HTTP 403 PERMISSION_DENIED: Permission 'aiplatform.endpoints.deploy' denied");
    expect(calls('DeployModel')).toHaveLength(1);
    // The failed run released its lock.
    expect(sim.state.get('bigquery/projects/acme-ml/datasets/Fraud_prod/tables/_mlplane_lock')).toBeUndefined();
  });

  it('settles a create whose response was dropped by a read, never sending it blindly again', async () => {
    sim.faults.add({ rpc: 'CreateTensorboard', count: 1, fault: { kind: 'drop' } });
    sim.faults.add({ rpc: 'UploadModel', count: 1, fault: { kind: 'drop' } });
    // The first two table inserts: the lock table, then a data table.
    sim.faults.add({ rpc: 'bigquery.tables.insert', path: '/datasets/Fraud_prod/tables', count: 2, fault: { kind: 'drop' } });
    await engineFor(sim).deploy(inputFor(example('Fraud')));
    expect(calls('CreateTensorboard')).toHaveLength(1);
    expect(calls('UploadModel')).toHaveLength(1);
    expect(countBy(sim, '.Tensorboard')).toEqual({ 'Fraud prod experiments': 1 });
    expect(countBy(sim, '.Model')).toEqual({ fraud: 1 });
    expect(calls('bigquery.tables.insert').filter((r) => r.status === 409)).toEqual([]);
    const again = await engineFor(sim).deploy(inputFor(example('Fraud')));
    expect(again.writes).toBe(0);
  });

  it('retries a create that fails with 500 twice, settling each failure by a read and backing off, to success', async () => {
    sim.faults.add({ rpc: 'CreateEndpoint', count: 2, fault: { kind: 'error', status: 500, rpcStatus: 'INTERNAL', message: 'backend error' } });
    const sleeps: SleepLog = { waits: [] };
    const progress = new Recorder();
    await engineFor(sim, { retry: { baseMs: 100, sleep: async (ms) => void sleeps.waits.push(ms) } }, sleeps).deploy(inputFor(example('Fraud'), progress));
    expect(calls('CreateEndpoint').map((r) => r.status)).toEqual([500, 500, 200]);
    // Each unknown outcome was read before the create was sent again (never blindly re-sent).
    const log = sim.requestLog.map((r) => r.rpc);
    const creates = log.flatMap((r, i) => (r.endsWith('CreateEndpoint') ? [i] : []));
    for (const [a, b] of [[creates[0], creates[1]], [creates[1], creates[2]]] as const) expect(log.slice((a as number) + 1, b).some((r) => r.endsWith('GetEndpoint') || r.endsWith('ListEndpoints'))).toBe(true);
    // Exponential backoff: the second wait is drawn from a window twice as large as the first.
    const retries = progress.events.filter((e) => e.id === 'vertex.endpoint/Fraud/Scoring' && e.state === 'retrying');
    expect(retries.map((e) => e.message?.replace(/\d+ ms/, 'N ms'))).toEqual(['HTTP 500; retry in N ms', 'HTTP 500; retry in N ms']);
    const [w1, w2] = retries.map((e) => Number(/(\d+) ms/.exec(e.message ?? '')?.[1]));
    expect(w1).toBeGreaterThanOrEqual(50);
    expect(w1).toBeLessThanOrEqual(100);
    expect(w2).toBeGreaterThanOrEqual(100);
    expect(w2).toBeLessThanOrEqual(200);
    expect(countBy(sim, '.Endpoint')).toEqual({ 'fraud-prod-Scoring': 1 });
  });

  it('waits for slow long-running operations', async () => {
    sim.faults.add({ rpc: 'DeployModel', count: 2, fault: { kind: 'slow', polls: 6 } });
    await engineFor(sim).deploy(inputFor(example('Fraud')));
    const polls = sim.requestLog.filter((r) => r.rpc === 'Operations.GetOperation' && r.path.includes('/endpoints/'));
    expect(polls.length).toBeGreaterThanOrEqual(12);
    expect((sim.state.get('projects/acme-ml/locations/europe-west4/endpoints/fraud-prod-scoring')?.body.deployedModels as unknown[]).length).toBe(2);
  });

  it('fails if an operation outlives its per-type timeout, naming the resource', async () => {
    sim.faults.add({ rpc: 'CreateFeatureOnlineStore', count: 1, fault: { kind: 'slow', polls: 1_000_000 } });
    const engine = engineFor(sim, { timeouts: { FeatureOnlineStore: 20 }, pollIntervalMs: 1 });
    await expect(engine.deploy(inputFor(example('Fraud')))).rejects.toThrow(/\[vertex\.featureOnlineStore\] operation .* did not finish within 0 s/);
  });

  it('fails if a read fails, never taking a resource for deleted', async () => {
    await engineFor(sim).deploy(inputFor(example('Fraud')));
    sim.faults.add({ rpc: 'ListEndpoints', count: 100, fault: { kind: 'error', status: 403, rpcStatus: 'PERMISSION_DENIED', message: 'caller lacks aiplatform.endpoints.list' } });
    const before = sim.requestLog.filter((r) => r.write).length;
    await expect(engineFor(sim).diff(inputFor(example('Fraud')))).rejects.toThrow(/could not read the live state .*HTTP 403 PERMISSION_DENIED.*nothing is assumed deleted/);
    await expect(engineFor(sim).deploy(inputFor(example('Fraud')))).rejects.toThrow(/could not read the live state/);
    expect(sim.requestLog.filter((r) => r.write).length).toBe(before);
  });

  it('retries a read that keeps failing with 503 and then gives up without writing', async () => {
    await engineFor(sim).deploy(inputFor(example('Fraud')));
    sim.faults.add({ rpc: 'ListSchedules', count: 100, fault: { kind: 'unavailable' } });
    const before = sim.requestLog.filter((r) => r.write).length;
    await expect(engineFor(sim).deploy(inputFor(example('Fraud')))).rejects.toThrow(/HTTP 503 UNAVAILABLE/);
    expect(calls('ListSchedules').length).toBeGreaterThanOrEqual(6);
    expect(sim.requestLog.filter((r) => r.write).length).toBe(before);
  });
});

describe('list filters', () => {
  it('filters by label itself when the service refuses a list filter, still finding what it owns', async () => {
    await engineFor(sim).deploy(inputFor(example('Fraud')));
    // The filtered list is refused (the unfiltered first page the read sends with it, for named endpoints, is not).
    sim.faults.add({ rpc: 'ListEndpoints', queryParameter: 'filter', count: 1, fault: { kind: 'error', status: 400, rpcStatus: 'INVALID_ARGUMENT', message: 'Unsupported filter' } });
    const foreign = 'projects/acme-ml/locations/europe-west4/endpoints/theirs';
    sim.state.put(foreign, 'google.cloud.aiplatform.v1.Endpoint', { name: foreign, displayName: 'theirs', labels: { 'mlplane-env': 'other' } });
    const before = calls('ListEndpoints').length;
    const plan = await engineFor(sim).diff(inputFor(example('Fraud')));
    expect(plan.items.filter((i) => i.action !== 'noop')).toEqual([]);
    expect(sim.faults.pending()).toBe(0);
    // The refused filtered list, the unfiltered one read instead, and the first page (in any order).
    expect(calls('ListEndpoints').slice(before).map((r) => r.status).sort()).toEqual([200, 200, 400]);
  });
});

describe('classifyGcp', () => {
  const gaxios = (status: number, body: unknown) => ({ status, message: JSON.stringify(body), response: { headers: new Headers() } });

  it('retries 409 operationInProgress and 403 per-minute quota, not other 409 / 403', () => {
    expect(classifyGcp({ code: 409, errors: [{ reason: 'operationInProgress' }], message: 'busy' }).retry).toBe(true);
    expect(classifyGcp(gaxios(403, { error: { code: 403, status: 'PERMISSION_DENIED', message: 'Quota exceeded for quota metric requests per minute' } })).retry).toBe(true);
    expect(classifyGcp({ code: 403, errors: [{ reason: 'rateLimitExceeded' }], message: 'Exceeded rate limits' }).retry).toBe(true);
    expect(classifyGcp(gaxios(409, { error: { code: 409, status: 'ALREADY_EXISTS', message: 'exists' } })).retry).toBe(false);
    expect(classifyGcp(gaxios(403, { error: { code: 403, status: 'PERMISSION_DENIED', message: 'denied' } })).retry).toBe(false);
    expect(classifyGcp({ code: 'ECONNRESET', message: 'socket hang up' }).retry).toBe(true);
  });

  it('reads Retry-After from a google.rpc.RetryInfo detail', () => {
    const d = classifyGcp(gaxios(429, { error: { code: 429, status: 'RESOURCE_EXHAUSTED', message: 'slow down', details: [{ '@type': 'type.googleapis.com/google.rpc.RetryInfo', retryDelay: '7s' }] } }));
    expect(d).toMatchObject({ retry: true, retryAfterMs: 7000 });
  });
});
