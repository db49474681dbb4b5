import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { evaluateDeep, parseExpression, TemplateError, uniqueString, type EvalContext, type Json } from '../../../adapters/azure/simulator/expressions';
import { orderResources, templateContext, type RawTemplate, type TemplateScope } from '../../../adapters/azure/simulator/template';
import { startAzureSimulator, type AzureSimulator } from '../../../adapters/azure/simulator';
import { createClients } from '../../../adapters/azure/deploy/transport';
import { conformancePath } from '../../support/conformance';
import { SUBSCRIPTION } from './support';

const scope: TemplateScope = {
  subscriptionId: SUBSCRIPTION,
  tenantId: 'tenant-1',
  resourceGroup: 'rg1',
  location: 'westeurope',
  deploymentName: 'd1',
  reference: (id) => ({ principalId: `pid-of-${id.split('/').pop() ?? ''}` }),
  list: () => ({ value: 'https://callback' }),
};

function ctxOf(template: RawTemplate, parameters: Record<string, unknown> = {}): EvalContext {
  return templateContext(template, parameters, scope);
}

describe('ARM template language in the simulator', () => {
  const template: RawTemplate = {
    parameters: { version: { type: 'string' }, replicas: { type: 'int', defaultValue: 2 } },
    variables: { ws: "[concat('ws-', parameters('version'))]" },
  };
  const ctx = ctxOf(template, { version: '7' });
  const ev = (s: string): Json => evaluateDeep(s, ctx);

  it.each([
    ["[resourceId('Microsoft.MachineLearningServices/workspaces/computes', 'ws', 'cpu')]", `/subscriptions/${SUBSCRIPTION}/resourceGroups/rg1/providers/Microsoft.MachineLearningServices/workspaces/ws/computes/cpu`],
    ["[subscriptionResourceId('Microsoft.Authorization/roleDefinitions', 'abc')]", `/subscriptions/${SUBSCRIPTION}/providers/Microsoft.Authorization/roleDefinitions/abc`],
    ["[extensionResourceId(resourceId('Microsoft.Storage/storageAccounts', 'st'), 'Microsoft.Authorization/roleAssignments', 'g')]", `/subscriptions/${SUBSCRIPTION}/resourceGroups/rg1/providers/Microsoft.Storage/storageAccounts/st/providers/Microsoft.Authorization/roleAssignments/g`],
    ["[variables('ws')]", 'ws-7'],
    ["[parameters('replicas')]", 2],
    ["[format('{0}-{1}', 'a', parameters('version'))]", 'a-7'],
    ["[json('0.15')]", 0.15],
    ["[subscription().tenantId]", 'tenant-1'],
    ['[resourceGroup().location]', 'westeurope'],
    ["[reference(resourceId('Microsoft.ManagedIdentity/userAssignedIdentities', 'id-x'), '2023-01-31').principalId]", 'pid-of-id-x'],
    ["[listCallbackUrl(resourceId('Microsoft.Logic/workflows/triggers', 'wf', 't'), '2019-05-01').value]", 'https://callback'],
    ["[if(equals(parameters('version'), '7'), 'seven', 'other')]", 'seven'],
    ["[concat('it''s ', 'quoted')]", "it's quoted"],
    ['[[not an expression]', '[not an expression]'],
  ])('evaluates %s', (expression, expected) => {
    expect(ev(expression)).toEqual(expected);
  });

  it('evaluates expressions in object keys', () => {
    expect(evaluateDeep({ "[resourceId('Microsoft.ManagedIdentity/userAssignedIdentities', 'id')]": {} }, ctx)).toEqual({ [`/subscriptions/${SUBSCRIPTION}/resourceGroups/rg1/providers/Microsoft.ManagedIdentity/userAssignedIdentities/id`]: {} });
  });

  it('gives uniqueString 13 stable lower-case characters', () => {
    expect(uniqueString('a', 'b')).toMatch(/^[a-z2-7]{13}$/);
    expect(uniqueString('a', 'b')).toBe(uniqueString('a', 'b'));
    expect(uniqueString('a', 'b')).not.toBe(uniqueString('a', 'c'));
  });

  it('fails if a required parameter has no value', () => {
    expect(() => ctxOf(template)).toThrow(/The value for the template parameter 'version' is not provided/);
  });

  it('fails if a parameter is not declared by the template', () => {
    expect(() => ctxOf(template, { version: '1', extra: 1 })).toThrow(/'extra' in the parameters file are not valid/);
  });

  it('fails if an expression is malformed', () => {
    expect(() => parseExpression("concat('a'")).toThrow(TemplateError);
  });

  it('orders resources by dependsOn, keeping template order otherwise', () => {
    const t: RawTemplate = {
      resources: [
        { type: 'Microsoft.MachineLearningServices/workspaces/computes', apiVersion: 'v', name: 'ws/cpu', dependsOn: ["[resourceId('Microsoft.MachineLearningServices/workspaces', 'ws')]"] },
        { type: 'Microsoft.Storage/storageAccounts', apiVersion: 'v', name: 'st' },
        { type: 'Microsoft.MachineLearningServices/workspaces', apiVersion: 'v', name: 'ws', dependsOn: ["[resourceId('Microsoft.Storage/storageAccounts', 'st')]"] },
      ],
    };
    expect(orderResources(t, ctxOf(t), scope).map((u) => u.name)).toEqual(['st', 'ws', 'cpu']);
  });

  it.each([
    ['an unknown dependsOn target', { resources: [{ type: 'Microsoft.Storage/storageAccounts', apiVersion: 'v', name: 'st', dependsOn: ["[resourceId('Microsoft.Storage/storageAccounts', 'nope')]"] }] }, /'.*nope' is not defined in the template/],
    ['a dependency cycle', { resources: [{ type: 'A.B/c', apiVersion: 'v', name: 'x', dependsOn: ["[resourceId('A.B/c', 'y')]"] }, { type: 'A.B/c', apiVersion: 'v', name: 'y', dependsOn: ["[resourceId('A.B/c', 'x')]"] }] }, /Circular dependency/],
    ['a copy loop', { resources: [{ type: 'A.B/c', apiVersion: 'v', name: 'x', copy: { name: 'n', count: 2 } }] }, /uses 'copy'/],
    ['a resource declared twice', { resources: [{ type: 'A.B/c', apiVersion: 'v', name: 'x' }, { type: 'A.B/c', apiVersion: 'v', name: 'x' }] }, /defined multiple times/],
  ])('fails if the template has %s', (_name, t, message) => {
    expect(() => orderResources(t as RawTemplate, ctxOf(t as RawTemplate), scope)).toThrow(message);
  });
});

describe('the ARM simulator over HTTP', () => {
  let sim: AzureSimulator;
  beforeAll(async () => {
    sim = await startAzureSimulator({ conformanceDir: conformancePath('azure'), pageSize: 2 });
  });
  afterAll(() => sim.close());

  it('fails if a request has no bearer token (401), and never records headers', async () => {
    const res = await fetch(`${sim.url}/subscriptions/${SUBSCRIPTION}/resourceGroups/rg/resources?api-version=2025-04-01`);
    expect(res.status).toBe(401);
    expect(JSON.stringify(sim.requestLog)).not.toMatch(/authorization|Bearer/i);
  });

  it('lists a resource group by tag through @azure/arm-resources, following nextLink pages', async () => {
    const rg = `/subscriptions/${SUBSCRIPTION}/resourceGroups/rg-list/providers`;
    for (const n of ['a', 'b', 'c', 'd', 'e']) sim.state.seed({ id: `${rg}/Microsoft.Storage/storageAccounts/st${n}`, location: 'westeurope', tags: { 'mlplane-env': n === 'e' ? 'Other' : 'Fraud' } });
    const { resources } = createClients({ subscriptionId: SUBSCRIPTION, endpoint: sim.url });
    const found: string[] = [];
    for await (const r of resources.resources.listByResourceGroup('rg-list', { filter: "tagName eq 'mlplane-env' and tagValue eq 'Fraud'" })) found.push(r.name ?? '');
    expect(found).toEqual(['sta', 'stb', 'stc', 'std']);
    expect(sim.requestLog.filter((r) => r.path.endsWith('/rg-list/resources')).length).toBe(2);
  });

  it('answers a PUT of a tracked Azure ML resource with Azure-AsyncOperation and a DELETE with Location', async () => {
    const base = `${sim.url}/subscriptions/${SUBSCRIPTION}/resourceGroups/rg-lro/providers/Microsoft.MachineLearningServices/workspaces/ws1`;
    const headers = { authorization: 'Bearer t', 'content-type': 'application/json' };
    const put = await fetch(`${base}?api-version=2022-10-01`, { method: 'PUT', headers, body: JSON.stringify({ location: 'westeurope', properties: { friendlyName: 'x' } }) });
    expect(put.status).toBe(201);
    expect(put.headers.get('azure-asyncoperation')).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/subscriptions\/.*\/mfeOperationsStatus\/[0-9a-f-]+\?api-version=2022-10-01$/);
    // (A DELETE while the PUT runs would be a 409 Conflict: wait for the PUT's operation first.)
    for (let s = ''; s !== 'Succeeded'; await new Promise((r) => setTimeout(r, 2))) {
      s = ((await (await fetch(put.headers.get('azure-asyncoperation') as string, { headers })).json()) as { status: string }).status;
    }
    const del = await fetch(`${base}?api-version=2022-10-01`, { method: 'DELETE', headers });
    expect(del.status).toBe(202);
    expect(del.headers.get('location')).toMatch(/\/operationResults\/[0-9a-f-]+\?api-version=2022-10-01$/);
  });

  it('adds a fixed latency to every response', async () => {
    sim.faults.latencyMs = 60;
    try {
      const t0 = Date.now();
      await fetch(`${sim.url}/subscriptions/${SUBSCRIPTION}/providers/Microsoft.Storage?api-version=2021-04-01`, { headers: { authorization: 'Bearer t' } });
      expect(Date.now() - t0).toBeGreaterThanOrEqual(55);
    } finally {
      sim.faults.reset();
    }
  });
});
