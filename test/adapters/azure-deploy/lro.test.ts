/**
 * Template deployments progress in (simulated) time, as ARM runs them, whatever the client does:
 * the windows that opens (a second deployment of the same name, reads and what-if mid-way), the
 * deployment operations the REST API reports, and the engine following them (per Retry-After,
 * per resource).
 *
 * Sources: Deployments - Create Or Update / Delete and Deployment Operations - List, REST API
 * 2025-04-01 (azure-rest-api-specs `specification/resources/resource-manager/Microsoft.Resources/
 * deployments/stable/2025-04-01/deployments.json`); ARM's `DeploymentActive` answer ("Unable to edit
 * or replace deployment '…': previous deployment from '…' is still active (expiration time is '…')").
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { ResourceManagementClient } from '@azure/arm-resources';
import { createPipelineRequest, isRestError } from '@azure/core-rest-pipeline';
import { deploymentNameOf } from '../../../adapters/azure/deploy';
import { deploymentId, DEPLOYMENTS_API, getDeployment, sendArm, type DeploymentBody } from '../../../adapters/azure/deploy/arm';
import { templateIndex } from '../../../adapters/azure/deploy/template';
import { ARM_ENDPOINT, createClients } from '../../../adapters/azure/deploy/transport';
import { startAzureSimulator, type AzureSimulator } from '../../../adapters/azure/simulator';
import { lineProgress, liveProgress } from '../../../bin/progress';
import { conformancePath } from '../../support/conformance';
import { engineFor, example, inputFor, settingsFor, simulator, since, SUBSCRIPTION } from './support';

/** Start a deployment with the SDK's own long-running-operation poller (one PUT; the poller follows its `Azure-AsyncOperation`). */
function beginDeployment(client: ResourceManagementClient, id: string, body: DeploymentBody, intervalMs: number) {
  return client.resources.beginCreateOrUpdateById(id, DEPLOYMENTS_API, { properties: body.properties, tags: body.tags }, { updateIntervalInMs: intervalMs });
}

let sim: AzureSimulator;

beforeAll(async () => {
  sim = await simulator();
});
afterEach(() => sim.faults.reset());
afterAll(() => sim.close());

/** Wait (reading the simulator's memory, never sending a request) until `done` holds. */
async function until(done: () => boolean, what: string, timeoutMs = 20_000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!done()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

/** The Churn (or another) environment as a bare deployment PUT through @azure/arm-resources. */
function rawDeployment(s: AzureSimulator, environment: string, resourceGroup: string) {
  const model = example(environment);
  const input = inputFor(model, settingsFor(model, resourceGroup));
  const params = (input.documents['parameters.json'] as { parameters?: Record<string, { value: unknown }> } | undefined)?.parameters ?? {};
  const body: DeploymentBody = { properties: { mode: 'Incremental', template: input.documents['template.json'], parameters: params }, tags: { 'mlplane-env': environment } };
  const name = deploymentNameOf(model.environment);
  const client: ResourceManagementClient = createClients({ subscriptionId: SUBSCRIPTION, endpoint: s.url }).resources;
  const index = templateIndex(input.documents['template.json'], environment, { subscriptionId: SUBSCRIPTION, resourceGroup });
  return { input, body, client, id: deploymentId(SUBSCRIPTION, resourceGroup, name), record: () => s.state.deployments.get(`${resourceGroup}/${name}`.toLowerCase()), index };
}

/** Operations of a deployment as the REST API lists them (through the SDK pipeline, every page). */
interface Op {
  readonly operationId: string;
  readonly properties: Record<string, unknown> & { targetResource?: { id: string; resourceType: string; resourceName: string; apiVersion: string } };
}
async function operationsOf(client: ResourceManagementClient, id: string): Promise<Op[]> {
  const out: Op[] = [];
  let next: string | undefined = `${id}/operations?api-version=${DEPLOYMENTS_API}`;
  while (next) {
    const page = (await sendArm(client, 'GET', next.replace(/^https:\/\/management\.azure\.com/, ''), undefined, 5)) as { value: never[]; nextLink?: string };
    out.push(...page.value);
    next = page.nextLink;
  }
  return out;
}

describe('ARM deployments run in time, not when polled', () => {
  it('refuses a second deployment of the same name while the first runs (409 DeploymentActive), and a delete of it, then takes it once the first has ended', async () => {
    const d = rawDeployment(sim, 'Churn', 'rg-lro-active');
    sim.faults.slowResource(/\/batchEndpoints\/[^/]+$/i, 400);
    await beginDeployment(d.client, d.id, d.body, 5);

    const second = await beginDeployment(d.client, d.id, d.body, 5).catch((e: unknown) => e);
    const del = await sendArm(d.client, 'DELETE', `${d.id}?api-version=${DEPLOYMENTS_API}`, undefined, 5).catch((e: unknown) => e);

    expect(isRestError(second) && [second.statusCode, second.code]).toEqual([409, 'DeploymentActive']);
    expect((second as Error).message).toMatch(/^Unable to edit or replace deployment 'mlplane-churn-staging': previous deployment from '[^']+' is still active \(expiration time is '[^']+'\)\. Please see https:\/\/aka\.ms\/arm-deploy for usage details\.$/);
    expect(isRestError(del) && [del.statusCode, del.code]).toEqual([409, 'DeploymentActive']);
    await until(() => d.record()?.state === 'Succeeded', 'the first deployment');
    const third = await beginDeployment(d.client, d.id, d.body, 5);
    await third.pollUntilDone();
    expect(d.record()?.state).toBe('Succeeded');
  });

  it('finishes a deployment nobody polls: read later, it has Succeeded and so has every resource', async () => {
    const d = rawDeployment(sim, 'Churn', 'rg-lro-unpolled');
    sim.faults.slowResource(/\/workspaces\/churn-staging$/i, 300);
    const mark = sim.requestLog.length;

    // WHEN the deployment is sent (one PUT on the SDK's pipeline, no poller) and nobody asks about it
    const put = createPipelineRequest({ url: `${ARM_ENDPOINT}${d.id}?api-version=${DEPLOYMENTS_API}`, method: 'PUT', body: JSON.stringify(d.body) });
    put.headers.set('content-type', 'application/json');
    const res = await d.client.sendRequest(put);
    expect([res.status, JSON.parse(res.bodyAsText ?? '{}').properties?.provisioningState]).toEqual([201, 'Accepted']);
    expect(d.record()?.state).toMatch(/^(Accepted|Running)$/);
    await until(() => d.record()?.state === 'Succeeded', 'the deployment to end');

    // THEN only the PUT was sent, and a later read finds everything deployed
    expect(since(sim, mark).map((r) => `${r.method} ${r.path.split('/').pop() ?? ''}`)).toEqual(['PUT mlplane-churn-staging']);
    expect((await getDeployment(d.client, d.id))?.provisioningState).toBe('Succeeded');
    const ids = [...d.index.entries.values()].filter((e) => !/^microsoft\.resources\//i.test(e.type)).map((e) => e.id);
    expect(ids.filter((id) => sim.state.get(id)?.provisioningState !== 'Succeeded')).toEqual([]);
  });

  it('shows the intermediate state to what-if and to reads while the deployment runs', async () => {
    const d = rawDeployment(sim, 'Churn', 'rg-lro-midway');
    const engine = engineFor(sim);
    sim.faults.slowResource(/\/batchEndpoints\/[^/]+$/i, 1500);
    await beginDeployment(d.client, d.id, d.body, 5);
    const batch = [...d.index.entries.values()].find((e) => /\/batchEndpoints$/i.test(e.type));
    const batchName = batch?.id.split('/').pop() ?? '';
    await until(() => sim.state.get(batch?.id ?? '')?.provisioningState === 'Creating', 'the batch endpoint to be created');

    // WHEN the environment is diffed mid-way
    const plan = await engine.diff(d.input);

    // THEN what is deployed already is unchanged, what waits for the batch endpoint is still to create,
    const tail = (id: string) => id.split('/').slice(-2).join('/');
    const byAction = (a: string) => plan.items.filter((i) => i.action === a).map((i) => tail(i.id));
    expect(byAction('noop')).toEqual(expect.arrayContaining(['workspaces/churn-staging', 'computes/cpu']));
    expect(byAction('create')).toEqual(expect.arrayContaining(['deployments/main']));
    expect(byAction('create')).not.toContain(`batchEndpoints/${batchName}`);
    // AND the live read says the batch endpoint is still being created, the deployment is still running
    expect(plan.health).toEqual([`[Churn/WeeklyScoring] batch endpoint '${batchName}' is Creating, expected Succeeded`]);
    expect((await getDeployment(d.client, d.id))?.provisioningState).toBe('Running');

    await until(() => d.record()?.state === 'Succeeded', 'the deployment to end');
    const after = await engine.diff(d.input);
    expect(after.items.filter((i) => i.action === 'create')).toEqual([]);
    expect(after.health).toBeUndefined();
  });

  it('deploys each resource after what it depends on, independent ones in parallel, and lists one operation per resource (paged)', async () => {
    const paged = await startAzureSimulator({ conformanceDir: conformancePath('azure'), pageSize: 7 });
    try {
      const d = rawDeployment(paged, 'Churn', 'rg-lro-ops');
      await (await beginDeployment(d.client, d.id, d.body, 5)).pollUntilDone();

      const ops = await operationsOf(d.client, d.id);

      const creates = ops.filter((o) => o.properties.provisioningOperation === 'Create');
      const resources = [...d.index.entries.values()];
      expect(creates.map((o) => o.properties.targetResource?.id.toLowerCase()).sort()).toEqual(resources.map((e) => e.id.toLowerCase()).sort());
      for (const o of creates) {
        expect(o.operationId).toMatch(/^[0-9A-F]{16}$/);
        expect(o.properties).toMatchObject({ provisioningState: 'Succeeded', statusCode: 'Created', duration: expect.stringMatching(/^PT[\d.]+S$/), timestamp: expect.any(String), serviceRequestId: expect.any(String) });
        expect(o.properties.targetResource).toEqual({ id: expect.any(String), resourceType: expect.any(String), resourceName: expect.any(String), apiVersion: expect.any(String) });
      }
      const span = new Map(creates.map((o) => {
        const end = Date.parse(String(o.properties.timestamp));
        return [o.properties.targetResource?.id.toLowerCase(), { start: end - Number(/^PT([\d.]+)S$/.exec(String(o.properties.duration))?.[1]) * 1000, end }] as const;
      }));
      const early: string[] = [];
      for (const e of resources) {
        for (const dep of e.dependsOn) {
          const a = span.get(e.id.toLowerCase());
          const b = span.get(dep.toLowerCase());
          if (a && b && a.start + 1 < b.end) early.push(`${e.id} started before ${dep} ended`);
        }
      }
      expect(early).toEqual([]);
      const spans = [...span.values()];
      expect(spans.some((a, i) => spans.some((b, j) => i !== j && a.start < b.end && b.start < a.end))).toBe(true);
      expect(paged.requestLog.filter((r) => r.path.endsWith('/operations')).length).toBe(Math.ceil(ops.length / 7));
      // One operation by its id (DeploymentOperations_GetAtScope), and $top.
      const one = ops[3] as Op;
      expect(await sendArm(d.client, 'GET', `${d.id}/operations/${one.operationId}?api-version=${DEPLOYMENTS_API}`, undefined, 5)).toEqual(one);
      const top = (await sendArm(d.client, 'GET', `${d.id}/operations?api-version=${DEPLOYMENTS_API}&$top=2`, undefined, 5)) as { value: Op[]; nextLink?: string };
      expect([top.value.map((o) => o.operationId), top.nextLink]).toEqual([ops.slice(0, 2).map((o) => o.operationId), undefined]);
      const missing = await sendArm(d.client, 'GET', `${d.id}/operations/0000000000000000?api-version=${DEPLOYMENTS_API}`, undefined, 5).catch((e: unknown) => e);
      expect(isRestError(missing) && [missing.statusCode, missing.code]).toEqual([404, 'DeploymentOperationNotFound']);
    } finally {
      await paged.close();
    }
  });

  it('fails a deployment whose resource the provider refuses, never deploys what depends on it but deploys the rest, and lists the failed operation with its error', async () => {
    const d = rawDeployment(sim, 'Churn', 'rg-lro-failed');
    const component = /\/components\/weekly_scoring_invoke\/versions\/[^/]+$/i;
    sim.faults.failResource(component, { code: 'UserError', message: 'The component image could not be resolved (injected).' });
    const input = { ...inputFor(example('Churn'), settingsFor(example('Churn'), 'rg-lro-failed')) };

    const err = await engineFor(sim).deploy(input).catch((e: unknown) => e);

    expect(String(err)).toMatch(/^DeployError: \[Churn\/[^\]]+\] ARM deployment failed: pipeline step component '[^']+' \([^)]+\): UserError: The component image could not be resolved \(injected\)\.$/);
    const failed = (await operationsOf(d.client, d.id)).filter((o) => o.properties.provisioningState === 'Failed');
    expect(failed.map((o) => [o.properties.statusCode, (o.properties.statusMessage as { error?: { code?: string } }).error?.code, component.test(o.properties.targetResource?.id ?? '')])).toEqual([['BadRequest', 'UserError', true]]);
    // What depends on the refused component (transitively) was never sent to its provider; everything else was deployed.
    const entries = [...d.index.entries.values()].filter((e) => !/^microsoft\.resources\//i.test(e.type));
    const blocked = new Set(entries.filter((e) => component.test(e.id)).map((e) => e.id.toLowerCase()));
    for (let grew = true; grew; ) {
      grew = false;
      for (const e of entries) {
        if (!blocked.has(e.id.toLowerCase()) && e.dependsOn.some((x) => blocked.has(x.toLowerCase()))) {
          blocked.add(e.id.toLowerCase());
          grew = true;
        }
      }
    }
    expect(blocked.size).toBeGreaterThan(1);
    expect(entries.filter((e) => blocked.has(e.id.toLowerCase()) && sim.state.get(e.id) !== undefined).map((e) => e.id)).toEqual([]);
    expect(entries.filter((e) => !blocked.has(e.id.toLowerCase()) && sim.state.get(e.id)?.provisioningState !== 'Succeeded').map((e) => e.id)).toEqual([]);
    const event = input.progress.events.find((e) => e.state === 'failed' && component.test(e.id));
    expect(event).toMatchObject({ resource: expect.stringMatching(/^azure ml pipeline step component weekly_scoring_invoke\//), message: 'UserError: The component image could not be resolved (injected).' });
  });
});

describe('the azure engine follows a running deployment', () => {
  it('polls it at the pace of its Retry-After, not at its own poll interval', async () => {
    const model = example('Churn');
    const input = inputFor(model, settingsFor(model, 'rg-lro-retryafter'));
    sim.faults.lroRetryAfterSeconds = 1;
    sim.faults.slowResource(/\/workspaces\/churn-staging$/i, 1500);
    const mark = sim.requestLog.length;

    // WHEN the engine, set to poll every 2 ms, deploys and ARM says "Retry-After: 1"
    await engineFor(sim).deploy(input);

    // THEN it polls the Azure-AsyncOperation about once a second from the PUT on, and reads the deployment once it has ended
    const log = since(sim, mark);
    const put = log.find((r) => r.method === 'PUT' && /\/deployments\/mlplane-churn-staging$/.test(r.path));
    const polls = log.filter((r) => r.method === 'GET' && /\/deployments\/mlplane-churn-staging\/operationStatuses\//.test(r.path));
    const reads = log.filter((r) => r.method === 'GET' && /\/deployments\/mlplane-churn-staging$/.test(r.path));
    expect(polls.length).toBeGreaterThanOrEqual(2);
    expect(polls.length).toBeLessThanOrEqual(4);
    expect(reads.length).toBe(1);
    const times = [put, ...polls].map((r) => r?.at ?? 0);
    const gaps = times.slice(1).map((t, i) => t - (times[i] as number));
    expect(gaps.filter((g) => g < 990)).toEqual([]);
    // AND reads the deployment operations once per poll, not more
    const opsReads = log.filter((r) => r.method === 'GET' && /\/deployments\/mlplane-churn-staging\/operations$/.test(r.path));
    expect(opsReads.length).toBeGreaterThanOrEqual(1);
    expect(opsReads.length).toBeLessThanOrEqual(polls.length + 2);
  });

  it('reports each resource as ARM deploys it, named as Azure names it, and the progress lines show the name', async () => {
    const model = example('Fraud');
    const input = inputFor(model, settingsFor(model, 'rg-lro-progress'));
    sim.faults.slowResource(/\/onlineEndpoints\/[^/]+\/deployments\/green$/i, 300);

    await engineFor(sim).deploy(input);

    const index = templateIndex(input.documents['template.json'], 'Fraud', { subscriptionId: SUBSCRIPTION, resourceGroup: 'rg-lro-progress' });
    const nameOf = (type: RegExp) => [...index.entries.values()].find((e) => type.test(e.type))?.id.split('/').pop() ?? '?';
    const [ep, st] = [nameOf(/\/onlineEndpoints$/i), nameOf(/^Microsoft\.Storage\/storageAccounts$/i)];
    const events = input.progress.events.filter((e) => e.state !== 'retrying');
    const of = (pattern: RegExp) => events.filter((e) => pattern.test(e.id));
    const endpoint = new RegExp(`/onlineEndpoints/${ep}$`);
    const green = new RegExp(`/onlineEndpoints/${ep}/deployments/green$`);
    const storage = new RegExp(`/storageAccounts/${st}$`);
    expect(of(endpoint).map((e) => [e.state, e.resource])).toEqual(expect.arrayContaining([['done', `azure ml online endpoint ${ep}`]]));
    // (Fraud has a feature store: its first deploy is two ARM deployments, and the second deploys green again.)
    expect(of(green).map((e) => [e.state, e.resource]).slice(0, 3)).toEqual([
      ['pending', `azure ml endpoint deployment ${ep}/green`],
      ['running', `azure ml endpoint deployment ${ep}/green`],
      ['done', `azure ml endpoint deployment ${ep}/green`],
    ]);
    expect(of(storage).map((e) => e.resource)).toContain(`azure storage account ${st}`);
    // Each resource moves on its own: the storage account was done long before green, which took its 300 ms.
    const doneAt = (pattern: RegExp) => events.findIndex((e) => e.state === 'done' && pattern.test(e.id));
    expect(doneAt(storage)).toBeLessThan(events.findIndex((e) => e.state === 'running' && green.test(e.id)));
    expect(of(green).find((e) => e.state === 'done')?.elapsedMs).toBeGreaterThanOrEqual(290);
    // Every resource the plan creates ends done and named; a line is written only when its state changes.
    const created = new Set(events.filter((e) => e.action === 'create').map((e) => e.id));
    expect(created.size).toBeGreaterThan(40);
    for (const id of created) {
      const states = events.filter((e) => e.id === id).map((e) => e.state);
      expect(states[0]).toBe('pending');
      expect(states[states.length - 1]).toBe('done');
      expect(states.filter((x, i) => x === states[i - 1])).toEqual([]);
      expect(events.find((e) => e.id === id)?.resource).toMatch(/^azure (ml )?[a-z][a-z ()]* \S+$/);
    }

    const out: string[] = [];
    const sink = lineProgress({ write: (s: string) => out.push(s) } as unknown as NodeJS.WritableStream, () => 0);
    for (const e of events) sink.event(e);
    expect(out.join('')).toMatch(new RegExp(`✔ create +azure ml online endpoint ${ep} \\[Fraud/Scoring\\] done`));
    // The live view (a terminal) names it too.
    const screen: string[] = [];
    const live = liveProgress({ write: (s: string) => screen.push(s), columns: 200, rows: 500 } as unknown as NodeJS.WriteStream, () => 0);
    for (const e of events) live.event(e);
    live.stop();
    expect(screen.join('')).toMatch(new RegExp(`✔ create +azure ml online endpoint ${ep} \\[Fraud/Scoring\\] +done`));
  });
});
