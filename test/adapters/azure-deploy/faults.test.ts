import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createAzureDeployEngine, deploymentNameOf } from '../../../adapters/azure/deploy';
import type { AzureSimulator } from '../../../adapters/azure/simulator';
import { engineFor, example, inputFor, settingsFor, simulator, since } from './support';

let sim: AzureSimulator;

beforeAll(async () => {
  sim = await simulator();
});
afterEach(() => sim.faults.reset());
afterAll(() => sim.close());

const DEPLOYMENT_PUT = /\/providers\/Microsoft\.Resources\/deployments\/[^/]+$/i;

/** Record when the simulator logs each request from now on; returns the time of a logged request. */
function timestamped(s: AzureSimulator): (r: AzureSimulator['requestLog'][number]) => number {
  const when = new Map<object, number>();
  const push = s.requestLog.push.bind(s.requestLog);
  s.requestLog.push = (...records) => {
    for (const r of records) when.set(r, Date.now());
    return push(...records);
  };
  return (r) => when.get(r) ?? Number.NaN;
}

describe('azure deploy under faults', () => {
  it('retries throttled calls after waiting the Retry-After the server gave, and still sends one deployment', async () => {
    const model = example('Churn');
    const settings = settingsFor(model, 'rg-throttle');
    sim.faults.throttle(1, { method: 'POST', path: /\/whatIf$/i, retryAfterSeconds: 1 });
    sim.faults.throttle(1, { method: 'PUT', path: DEPLOYMENT_PUT, retryAfterSeconds: 1 });
    const mark = sim.requestLog.length;
    const input = inputFor(model, settings);
    const at = timestamped(sim);
    // Backoff alone would wait a few ms (base 1 ms); only the header makes the engine wait a second.
    const engine = createAzureDeployEngine({ endpoint: sim.url, pollIntervalMs: 2, retry: { baseMs: 1, capMs: 1000 } });

    const summary = await engine.deploy(input);

    const puts = since(sim, mark).filter((r) => r.method === 'PUT' && DEPLOYMENT_PUT.test(r.path));
    const whatIfs = since(sim, mark).filter((r) => r.path.endsWith('/whatIf'));
    expect(puts.map((r) => r.status)).toEqual([429, 201]);
    expect(whatIfs.map((r) => r.status)).toEqual([429, 202]);
    for (const [first, retry] of [whatIfs, puts]) expect(at(retry) - at(first)).toBeGreaterThanOrEqual(990);
    expect(summary.created).toBeGreaterThan(0);
    expect(input.progress.events.filter((e) => e.state === 'retrying').map((e) => e.message?.replace(/^.*; /, ''))).toEqual(['retry 1 in 1000 ms', 'retry 1 in 1000 ms']);
  });

  it('retries 503 on reads until they succeed', async () => {
    const model = example('Fraud');
    const settings = settingsFor(model, 'rg-unavailable');
    sim.faults.unavailable(3, { method: 'GET', path: /\/onlineEndpoints\/[^/]+$/i, retryAfterSeconds: 0 });
    const mark = sim.requestLog.length;

    await engineFor(sim).deploy(inputFor(model, settings));

    // The first read is the endpoint's live traffic before deploying (404 on a first deploy), retried
    // through the 503s; the verification read after the deployment finds it.
    const endpointReads = since(sim, mark).filter((r) => r.method === 'GET' && /\/onlineEndpoints\/[^/]+$/i.test(r.path));
    expect(endpointReads.map((r) => r.status)).toEqual([503, 503, 503, 404, 200]);
  });

  it('fails if the template is invalid (400), without retrying', async () => {
    const model = example('Churn');
    const input = inputFor(model, settingsFor(model, 'rg-400'));
    const template = input.documents['template.json'] as { resources: Record<string, unknown>[] };
    const broken = { ...input, documents: { ...input.documents, 'template.json': { ...template, resources: [...template.resources, { type: 'Microsoft.Storage/storageAccounts', apiVersion: '2023-05-01', name: 'x', dependsOn: ['[resourceId(\'Microsoft.Storage/storageAccounts\', \'missing\')]'] }] } } };
    const mark = sim.requestLog.length;

    await expect(engineFor(sim).deploy(broken)).rejects.toThrow(/\[Churn\].*InvalidTemplate.*'.*missing' is not defined in the template/);

    expect(since(sim, mark).filter((r) => r.path.endsWith('/whatIf'))).toHaveLength(1);
    expect(since(sim, mark).filter((r) => r.write)).toEqual([]);
  });

  it('settles a dropped deployment response by a read and never sends the deployment twice', async () => {
    const model = example('Churn');
    const settings = settingsFor(model, 'rg-dropped');
    sim.faults.dropAfterApply(1, { method: 'PUT', path: DEPLOYMENT_PUT });
    const mark = sim.requestLog.length;

    const summary = await engineFor(sim).deploy(inputFor(model, settings));

    const puts = since(sim, mark).filter((r) => r.method === 'PUT' && DEPLOYMENT_PUT.test(r.path));
    expect(puts).toHaveLength(1);
    expect(puts[0]?.status).toBe(0);
    const reads = since(sim, mark).filter((r) => r.method === 'GET' && r.path.endsWith(`/deployments/${deploymentNameOf(example('Churn').environment)}`));
    expect(reads.length).toBeGreaterThan(0);
    expect(summary.created).toBeGreaterThan(0);
    expect(sim.state.deployments.get(`${settings.resourceGroup}/${deploymentNameOf(example('Churn').environment)}`.toLowerCase())?.state).toBe('Succeeded');
  });

  it('follows slow long-running operations to the end (direct deletes that run 60 ms each on the clock)', async () => {
    const model = example('Churn');
    const settings = settingsFor(model, 'rg-slow');
    const engine = engineFor(sim);
    await engine.deploy(inputFor(model, settings));
    sim.faults.lroDurationMs = 60;
    const mark = sim.requestLog.length;

    await engine.destroy(inputFor(model, settings), { destroyData: true });

    // Each delete's operation answered 202 (still running) until its 60 ms had passed, and the engine waited for every one.
    const results = since(sim, mark).filter((r) => r.method === 'GET' && /\/operationResults\//i.test(r.path));
    const deletes = since(sim, mark).filter((r) => r.method === 'DELETE' && r.status === 202);
    expect(deletes.length).toBeGreaterThan(5);
    const done = results.filter((r) => r.status === 204 || r.status === 200);
    expect(results.filter((r) => r.status === 202).length).toBeGreaterThanOrEqual(deletes.length);
    expect(done.length).toBeGreaterThanOrEqual(deletes.length);
    expect(Math.min(...done.map((r) => r.at)) - (deletes[0]?.at ?? 0)).toBeGreaterThanOrEqual(55);
    expect([...sim.state.resources.keys()].filter((k) => k.includes('/resourcegroups/rg-slow/'))).toEqual([]);
  });

  it('fails if another deployment of the environment is active, saying "already deploying"', async () => {
    const model = example('Churn');
    const settings = settingsFor(model, 'rg-concurrent');
    const engine = engineFor(sim);
    // GIVEN a first deploy that ARM keeps running
    sim.faults.holdDeployments = true;
    const first = engine.deploy(inputFor(model, settings));
    const key = `${settings.resourceGroup}/${deploymentNameOf(example('Churn').environment)}`.toLowerCase();
    while (sim.state.deployments.get(key)?.state !== 'Running') await new Promise((r) => setTimeout(r, 5));
    const mark = sim.requestLog.length;

    // WHEN a second deploy of the same environment starts
    const second = await engine.deploy(inputFor(model, settings)).catch((e: unknown) => e);

    // THEN ARM's refusal (409 DeploymentActive) is surfaced as "already deploying"
    expect(String(second)).toMatch(/^DeployError: \[Churn\] already deploying: ARM deployment 'mlplane-churn-staging'/);
    expect(since(sim, mark).filter((r) => r.method === 'PUT').map((r) => r.status)).toEqual([409]);
    // AND the first one completes once ARM does
    sim.faults.holdDeployments = false;
    await expect(first).resolves.toMatchObject({ environment: 'Churn' });
  });

  it('fails if the plan changed while it waited for the other deployment (lockTimeoutMs)', async () => {
    const model = example('Churn');
    const settings = settingsFor(model, 'rg-lockwait');
    const engine = engineFor(sim);
    sim.faults.holdDeployments = true;
    const first = engine.deploy(inputFor(model, settings));
    const key = `${settings.resourceGroup}/${deploymentNameOf(example('Churn').environment)}`.toLowerCase();
    while (sim.state.deployments.get(key)?.state !== 'Running') await new Promise((r) => setTimeout(r, 5));

    // WHEN a second deploy may wait for the lock, and the first finishes meanwhile
    const secondInput = { ...inputFor(model, settings), lockTimeoutMs: 30_000 };
    const second = engine.deploy(secondInput).catch((e: unknown) => e);
    while (!secondInput.progress.logs.some((l) => l.includes('waiting for it'))) await new Promise((r) => setTimeout(r, 5));
    sim.faults.holdDeployments = false;
    await first;

    // THEN it does not apply the plan it computed before the first deploy landed
    const res = await second;
    expect(String(res)).toMatch(/\[Churn\] the environment changed while mlplane waited for deployment 'mlplane-churn-staging'/);
  });

  it('fails if a read is forbidden (403), without retrying, naming the resource', async () => {
    const model = example('Fraud');
    const settings = settingsFor(model, 'rg-403');
    sim.faults.add({ verb: 'GET', path: /\/onlineEndpoints\/[^/]+$/, fault: { kind: 'error', status: 403, code: 'AuthorizationFailed', message: "The client does not have authorization to perform action 'Microsoft.MachineLearningServices/workspaces/onlineEndpoints/read'." } });
    const mark = sim.requestLog.length;

    const err = await engineFor(sim).deploy(inputFor(model, settings)).catch((e: unknown) => e);

    expect(String(err)).toMatch(/^DeployError: \[Fraud\/Scoring\] 403 AuthorizationFailed: The client does not have authorization/);
    expect(since(sim, mark).filter((r) => /\/onlineEndpoints\/[^/]+$/.test(r.path) && r.method === 'GET').map((r) => r.status)).toEqual([403]);
    expect(sim.faults.pending()).toBe(0);
  });

  it('follows a deployment with a slow resource to its end, and verifies only after it', async () => {
    const model = example('Churn');
    const settings = settingsFor(model, 'rg-slowrule');
    sim.faults.slowResource(/\/computes\/cpu$/i, 400);
    const mark = sim.requestLog.length;
    const started = Date.now();

    await engineFor(sim).deploy(inputFor(model, settings));

    expect(Date.now() - started).toBeGreaterThanOrEqual(400);
    const log = since(sim, mark);
    const polls = log.filter((r) => r.method === 'GET' && /\/deployments\/mlplane-churn-staging\/operationStatuses\//i.test(r.path));
    expect(polls.length).toBeGreaterThanOrEqual(2);
    expect(sim.state.deployments.get(`${settings.resourceGroup}/${deploymentNameOf(example('Churn').environment)}`.toLowerCase())?.state).toBe('Succeeded');
    // The compute was read (verified) through Azure ML only after the deployment had ended.
    const lastPoll = log.lastIndexOf(polls[polls.length - 1] as (typeof log)[number]);
    const computeRead = log.findIndex((r) => r.method === 'GET' && /\/computes\/cpu$/i.test(r.path));
    expect(computeRead).toBeGreaterThan(lastPoll);
  });
});
