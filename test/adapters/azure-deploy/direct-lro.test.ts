/**
 * The long-running operations mlplane sends outside template deployments (Azure ML PUTs, DELETEs,
 * what-if) progress with the simulator's clock, as Azure's do: polls only observe them, the
 * resource shows the operation in its `provisioningState`, a conflicting write is refused, and the
 * engine polls at the server's `Retry-After` (bounded).
 *
 * Sources: "Track asynchronous Azure operations"
 * (https://learn.microsoft.com/azure/azure-resource-manager/management/async-operations:
 * Azure-AsyncOperation, Location, Retry-After); the ARM resource provider contract,
 * Azure/azure-resource-manager-rpc `v1.0/Addendum.md` ("Creating or Updating Resources
 * Asynchronously", "Delete Resource Asynchronously": non-terminal provisioningState while the
 * operation runs; one ongoing PUT per resource, 409 Conflict for a PUT with another goal or during
 * a DELETE, and for a DELETE during a PUT; a repeated DELETE gets the same polling URL).
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createAzureDeployEngine } from '../../../adapters/azure/deploy';
import { startDeployment } from '../../../adapters/azure/deploy/arm';
import { createClients } from '../../../adapters/azure/deploy/transport';
import { type AzureSimulator } from '../../../adapters/azure/simulator';
import { example, inputFor, settingsFor, simulator, since, SUBSCRIPTION } from './support';

let sim: AzureSimulator;

beforeAll(async () => {
  sim = await simulator();
});
afterEach(() => sim.faults.reset());
afterAll(() => sim.close());

const HEADERS = { authorization: 'Bearer t', 'content-type': 'application/json' };
const API = 'api-version=2022-10-01';
const wait = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** A workspace in its own resource group; returns the id of an online endpoint under it. */
function endpointIn(rg: string): string {
  const ws = `/subscriptions/${SUBSCRIPTION}/resourceGroups/${rg}/providers/Microsoft.MachineLearningServices/workspaces/ws1`;
  sim.state.seed({ id: ws, location: 'westeurope', properties: {} });
  return `${ws}/onlineEndpoints/ep1`;
}

const put = (id: string, authMode = 'Key') => fetch(`${sim.url}${id}?${API}`, { method: 'PUT', headers: HEADERS, body: JSON.stringify({ location: 'westeurope', properties: { authMode } }) });
const del = (id: string) => fetch(`${sim.url}${id}?${API}`, { method: 'DELETE', headers: HEADERS });
const get = (url: string) => fetch(url.startsWith('http') ? url : `${sim.url}${url}?${API}`, { headers: HEADERS });
const statusOf = async (url: string) => ((await (await get(url)).json()) as { status: string }).status;
const stateOf = async (id: string) => ((await (await get(id)).json()) as { properties: { provisioningState: string } }).properties.provisioningState;

describe('direct Azure ML operations run in time, not when polled', () => {
  it('finishes an Azure ML PUT nobody polls: one poll after its duration says Succeeded', async () => {
    const ep = endpointIn('rg-direct-unpolled');
    sim.faults.lroDurationMs = 150;
    const mark = sim.requestLog.length;

    // WHEN the endpoint is PUT and nobody polls until its 150 ms have passed
    const res = await put(ep);
    const op = res.headers.get('azure-asyncoperation') as string;
    expect([res.status, op]).toEqual([201, expect.stringMatching(/\/mfeOperationsStatus\//)]);
    await wait(250);

    // THEN the first poll finds it Succeeded, and the resource too
    expect(await statusOf(op)).toBe('Succeeded');
    expect(await stateOf(ep)).toBe('Succeeded');
    expect(since(sim, mark).map((r) => r.method)).toEqual(['PUT', 'GET', 'GET']);
  });

  it('does not finish an Azure ML PUT early when it is polled fast', async () => {
    const ep = endpointIn('rg-direct-fast');
    sim.faults.lroDurationMs = 300;

    const t0 = Date.now();
    const res = await put(ep);
    const op = res.headers.get('azure-asyncoperation') as string;
    const seen: { at: number; status: string }[] = [];
    for (let s = ''; s !== 'Succeeded'; ) {
      s = await statusOf(op);
      seen.push({ at: Date.now() - t0, status: s });
    }

    // Polled many times while it ran, it said InProgress every time before its 300 ms
    const early = seen.filter((x) => x.status === 'InProgress');
    expect(early.length).toBeGreaterThan(5);
    expect((seen[seen.length - 1] as { at: number }).at).toBeGreaterThanOrEqual(295);
    expect(seen.filter((x) => x.status !== 'InProgress' && x.status !== 'Succeeded')).toEqual([]);
  });

  it('shows the operation in the resource: Creating, Updating and Deleting while it runs, per the ARM RPC (v1.0 Addendum)', async () => {
    const ep = endpointIn('rg-direct-state');
    sim.faults.lroDurationMs = 120;

    const created = await put(ep);
    expect([created.status, ((await created.json()) as { properties: { provisioningState: string } }).properties.provisioningState]).toEqual([201, 'Creating']);
    expect(await stateOf(ep)).toBe('Creating');
    await wait(180);
    expect(await stateOf(ep)).toBe('Succeeded');

    expect((await put(ep, 'AMLToken')).status).toBe(200);
    expect(await stateOf(ep)).toBe('Updating');
    await wait(180);
    expect(await stateOf(ep)).toBe('Succeeded');

    const deleting = await del(ep);
    expect(deleting.status).toBe(202);
    expect(await stateOf(ep)).toBe('Deleting');
    await wait(180);
    expect((await get(ep)).status).toBe(404);
  });

  it('fails a conflicting write with 409 Conflict while an operation runs, and answers a repeat with the same polling URL (ARM RPC v1.0 Addendum)', async () => {
    const ep = endpointIn('rg-direct-conflict');
    sim.faults.lroDurationMs = 400;
    const first = await put(ep, 'Key');
    const op = first.headers.get('azure-asyncoperation');

    // A PUT with another goal state, and a DELETE, during the PUT: 409 Conflict, nothing changed
    const other = await put(ep, 'AMLToken');
    const otherBody = (await other.json()) as { error: { code: string; message: string; target?: string } };
    const deleteDuring = await del(ep);
    const deleteBody = (await deleteDuring.json()) as { error: { code: string } };
    // The same PUT again (a client retry): the same operation, not a second one
    const same = await put(ep, 'Key');

    expect([other.status, otherBody.error.code, otherBody.error.target]).toEqual([409, 'Conflict', ep]);
    expect(otherBody.error.message).toMatch(/conflicts with an ongoing PUT operation on it \(provisioningState 'Creating'\)/);
    expect([deleteDuring.status, deleteBody.error.code]).toEqual([409, 'Conflict']);
    expect([same.status, same.headers.get('azure-asyncoperation')]).toEqual([201, op]);
    expect((sim.state.get(ep)?.body.properties as { authMode?: string }).authMode).toBe('Key');

    // Once it has ended, the same writes are accepted; a DELETE repeated while it runs gets the same Location, a PUT during it 409
    await wait(450);
    const gone = await del(ep);
    const again = await del(ep);
    const putDuring = await put(ep);
    expect([gone.status, again.status, again.headers.get('location')]).toEqual([202, 202, gone.headers.get('location')]);
    expect(putDuring.status).toBe(409);
  });

  it('fails a template deployment resource with Conflict when a direct operation on it is in flight', async () => {
    const model = example('Churn');
    const settings = settingsFor(model, 'rg-direct-deployconflict');
    const engine = createAzureDeployEngine({ endpoint: sim.url, pollIntervalMs: 2, retry: { baseMs: 1, capMs: 10 } });
    await engine.deploy(inputFor(model, settings));
    const compute = [...sim.state.resources.values()].find((r) => r.id.includes('/resourceGroups/rg-direct-deployconflict/') && /\/computes\/cpu$/i.test(r.id));
    expect(compute).toBeDefined();
    sim.faults.lroDurationMs = 1000;
    expect((await del(compute?.id ?? '')).status).toBe(202);

    // WHEN the same template is deployed again while the compute is being deleted
    const input = inputFor(model, settings);
    const parameters = (input.documents['parameters.json'] as { parameters?: Record<string, { value: unknown }> } | undefined)?.parameters ?? {};
    const body = { properties: { mode: 'Incremental' as const, template: input.documents['template.json'], parameters }, tags: {} };
    const client = createClients({ subscriptionId: SUBSCRIPTION, endpoint: sim.url }).resources;
    const id = `/subscriptions/${SUBSCRIPTION}/resourceGroups/rg-direct-deployconflict/providers/Microsoft.Resources/deployments/other`;
    await startDeployment(client, id, body);
    const record = () => sim.state.deployments.get('rg-direct-deployconflict/other');
    for (let n = 0; n < 400 && (record()?.state === 'Accepted' || record()?.state === 'Running'); n++) await wait(5);

    // THEN the compute's deployment operation failed with the provider's 409 Conflict
    const failed = record()?.operations.filter((o) => o.provisioningState === 'Failed') ?? [];
    expect(failed.map((o) => [o.statusCode, o.error?.code, /\/computes\/cpu$/i.test(o.target?.id ?? '')])).toEqual([['Conflict', 'Conflict', true]]);
  });
});

describe('what-if runs in time', () => {
  it('answers 202 with Location and Retry-After, stays 202 until its duration has passed, then gives the changes', async () => {
    const model = example('Churn');
    const input = inputFor(model, settingsFor(model, 'rg-direct-whatif'));
    sim.faults.lroDurationMs = 250;
    sim.faults.lroRetryAfterSeconds = 1;
    const path = `/subscriptions/${SUBSCRIPTION}/resourceGroups/rg-direct-whatif/providers/Microsoft.Resources/deployments/mlplane-churn/whatIf?api-version=2025-04-01`;

    const res = await fetch(`${sim.url}${path}`, { method: 'POST', headers: HEADERS, body: JSON.stringify({ properties: { mode: 'Incremental', template: input.documents['template.json'], parameters: (input.documents['parameters.json'] as { parameters?: unknown } | undefined)?.parameters ?? {} } }) });
    const location = res.headers.get('location') as string;
    const early = [await get(location), await get(location), await get(location)];
    await wait(300);
    const done = await get(location);

    expect([res.status, res.headers.get('retry-after'), location]).toEqual([202, '1', expect.stringMatching(/\/operationResults\//)]);
    expect(early.map((r) => [r.status, r.headers.get('retry-after')])).toEqual([[202, '1'], [202, '1'], [202, '1']]);
    expect(done.status).toBe(200);
    expect(((await done.json()) as { properties: { changes: unknown[] } }).properties.changes.length).toBeGreaterThan(10);
  });
});

describe('the azure engine follows the operations it sends at their Retry-After', () => {
  /** The gaps (ms) between a request and the polls of the operation it started. */
  const gapsOf = (log: ReturnType<typeof since>, start: RegExp, poll: RegExp) => {
    const first = log.findIndex((r) => start.test(`${r.method} ${r.path}`));
    const times = [log[first], ...log.slice(first + 1).filter((r) => poll.test(`${r.method} ${r.path}`))].map((r) => r?.at ?? 0);
    return times.slice(1).map((t, i) => t - (times[i] as number));
  };

  it('polls a what-if at its Retry-After of 1 s, not at its own 2 ms interval', async () => {
    const model = example('Churn');
    const input = inputFor(model, settingsFor(model, 'rg-direct-whatif-pace'));
    sim.faults.lroDurationMs = 1500;
    sim.faults.lroRetryAfterSeconds = 1;
    const mark = sim.requestLog.length;

    await createAzureDeployEngine({ endpoint: sim.url, pollIntervalMs: 2, retry: { baseMs: 1, capMs: 10 } }).diff(input);

    const gaps = gapsOf(since(sim, mark), /^POST .*\/whatIf$/i, /^GET .*\/operationResults\//);
    expect(gaps.length).toBeGreaterThanOrEqual(2);
    expect(gaps.length).toBeLessThanOrEqual(3);
    expect(gaps.filter((g) => g < 990)).toEqual([]);
  });

  it('bounds a long Retry-After by maxPollIntervalMs', async () => {
    const model = example('Churn');
    const input = inputFor(model, settingsFor(model, 'rg-direct-bounded'));
    sim.faults.lroDurationMs = 300;
    sim.faults.lroRetryAfterSeconds = 30;
    const mark = sim.requestLog.length;

    // WHEN the server asks for 30 s between polls and the engine accepts at most 100 ms
    await createAzureDeployEngine({ endpoint: sim.url, pollIntervalMs: 2, maxPollIntervalMs: 100, retry: { baseMs: 1, capMs: 10 } }).diff(input);

    const gaps = gapsOf(since(sim, mark), /^POST .*\/whatIf$/i, /^GET .*\/operationResults\//);
    expect(gaps.length).toBeGreaterThanOrEqual(3);
    expect(gaps.filter((g) => g < 95 || g > 900)).toEqual([]);
  }, 10_000);

  it('waits for the deployment by its operation, not by reading it in a loop, when a poll of the operation fails', async () => {
    const model = example('Churn');
    const input = inputFor(model, settingsFor(model, 'rg-direct-settle'));
    sim.faults.lroRetryAfterSeconds = 1;
    sim.faults.slowResource(/\/workspaces\/churn-staging$/i, 1500);
    // The first poll of the deployment's Azure-AsyncOperation fails (503, no Retry-After).
    sim.faults.unavailable(1, { method: 'GET', path: /\/deployments\/mlplane-churn-staging\/operationStatuses\// });
    const mark = sim.requestLog.length;

    await createAzureDeployEngine({ endpoint: sim.url, pollIntervalMs: 2, retry: { baseMs: 1, capMs: 10 } }).deploy(input);

    // THEN the engine went on following the operation at its pace and read the deployment once, when it had ended
    const log = since(sim, mark);
    const polls = log.filter((r) => r.method === 'GET' && /\/deployments\/mlplane-churn-staging\/operationStatuses\//.test(r.path));
    const reads = log.filter((r) => r.method === 'GET' && /\/deployments\/mlplane-churn-staging$/.test(r.path));
    expect(polls[0]?.status).toBe(503);
    expect(polls.length).toBeLessThanOrEqual(5);
    expect(reads.length).toBe(1);
    expect(sim.state.deployments.get('rg-direct-settle/mlplane-churn-staging')?.state).toBe('Succeeded');
  });
});
